package io.sluice.proxy;

import io.sluice.proxy.metrics.ProxyMetrics;
import io.sluice.proxy.session.ClientSession;
import io.sluice.proxy.session.Pin;
import io.sluice.testkit.ExternalClient;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayInputStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Server-side prepared statements in transaction mode: statement ids are Sluice's, a statement is
 * prepared lazily on whichever backend runs it, and nothing pins the session but an open cursor or
 * long data awaiting its execution. Real Connector/J clients against a real server.
 */
@ExtendWith(LeakCheckExtension.class)
@org.junit.jupiter.api.Timeout(value = 120, unit = TimeUnit.SECONDS)
class PreparedStatementsIT {
    static TestServer server;
    static int LONG_DATA_CLIENTS = Integer.getInteger("ldc", 8);

    @BeforeAll
    static void setUp() throws Exception {
        server = TestServer.shared();
        server.createUser("ps", "ps-pw");
        server.createDatabase("ps0");
        server.createDatabase("ps1");
        try (Connection c = server.rootConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS ps0.items (id INT PRIMARY KEY, name VARCHAR(20))");
            s.execute("CREATE TABLE IF NOT EXISTS ps1.items (id INT PRIMARY KEY, name VARCHAR(20))");
            s.execute("CREATE TABLE IF NOT EXISTS ps0.blobs (id INT PRIMARY KEY, data LONGBLOB)");
            s.execute("DELETE FROM ps0.items");
            s.execute("DELETE FROM ps1.items");
            for (int i = 0; i < 10; i++) {
                s.execute("INSERT INTO ps0.items VALUES (" + i + ", 'zero-" + i + "')");
            }
            s.execute("INSERT INTO ps1.items VALUES (1, 'one-1'), (2, 'one-2')");
        }
    }

    @org.junit.jupiter.api.AfterEach
    void noBackendLeftBehind(org.junit.jupiter.api.TestInfo info) {
        assertEquals(0, server.awaitConnectionCount("ps", 0, Duration.ofSeconds(10)),
                "connections of ps still on the server after " + info.getDisplayName());
    }

    static Sluice start(int pool, String more) {
        return Sluice.start(server, "sluice.users.ps.password = \"ps-pw\"\n"
                + "sluice.pool { mode = transaction, max-per-user = " + pool + ", acquire-timeout = 30s }\n" + more);
    }

    static double counter(Sluice sluice, String name, String reason) {
        var c = sluice.proxy.metrics().registry().find(name);
        if (reason != null) {
            c = c.tag("reason", reason);
        }
        return c.counter() == null ? 0 : c.counter().count();
    }

    static List<Pin> onlySessionPins(Sluice sluice) {
        List<ClientSession> all = new ArrayList<>(sluice.proxy.sessions().all());
        assertEquals(1, all.size(), "sessions open");
        return all.get(0).pins();
    }

