package io.sluice.proxy;

import io.sluice.proxy.metrics.ProxyMetrics;
import io.sluice.proxy.session.ClientSession;
import io.sluice.proxy.session.Pin;
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
}