    /**
     * 60 clients on 3 backends keep their prepared statements open (Connector/J's statement cache)
     * for 15 rounds, on the same and on their own SQL, binding ints and strings in turn to a
     * statement that other clients share on the server: every result is the client's own, the
     * server never sees more than 3 connections, and no idle session is pinned.
     */
    @Test
    void openStatementsDoNotPinAndFollowTheClientToAnyBackend() throws Exception {
        try (Sluice sluice = start(3, "")) {
            int peak = MultiplexingIT.peakWhile(server, "ps", () -> MultiplexingIT.runAll(60, n -> {
                Random random = new Random(n);
                try (Connection c = sluice.connect("ps", "ps-pw", "ps0", "useServerPrepStmts=true&cachePrepStmts=true")) {
                    PreparedStatement shared = c.prepareStatement("SELECT CONCAT('v:', ?), COUNT(*) FROM items WHERE id < ?");
                    PreparedStatement own = c.prepareStatement("SELECT name, " + n + " FROM items WHERE id = ?");
                    // Same SQL for all, but half the clients bind an int and half a string, every time: after
                    // the first execution Connector/J sends no types, and the server statement it lands on
                    // may last have been bound by a client of the other half.
                    PreparedStatement typed = c.prepareStatement("SELECT CONCAT('w:', ?)");
                    for (int round = 0; round < 15; round++) {
                        if (n % 2 == 0) {
                            typed.setLong(1, 7_000_000_000L + n);
                        } else {
                            typed.setString(1, "t" + n);
                        }
                        try (ResultSet r = typed.executeQuery()) {
                            assertTrue(r.next());
                            assertEquals(n % 2 == 0 ? "w:" + (7_000_000_000L + n) : "w:t" + n, r.getString(1), "client " + n);
                        }
                        if (round % 2 == 0) {
                            shared.setInt(1, n * 100 + round);
                        } else {
                            shared.setString(1, "s" + n + "-" + round);
                        }
                        shared.setInt(2, round % 10);
                        try (ResultSet r = shared.executeQuery()) {
                            assertTrue(r.next());
                            assertEquals(round % 2 == 0 ? "v:" + (n * 100 + round) : "v:s" + n + "-" + round, r.getString(1),
                                    "client " + n + " round " + round);
                            assertEquals(round % 10, r.getInt(2));
                        }
                        own.setInt(1, round % 10);
                        try (ResultSet r = own.executeQuery()) {
                            assertTrue(r.next());
                            assertEquals("zero-" + round % 10, r.getString(1));
                            assertEquals(n, r.getInt(2));
                        }
                        Thread.sleep(random.nextInt(5));
                    }
                    shared.close();
                    own.close();
                    typed.close();
                }
            }));
            assertTrue(peak <= 3, "server saw " + peak + " connections of ps, the pool holds 3");
            assertTrue(counter(sluice, ProxyMetrics.STATEMENT_PREPARES, "reprepare") > 0,
                    "60 clients on 3 backends must have had statements prepared again on other backends");
        }
    }

    @Test
    void idleSessionWithOpenStatementsHoldsNoBackend() throws Exception {
        try (Sluice sluice = start(2, "");
             Connection c = sluice.connect("ps", "ps-pw", "ps0", "useServerPrepStmts=true")) {
            PreparedStatement ps = c.prepareStatement("SELECT name FROM items WHERE id = ?");
            ps.setInt(1, 3);
            try (ResultSet r = ps.executeQuery()) {
                assertTrue(r.next());
                assertEquals("zero-3", r.getString(1));
            }
            assertEquals(List.of(), onlySessionPins(sluice));
            ClientSession session = sluice.proxy.sessions().all().iterator().next();
            assertEquals(null, session.backend(), "an idle session with an open statement holds no backend");
            ps.close();
        }
    }

    /** What a prepared statement's SQL does to the session pins it as the same SQL as a query would. */
    @Test
    void preparedStatementsThatCreateUnmovableStatePin() throws Exception {
        try (Sluice sluice = start(2, "");
             Connection c = sluice.connect("ps", "ps-pw", "ps0", "useServerPrepStmts=true")) {
            try (PreparedStatement ps = c.prepareStatement("CREATE TEMPORARY TABLE tmp_ps (x INT)")) {
                ps.execute();
            }
            assertEquals(List.of(Pin.TEMPORARY_TABLES), onlySessionPins(sluice));
            try (PreparedStatement ps = c.prepareStatement("SELECT GET_LOCK(?, 1)")) {
                ps.setString(1, "ps-lock");
                ps.executeQuery().close();
            }
            assertEquals(List.of(Pin.TEMPORARY_TABLES, Pin.NAMED_LOCKS), onlySessionPins(sluice));
            try (PreparedStatement ps = c.prepareStatement("DROP TEMPORARY TABLE tmp_ps")) {
                ps.execute();
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT RELEASE_LOCK(?)")) {
                ps.setString(1, "ps-lock");
                ps.executeQuery().close();
            }
            assertEquals(List.of(), onlySessionPins(sluice));
        }
    }

    /**
     * A cursor pins its session until the last row is fetched: with one backend, a second client
     * waits until the first has read its cursor to the end, then runs.
     */
    @Test
    void aCursorPinsUntilItsLastRowThenTheBackendIsFree() throws Exception {
        try (Sluice sluice = start(1, "");
             Connection a = sluice.connect("ps", "ps-pw", "ps0", "useServerPrepStmts=true&useCursorFetch=true&defaultFetchSize=2")) {
            assertEquals(List.of(), onlySessionPins(sluice));
            try (Connection b = sluice.connect("ps", "ps-pw", "ps0", "")) {
                PreparedStatement ps = a.prepareStatement("SELECT id FROM items ORDER BY id");
                ResultSet r = ps.executeQuery();
                for (int i = 0; i < 3; i++) {
                    assertTrue(r.next());
                    assertEquals(i, r.getInt(1));
                }
                ClientSession sessionA = sluice.proxy.sessions().all().stream().min(java.util.Comparator.comparingLong(ClientSession::id)).orElseThrow();
                assertEquals(List.of(Pin.CURSOR), sessionA.pins());
                CompletableFuture<String> other = CompletableFuture.supplyAsync(() -> {
                    try (Statement s = b.createStatement()) {
                        return MultiplexingIT.one(s, "SELECT name FROM items WHERE id = 7");
                    } catch (SQLException e) {
                        throw new RuntimeException(e);
                    }
                });
                Thread.sleep(300);
                assertFalse(other.isDone(), "the only backend holds client a's cursor");
                for (int i = 3; i < 10; i++) {
                    assertTrue(r.next());
                    assertEquals(i, r.getInt(1));
                }
                assertFalse(r.next());
                assertEquals("zero-7", other.get(10, TimeUnit.SECONDS));
                r.close();
                ps.close();
                assertEquals(List.of(), sessionA.pins());
            }
        }
    }

    /** Streams go with COM_STMT_SEND_LONG_DATA to the backend that then executes the statement. */
    @Test
    void longDataReachesTheBackendThatExecutes() throws Exception {
        try (Sluice sluice = start(2, "")) {
            MultiplexingIT.runAll(LONG_DATA_CLIENTS, n -> {
                try (Connection c = sluice.connect("ps", "ps-pw", "ps0", "useServerPrepStmts=true")) {
                    for (int round = 0; round < 5; round++) {
                        byte[] data = new byte[1000 + n * 100 + round];
                        new Random(n * 31L + round).nextBytes(data);
                        try (PreparedStatement ins = c.prepareStatement("REPLACE INTO blobs VALUES (?, ?)")) {
                            ins.setInt(1, n);
                            ins.setBinaryStream(2, new ByteArrayInputStream(data), data.length);
                            ins.executeUpdate();
                        }
                        try (PreparedStatement sel = c.prepareStatement("SELECT data FROM blobs WHERE id = ?")) {
                            sel.setInt(1, n);
                            try (ResultSet r = sel.executeQuery()) {
                                assertTrue(r.next());
                                assertArrayEquals(data, r.getBytes(1), "client " + n + " round " + round);
                            }
                        }
                    }
                }
            });
        }
    }

    /**
     * A statement prepared in one schema keeps reading that schema's table after USE, also when it
     * has to be prepared again on a backend that never had it (here: the only backend was reset
     * when another client left while pinned); the same sequence on a direct connection agrees.
     */
    @Test
    void aStatementIsPreparedAgainInTheSchemaItWasPreparedIn() throws Exception {
        List<String> direct = schemaSequence(java.sql.DriverManager.getConnection(server.jdbcUrl("ps0") + "&useServerPrepStmts=true",
                "ps", "ps-pw"), null);
        try (Sluice sluice = start(1, "")) {
            List<String> viaSluice = schemaSequence(sluice.connect("ps", "ps-pw", "ps0", "useServerPrepStmts=true"), () -> {
                try (Connection other = sluice.connect("ps", "ps-pw", "ps0", ""); Statement s = other.createStatement()) {
                    s.execute("CREATE TEMPORARY TABLE t (x INT)"); // pins; leaving resets the backend
                }
            });
            assertEquals(direct, viaSluice);
            assertTrue(counter(sluice, ProxyMetrics.STATEMENT_PREPARES, "reprepare") >= 1);
        }
    }

    private static List<String> schemaSequence(Connection c, MultiplexingIT.ThrowingRunnable between) throws Exception {
        List<String> seen = new ArrayList<>();
        try (c; PreparedStatement ps = c.prepareStatement("SELECT COUNT(*), MIN(name) FROM items"); Statement s = c.createStatement()) {
            for (int i = 0; i < 2; i++) {
                try (ResultSet r = ps.executeQuery()) {
                    r.next();
                    seen.add(r.getInt(1) + " " + r.getString(2));
                }
                s.execute("USE ps1");
                seen.add(MultiplexingIT.one(s, "SELECT COUNT(*) FROM items"));
                if (between != null && i == 0) {
                    between.run();
                }
            }
        }
        return seen;
    }

    /** Each backend keeps at most sluice.pool.statement-cache statements on the server; the rest are closed. */
    @Test
    void theBackendStatementCacheIsBounded() throws Exception {
        try (Sluice sluice = start(1, "sluice.pool.statement-cache = 2\n");
             Connection c = sluice.connect("ps", "ps-pw", "ps0", "useServerPrepStmts=true")) {
            List<PreparedStatement> open = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                PreparedStatement ps = c.prepareStatement("SELECT name, " + i + " FROM items WHERE id = ?");
                open.add(ps);
            }
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < open.size(); i++) {
                    open.get(i).setInt(1, i);
                    try (ResultSet r = open.get(i).executeQuery()) {
                        assertTrue(r.next());
                        assertEquals("zero-" + i, r.getString(1));
                        assertEquals(i, r.getInt(2));
                    }
                }
            }
            try (Connection root = server.rootConnection(); Statement s = root.createStatement();
                 ResultSet r = s.executeQuery("SHOW GLOBAL STATUS LIKE 'Prepared_stmt_count'")) {
                r.next();
                assertTrue(r.getInt(2) <= 2, "statements prepared on the server: " + r.getInt(2));
            }
            assertTrue(counter(sluice, ProxyMetrics.STATEMENT_EVICTIONS, null) >= 4);
            for (PreparedStatement ps : open) {
                ps.close();
            }
        }
    }

    @Test
    void tooManyOpenStatementsAreRefusedWith1461() throws Exception {
        try (Sluice sluice = start(1, "sluice.pool.max-client-statements = 3\n");
             Connection c = sluice.connect("ps", "ps-pw", "ps0", "useServerPrepStmts=true&emulateUnsupportedPstmts=false")) {
            List<PreparedStatement> open = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                open.add(c.prepareStatement("SELECT " + i));
            }
            SQLException e = assertThrows(SQLException.class, () -> c.prepareStatement("SELECT 3"));
            assertEquals(1461, e.getErrorCode());
            assertTrue(e.getMessage().contains("sluice.pool.max-client-statements"), e.getMessage());
            open.get(0).close();
            try (PreparedStatement ps = c.prepareStatement("SELECT 4"); ResultSet r = ps.executeQuery()) {
                assertTrue(r.next());
                assertEquals(4, r.getInt(1));
            }
            for (PreparedStatement ps : open) {
                ps.close();
            }
        }
    }

    /**
     * MariaDB's "statement just prepared" id (0xFFFFFFFF, what the npm mariadb driver and
     * mariadb_stmt_execute_direct pipeline after COM_STMT_PREPARE): sent in one write with the
     * prepare, and later alone. Through Sluice, in both pool modes, the client reads exactly what the
     * server answers directly, a failed prepare and the command after it included.
     */
    @Test
    void lastPreparedStatementIdPipelinedWithThePrepare() throws Exception {
        List<String> direct = lastStatementTranscript(server.port());
        assertEquals(List.of("prepared 1 1", "row zero-4", "ERR 1146", "ERR 1243", "ERR 1243",
                "prepared 1 1", "row zero-2", "row zero-3", "row zero-7", "prepared 0 1", "ERR 1062", "done", "ERR 1243",
                "prepared 1 1", "row xhello"),
                direct.stream().map(l -> l.replaceAll("^(ERR \\d+).*", "$1")).toList(), String.join("\n", direct));
        for (String mode : List.of("transaction", "session")) {
            try (Sluice sluice = start(2, "sluice.pool.mode = " + mode + "\n")) {
                assertEquals(direct, lastStatementTranscript(sluice.port()), mode);
            }
        }
    }

    /**
     * The npm mariadb driver pipelines COM_STMT_PREPARE and COM_STMT_EXECUTE(0xFFFFFFFF) by default:
     * selects with parameters, an insert, an unknown table (1146 as from the server, and the
     * connection goes on), a loop, executes in parallel and batch(), in both pool modes and, for
     * reference, directly against the server.
     */
    @Test
    void npmMariadbExecuteWithPipelining() throws Exception {
        ExternalClient.requireNode("mariadb");
        String script = """
                const mariadb = require('mariadb');
                (async () => {
                  const out = [];
                  const conn = await mariadb.createConnection({host: process.env.SLUICE_HOST, user: process.env.SLUICE_USER,
                      port: Number(process.env.SLUICE_PORT), password: process.env.SLUICE_PASSWORD, database: 'ps0'});
                  let r = await conn.execute('SELECT name FROM items WHERE id = ?', [4]);
                  out.push(r[0].name);
                  r = await conn.execute('INSERT INTO items VALUES (?, ?)', [100, 'hundred']);
                  out.push('inserted=' + r.affectedRows);
                  try {
                    await conn.execute('SELECT name FROM no_such_table WHERE id = ?', [1]);
                    out.push('no error');
                  } catch (e) {
                    out.push('error=' + e.errno);
                  }
                  r = await conn.execute('SELECT name FROM items WHERE id = ?', [100]);
                  out.push(r[0].name);
                  let sum = 0;
                  for (let i = 0; i < 100; i++) {
                    r = await conn.execute('SELECT ? + ' + (i % 10) + ' AS v', [i]);
                    sum += Number(r[0].v);
                  }
                  out.push('sum=' + sum);
                  const all = await Promise.all([...Array(30).keys()].map(i =>
                      conn.execute('SELECT ? * 2 AS v, ? AS w FROM DUAL WHERE ' + (i % 3) + ' = ' + (i % 3), [i, 'x' + i])));
                  out.push('parallel=' + all.every((rows, i) => Number(rows[0].v) === 2 * i && rows[0].w === 'x' + i));
                  r = await conn.batch('INSERT INTO items VALUES (?, ?)', [[101, 'a'], [102, 'b'], [103, 'c']]);
                  // Directly, the server's bulk capability makes one COM_STMT_BULK_EXECUTE (one result);
                  // Sluice does not offer it, so the driver pipelines an execution per row (one result each).
                  out.push('batch=' + (Array.isArray(r) ? r.reduce((n, x) => n + x.affectedRows, 0) : r.affectedRows));
                  r = await conn.execute('SELECT COUNT(*) AS n FROM items WHERE id >= ?', [100]);
                  out.push('rows=' + r[0].n);
                  await conn.execute('DELETE FROM items WHERE id >= ?', [100]);
                  await conn.end();
                  console.log(out.join(' '));
                })().catch(e => { console.error(e); process.exit(1); });
                """;
        String expected = "zero-4 inserted=1 error=1146 hundred sum=5400 parallel=true batch=3 rows=4";
        assertEquals(expected, ExternalClient.node(script, ExternalClient.env(server.port(), "ps", "ps-pw")).ok().out(), "direct");
        for (String mode : List.of("transaction", "session")) {
            try (Sluice sluice = start(2, "sluice.pool.mode = " + mode + "\n")) {
                assertEquals(expected, ExternalClient.node(script, ExternalClient.env(sluice.port(), "ps", "ps-pw")).ok().out(), mode);
            }
        }
    }

    /**
     * Parameter types sent only with the execution pipelined behind the prepare (id 0xFFFFFFFF)
     * follow the statement: a later execution without types (flag 0), on a backend that has to
     * prepare it again, still binds them.
     */
    @Test
    void typesSentAheadFollowTheStatementToAnotherBackend() throws Exception {
        try (Sluice sluice = start(2, ""); RawClient a = new RawClient(sluice.port()); RawClient b = new RawClient(sluice.port())) {
            assertTrue(RawClient.isOk(a.login("ps", "ps-pw", null)));
            assertTrue(RawClient.isOk(b.login("ps", "ps-pw", null)));
            a.sendRaw(concat(prepare("SELECT name FROM ps0.items WHERE id = ?"), execute(LAST_STATEMENT, 4)));
            byte[] ok = a.read();
            assertTrue(RawClient.isOk(ok));
            int id = (ok[1] & 0xff) | (ok[2] & 0xff) << 8 | (ok[3] & 0xff) << 16 | (ok[4] & 0xff) << 24;
            a.read(); // parameter definition
            a.read(); // column definition
            assertEquals("row zero-4", readExecute(a));
            // b takes the idle backend that has the statement and keeps it (a transaction).
            assertTrue(RawClient.isOk(b.execute("BEGIN")));
            b.query("SELECT name FROM ps0.items WHERE id = 1 FOR UPDATE");
            b.readResponse();
            a.sendRaw(frame(new byte[] {0x17, (byte) id, (byte) (id >> 8), (byte) (id >> 16), (byte) (id >> 24), 0, 1, 0, 0, 0,
                0, 0, 7, 0, 0, 0}));
            assertEquals("row zero-7", readExecute(a));
            assertTrue(RawClient.isOk(b.execute("COMMIT")));
            // The second execution ran on the other backend, which had to prepare the statement.
            assertEquals(1.0, counter(sluice, ProxyMetrics.STATEMENT_PREPARES, "reprepare"));
        }
    }

    private static final int LAST_STATEMENT = -1;

    /** What a client reads for a fixed script of COM_STMT_PREPARE and statement commands naming id 0xFFFFFFFF. */
    private static List<String> lastStatementTranscript(int port) throws Exception {
        List<String> out = new ArrayList<>();
        try (RawClient c = new RawClient(port)) {
            assertTrue(RawClient.isOk(c.login("ps", "ps-pw", null)));
            String select = "SELECT name FROM ps0.items WHERE id = ?";
            c.sendRaw(concat(prepare(select), execute(LAST_STATEMENT, 4)));
            out.add(readPrepare(c));
            out.add(readExecute(c));
            // A prepare the server refuses, and the execute pipelined after it.
            c.sendRaw(concat(prepare("SELECT name FROM ps0.no_such_table WHERE id = ?"), execute(LAST_STATEMENT, 4)));
            out.add(readPrepare(c));
            out.add(readExecute(c));
            c.sendRaw(execute(LAST_STATEMENT, 4)); // the last prepare failed: nothing to execute
            out.add(readExecute(c));
            c.sendRaw(concat(prepare(select), execute(LAST_STATEMENT, 2), execute(LAST_STATEMENT, 3)));
            out.add(readPrepare(c));
            out.add(readExecute(c));
            out.add(readExecute(c));
            c.sendRaw(execute(LAST_STATEMENT, 7)); // later, alone: still the last statement prepared
            out.add(readExecute(c));
            c.sendRaw(concat(prepare("INSERT INTO ps0.items VALUES (?, 'dup')"), execute(LAST_STATEMENT, 1),
                    frame(new byte[] {0x19, -1, -1, -1, -1}), // COM_STMT_CLOSE: no reply
                    frame("\u0003SELECT 'done'".getBytes(java.nio.charset.StandardCharsets.UTF_8))));
            out.add(readPrepare(c));
            out.add(readExecute(c));
            byte[] last = c.readResponse();
            out.add(RawClient.isErr(last) ? "ERR " + RawClient.errCode(last) : "done");
            c.sendRaw(execute(LAST_STATEMENT, 9)); // closed: the server forgot it
            out.add(readExecute(c));
            // Long data sent ahead, then the execution that uses it.
            byte[] hello = "hello".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            byte[] longData = new byte[7 + hello.length];
            longData[0] = 0x18;
            java.util.Arrays.fill(longData, 1, 5, (byte) -1);
            System.arraycopy(hello, 0, longData, 7, hello.length);
            c.sendRaw(concat(prepare("SELECT CONCAT('x', ?)"), frame(longData),
                    frame(new byte[] {0x17, -1, -1, -1, -1, 0, 1, 0, 0, 0, 0, 1, (byte) 0xfd, 0})));
            out.add(readPrepare(c));
            out.add(readExecute(c));
        }
        return out;
    }

    private static byte[] frame(byte[] payload) {
        byte[] f = new byte[4 + payload.length];
        f[0] = (byte) payload.length;
        f[1] = (byte) (payload.length >> 8);
        f[2] = (byte) (payload.length >> 16);
        System.arraycopy(payload, 0, f, 4, payload.length);
        return f;
    }

    private static byte[] prepare(String sql) {
        byte[] q = sql.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] p = new byte[1 + q.length];
        p[0] = 0x16;
        System.arraycopy(q, 0, p, 1, q.length);
        return frame(p);
    }

    /** COM_STMT_EXECUTE of {@code id} with one INT parameter, its type sent. */
    private static byte[] execute(int id, int param) {
        return frame(new byte[] {0x17, (byte) id, (byte) (id >> 8), (byte) (id >> 16), (byte) (id >> 24), 0, 1, 0, 0, 0,
            0, 1, 3, 0, (byte) param, (byte) (param >> 8), (byte) (param >> 16), (byte) (param >> 24)});
    }

    private static byte[] concat(byte[]... frames) {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        for (byte[] f : frames) {
            b.writeBytes(f);
        }
        return b.toByteArray();
    }

    /** "prepared <columns> <params>" (ids differ between Sluice and the server), or "ERR <code> <message>". */
    private static String readPrepare(RawClient c) throws Exception {
        byte[] p = c.read();
        if (RawClient.isErr(p)) {
            return "ERR " + RawClient.errCode(p) + " " + RawClient.errMessage(p);
        }
        int columns = (p[5] & 0xff) | (p[6] & 0xff) << 8;
        int params = (p[7] & 0xff) | (p[8] & 0xff) << 8;
        for (int i = 0; i < columns + params; i++) {
            c.read();
        }
        return "prepared " + columns + " " + params;
    }

    /** "row <value>" for a one-row, one-string-column binary result, "ok", or "ERR <code> <message>". */
    private static String readExecute(RawClient c) throws Exception {
        byte[] p = c.read();
        if (RawClient.isErr(p)) {
            return "ERR " + RawClient.errCode(p) + " " + RawClient.errMessage(p);
        }
        if (RawClient.isOk(p)) {
            return "ok";
        }
        c.read(); // the column definition
        StringBuilder rows = new StringBuilder();
        while (true) {
            byte[] r = c.read();
            if ((r[0] & 0xff) == 0xfe) {
                return rows.toString().strip();
            }
            rows.append(" row ").append(new String(r, 3, r[2], java.nio.charset.StandardCharsets.UTF_8));
        }
    }
}
