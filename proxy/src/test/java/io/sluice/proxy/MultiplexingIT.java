package io.sluice.proxy;

import io.sluice.testkit.Eventually;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Transaction pool mode: many client sessions on a few backend connections, each always seeing
 * exactly its own session state. Asserted with real clients and on the server's processlist.
 */
@ExtendWith(LeakCheckExtension.class)
class MultiplexingIT {
    static TestServer server;

    @BeforeAll
    static void setUp() throws Exception {
        server = TestServer.shared();
        server.createUser("mx", "mx-pw");
        for (int i = 0; i < 3; i++) {
            server.createDatabase("mx" + i);
        }
        try (Connection c = server.rootConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS mx0.accounts (id INT PRIMARY KEY, balance INT NOT NULL)");
            s.execute("CREATE TABLE IF NOT EXISTS mx0.ids (id BIGINT PRIMARY KEY AUTO_INCREMENT, who INT)");
            s.execute("CREATE TABLE IF NOT EXISTS mx0.rc (id INT PRIMARY KEY, v INT NOT NULL)");
            s.execute("DELETE FROM mx0.rc");
            s.execute("INSERT INTO mx0.rc VALUES (0,0),(1,0),(2,0),(3,0),(4,0),(5,0),(6,0),(7,0),(8,0),(9,0)");
            s.execute("DELETE FROM mx0.accounts");
            for (int i = 0; i < 10; i++) {
                s.execute("INSERT INTO mx0.accounts VALUES (" + i + ", 1000)");
            }
        }
    }

    /** Every test must leave no backend behind on the server once its Sluice is closed. */
    @org.junit.jupiter.api.AfterEach
    void noBackendLeftBehind(org.junit.jupiter.api.TestInfo info) {
        assertEquals(0, server.awaitConnectionCount("mx", 0, java.time.Duration.ofSeconds(10)),
                "connections of mx still on the server after " + info.getDisplayName());
    }

    static Sluice start(int pool) {
        return start(pool, "");
    }

    /** Transaction mode with {@code pool} backends, and {@code more} settings. */
    static Sluice start(int pool, String more) {
        return Sluice.start(server, "sluice.users.mx.password = \"mx-pw\"\n"
                + "sluice.pool { mode = transaction, max-per-user = " + pool + ", acquire-timeout = 30s }\n" + more);
    }

    /** A statement that runs for minutes unless killed (and then fails with 1317). */
    static final String LONG_QUERY = "SELECT COUNT(*) FROM information_schema.columns a, information_schema.columns b, "
            + "information_schema.columns c";

    static String one(Statement s, String sql) throws SQLException {
        try (ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getString(1);
        }
    }

    /** Samples the server's connections of user mx while running {@code body}; returns the peak. */
    static int peakWhile(ThrowingRunnable body) throws Exception {
        return peakWhile(server, "mx", body);
    }

    /** Samples the server's connections of {@code user} while running {@code body}; returns the peak. */
    static int peakWhile(TestServer server, String user, ThrowingRunnable body) throws Exception {
        // Backends of an earlier test's Sluice may still be on their way out.
        int leftover = server.awaitConnectionCount(user, 0, java.time.Duration.ofSeconds(10));
        assertEquals(0, leftover, "connections of " + user + " left over from an earlier test");
        AtomicBoolean on = new AtomicBoolean(true);
        AtomicInteger peak = new AtomicInteger();
        Thread sampler = new Thread(() -> {
            while (on.get()) {
                peak.accumulateAndGet(server.connectionCount(user), Math::max);
                try {
                    Thread.sleep(25);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        sampler.start();
        try {
            body.run();
        } finally {
            on.set(false);
            sampler.join();
        }
        return peak.get();
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    static void runAll(int threads, ThrowingIntConsumer task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> fs = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            int n = i;
            fs.add(pool.submit(() -> {
                task.accept(n);
                return null;
            }));
        }
        try {
            for (Future<?> f : fs) {
                f.get(240, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    interface ThrowingIntConsumer {
        void accept(int n) throws Exception;
    }

    @Test
    void twoHundredClientsOnSixBackendsEachSeeOnlyTheirOwnState() throws Exception {
        int clients = 200;
        int poolMax = 6;
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        try (Sluice sluice = start(poolMax)) {
            String isolationVar = server.isMariaDb() ? "@@tx_isolation" : "@@transaction_isolation";
            int peak = peakWhile(() -> runAll(clients, n -> {
                Random rnd = new Random(n);
                String db = "mx" + (n % 3);
                String charset = n % 2 == 0 ? "latin1" : "utf8mb4";
                String sqlMode = n % 2 == 0 ? "ANSI_QUOTES" : "PIPES_AS_CONCAT";
                String tz = String.format("+%02d:00", n % 12);
                String iso = n % 2 == 0 ? "READ-COMMITTED" : "SERIALIZABLE";
                String mine = "client-" + n;
                try (Connection c = sluice.connect("mx", "mx-pw"); Statement s = c.createStatement()) {
                    s.execute("USE " + db);
                    s.execute("SET NAMES " + charset);
                    s.execute("SET SESSION sql_mode = '" + sqlMode + "'");
                    s.execute("SET time_zone = '" + tz + "'");
                    s.execute("SET SESSION TRANSACTION ISOLATION LEVEL " + iso.replace('-', ' '));
                    s.execute("SET @mine = '" + mine + "'");
                    for (int round = 0; round < 3; round++) {
                        Thread.sleep(rnd.nextInt(15));
                        try (ResultSet r = s.executeQuery("SELECT DATABASE(), @@character_set_client, @@sql_mode, @@time_zone, "
                                + isolationVar + ", @mine")) {
                            r.next();
                            String seen = r.getString(1) + "|" + r.getString(2) + "|" + r.getString(3) + "|" + r.getString(4)
                                    + "|" + r.getString(5) + "|" + r.getString(6);
                            String want = db + "|" + charset + "|" + sqlMode + "|" + tz + "|" + iso + "|" + mine;
                            if (!seen.equals(want)) {
                                wrong.add("client " + n + " round " + round + ": saw " + seen + ", expected " + want);
                            }
                        }
                        // Pinned stretches: a temporary table, a named prepared statement, a transaction.
                        s.execute("CREATE TEMPORARY TABLE scratch (v VARCHAR(32))");
                        s.execute("INSERT INTO scratch VALUES ('" + mine + "')");
                        Thread.sleep(rnd.nextInt(5));
                        assertEquals(mine, one(s, "SELECT v FROM scratch"));
                        s.execute("DROP TEMPORARY TABLE scratch");
                        s.execute("PREPARE mine_stmt FROM 'SELECT ?'");
                        s.execute("SET @arg = " + n);
                        assertEquals(String.valueOf(n), one(s, "EXECUTE mine_stmt USING @arg"));
                        s.execute("DEALLOCATE PREPARE mine_stmt");
                        s.execute("SET autocommit = 0");
                        String before = one(s, "SELECT @@pseudo_thread_id");
                        Thread.sleep(rnd.nextInt(5));
                        assertEquals(before, one(s, "SELECT @@pseudo_thread_id"), "a transaction moved between backends");
                        s.execute("COMMIT");
                        s.execute("SET autocommit = 1");
                    }
                }
            }));
            assertTrue(wrong.isEmpty(), wrong.size() + " wrong views, first: " + wrong.peek());
            assertTrue(peak <= poolMax, "server saw " + peak + " connections of mx, pool max " + poolMax);
        }
    }

    /**
     * Issue #24: the isolation check of {@link #twoHundredClientsOnSixBackendsEachSeeOnlyTheirOwnState}
     * for a client that sets nothing, run right after a client that changed its character set or
     * collation (and other state) on the only backend: it sees exactly what the same login shows
     * directly on the server, and stores the bytes it sent. Clients log in with latin1 and with
     * utf8mb4, so one of them differs from the server's global character set, which restoring
     * with DEFAULT gave it. The mariadb CLI, since Connector/J sets the character set itself after
     * every login (which hides the leak from it) and its flags would give it other backends.
     */
    @Test
    void isolationHoldsAfterAClientWithAnotherCharacterSet() throws Exception {
        io.sluice.testkit.ExternalClient.requireProgram("mariadb", "apt-get install mariadb-client");
        String isolationVar = server.isMariaDb() ? "@@tx_isolation" : "@@transaction_isolation";
        String view = "SELECT CONCAT_WS('|', IFNULL(DATABASE(), '-'), @@character_set_client, @@character_set_connection, "
                + "IFNULL(@@character_set_results, 'NULL'), @@collation_connection, @@sql_mode, @@time_zone, " + isolationVar
                + ", IFNULL(@mine, '-'))";
        List<String> others = List.of("SET NAMES latin1", "SET NAMES utf8mb4", "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci",
                "SET collation_connection = latin1_german1_ci", "SET character_set_results = NULL",
                "SET NAMES cp1251 COLLATE cp1251_bin", "SET character_set_client = ascii");
        server.execute("CREATE TABLE IF NOT EXISTS mx0.texts (id INT PRIMARY KEY, v VARCHAR(20) CHARACTER SET utf8mb4)",
                "DELETE FROM mx0.texts");
        try (Sluice sluice = start(1)) {
            int id = 0;
            for (String charset : List.of("latin1", "utf8mb4")) {
                String expected = cli(server.port(), charset, view);
                for (String other : others) {
                    // (state that pins the session, such as SET TRANSACTION, would get the backend reset instead)
                    cli(sluice.port(), charset, other + "; SET SESSION sql_mode = 'ANSI_QUOTES', time_zone = '+05:00'; "
                            + "SET @mine = 'other'; SELECT 1");
                    assertEquals(expected, cli(sluice.port(), charset, view), "a " + charset + " client after one that ran " + other);
                    if (charset.equals("utf8mb4")) {
                        id++;
                        cli(sluice.port(), charset, other + "; SELECT 1");
                        cli(sluice.port(), charset, "INSERT INTO texts VALUES (" + id + ", 'h\u00e9\ud83d\udc2c')");
                        try (Connection root = server.rootConnection(); Statement rs = root.createStatement()) {
                            assertEquals("68C3A9F09F90AC", one(rs, "SELECT HEX(v) FROM mx0.texts WHERE id = " + id),
                                    "bytes stored by a utf8mb4 client after one that ran " + other);
                        }
                    }
                }
            }
        }
    }

    /** The mariadb CLI as mx on {@code port} with database mx0: the one-column answer to {@code sql}. */
    private static String cli(int port, String charset, String sql) {
        return io.sluice.testkit.ExternalClient.run(io.sluice.testkit.ExternalClient.env(port, "mx", "mx-pw"), "mariadb",
                "-h127.0.0.1", "-P" + port, "-umx", "-N", "-B", "--default-character-set=" + charset, "-Dmx0", "-e", sql)
                .ok().out();
    }

    @Test
    void moneyTransfersKeepTheTotalAndNeverSpanTwoBackends() throws Exception {
        try (Sluice sluice = start(4)) {
            AtomicInteger committed = new AtomicInteger();
            runAll(20, n -> {
                Random rnd = new Random(100 + n);
                try (Connection c = sluice.connect("mx", "mx-pw", "mx0", "")) {
                    c.setAutoCommit(false);
                    for (int i = 0; i < 25; i++) {
                        int a = rnd.nextInt(10);
                        int b = (a + 1 + rnd.nextInt(9)) % 10;
                        int amount = rnd.nextInt(50);
                        try (Statement s = c.createStatement()) {
                            String thread = one(s, "SELECT @@pseudo_thread_id");
                            s.executeQuery("SELECT balance FROM accounts WHERE id IN (" + Math.min(a, b) + "," + Math.max(a, b)
                                    + ") ORDER BY id FOR UPDATE").close();
                            s.executeUpdate("UPDATE accounts SET balance = balance - " + amount + " WHERE id = " + a);
                            s.executeUpdate("UPDATE accounts SET balance = balance + " + amount + " WHERE id = " + b);
                            assertEquals(thread, one(s, "SELECT @@pseudo_thread_id"), "transaction spans two backends");
                            if (rnd.nextInt(4) == 0) {
                                c.rollback();
                            } else {
                                c.commit();
                                committed.incrementAndGet();
                            }
                        } catch (SQLException e) {
                            if (e.getErrorCode() != 1213) { // the server's deadlock victim: rolled back, retry later
                                throw e;
                            }
                            c.rollback();
                        }
                    }
                }
            });
            try (Connection c = server.rootConnection(); Statement s = c.createStatement()) {
                assertEquals("10000", one(s, "SELECT SUM(balance) FROM mx0.accounts"));
            }
            assertTrue(committed.get() > 0);
        }
    }

    @Test
    void serverPreparedStatementsCursorsAndLastInsertIdPerClient() throws Exception {
        try (Sluice sluice = start(4)) {
            runAll(30, n -> {
                String params = n % 2 == 0 ? "useServerPrepStmts=true" : "useServerPrepStmts=true&useCursorFetch=true&defaultFetchSize=3";
                try (Connection c = sluice.connect("mx", "mx-pw", "mx0", params)) {
                    for (int i = 0; i < 5; i++) {
                        try (PreparedStatement ps = c.prepareStatement(i % 2 == 0 ? "SELECT id, ? FROM accounts ORDER BY id"
                                : "SELECT balance, ? FROM accounts WHERE id < 5")) {
                            ps.setInt(1, n);
                            int rows = 0;
                            try (ResultSet r = ps.executeQuery()) {
                                while (r.next()) {
                                    assertEquals(n, r.getInt(2));
                                    rows++;
                                }
                            }
                            assertEquals(i % 2 == 0 ? 10 : 5, rows);
                        }
                        long generated;
                        try (PreparedStatement ps = c.prepareStatement("INSERT INTO ids (who) VALUES (?)", Statement.RETURN_GENERATED_KEYS)) {
                            ps.setInt(1, n);
                            ps.executeUpdate();
                            try (ResultSet k = ps.getGeneratedKeys()) {
                                k.next();
                                generated = k.getLong(1);
                            }
                        }
                        try (Statement s = c.createStatement()) {
                            assertEquals(String.valueOf(generated), one(s, "SELECT LAST_INSERT_ID()"), "LAST_INSERT_ID of client " + n);
                        }
                    }
                }
            });
        }
    }

    @Test
    void getLockIsHeldAcrossStatements() throws Exception {
        try (Sluice sluice = start(2); Connection a = sluice.connect("mx", "mx-pw"); Connection b = sluice.connect("mx", "mx-pw");
             Statement sa = a.createStatement(); Statement sb = b.createStatement()) {
            assertEquals("1", one(sa, "SELECT GET_LOCK('mx-lock', 1)"));
            one(sa, "SELECT 1");
            assertTrue(sluice.proxy.sessions().all().stream().anyMatch(x -> x.pins().contains(io.sluice.proxy.session.Pin.NAMED_LOCKS)),
                    "the lock holder's session must show the named_locks pin");
            assertEquals("0", one(sb, "SELECT GET_LOCK('mx-lock', 0)"), "the lock must still be held by a");
            assertEquals("1", one(sa, "SELECT RELEASE_LOCK('mx-lock')"));
            assertEquals("1", one(sb, "SELECT GET_LOCK('mx-lock', 0)"));
            // b's failed GET_LOCK counted as a lock too (Sluice does not read results): conservative.
            one(sb, "SELECT RELEASE_ALL_LOCKS()");
            assertTrue(sluice.proxy.sessions().all().stream().allMatch(x -> x.pins().isEmpty()), "all locks released, no pins");
        }
    }

    @Test
    void idleClientsHoldNoBackends() throws Exception {
        try (Sluice sluice = start(3)) {
            List<Connection> conns = new ArrayList<>();
            try {
                for (int i = 0; i < 60; i++) {
                    Connection c = sluice.connect("mx", "mx-pw");
                    one(c.createStatement(), "SELECT 1");
                    conns.add(c);
                }
                assertTrue(server.connectionCount("mx") <= 3, "60 idle clients, " + server.connectionCount("mx") + " backends");
                try (Statement s = conns.get(59).createStatement()) {
                    assertEquals("2", one(s, "SELECT 1 + 1"));
                }
            } finally {
                for (Connection c : conns) {
                    c.close();
                }
            }
        }
    }

    @Test
    void killQueryStopsOnlyThatQuery() throws Exception {
        try (Sluice sluice = start(3); Connection victim = sluice.connect("mx", "mx-pw"); Connection bystander = sluice.connect("mx", "mx-pw");
             Statement vs = victim.createStatement(); Statement bs = bystander.createStatement()) {
            Thread t = new Thread(() -> {
                try {
                    Eventually.until("the query runs on the server", () -> server.isRunning("SELECT SLEEP(10)"));
                    vs.cancel();
                } catch (Exception ignored) {
                }
            });
            t.start();
            Thread other = new Thread(() -> {
                try {
                    one(bs, "SELECT SLEEP(1.5)");
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            other.start();
            long start = System.nanoTime();
            try {
                one(vs, "SELECT SLEEP(10)");
            } catch (SQLException ignored) {
                // Connector/J reports the interrupted query as cancelled
            }
            t.join();
            other.join();
            assertTrue(System.nanoTime() - start < 8_000_000_000L, "the query was not killed");
            assertEquals("5", one(vs, "SELECT 5"));
        }
    }

    /**
     * A client that sends several commands without waiting (pipelining) while the only backend is
     * taken: all of them wait, none is lost or reordered, and the answers come back in order.
     */
    @Test
    void pipelinedCommandsWaitingForABackendAreAnsweredInOrder() throws Exception {
        try (Sluice sluice = start(1);
             Connection holder = sluice.connect("mx", "mx-pw", "mx0", "");
             RawClient pipelining = new RawClient(sluice.port())) {
            assertTrue(RawClient.isOk(pipelining.login("mx", "mx-pw", "mx0")));
            try (Statement s = holder.createStatement()) {
                s.execute("BEGIN");
                s.execute("SELECT 1 FROM accounts LIMIT 1"); // the transaction pins the only backend
            }
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            for (int i = 0; i < 5; i++) {
                byte[] sql = ("SET @p = " + i).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                if (i == 4) {
                    sql = "SELECT @p".getBytes(java.nio.charset.StandardCharsets.UTF_8);
                }
                bytes.write(new byte[] {(byte) (sql.length + 1), 0, 0, 0, 0x03});
                bytes.write(sql);
            }
            pipelining.sendRaw(bytes.toByteArray()); // five commands in one write
            Thread.sleep(300);
            try (Statement s = holder.createStatement()) {
                s.execute("COMMIT");
            }
            for (int i = 0; i < 4; i++) {
                assertTrue(RawClient.isOk(pipelining.read()), "answer " + i);
            }
            byte[] columns = pipelining.read();
            assertEquals(1, columns[0]);
            pipelining.read(); // column definition
            byte[] row = pipelining.read();
            assertEquals("3", new String(row, 1, row[0], java.nio.charset.StandardCharsets.UTF_8), "the last SET before the SELECT");
        }
    }

    /**
     * SELECT ROW_COUNT() and SELECT FOUND_ROWS() report on the session's own previous statement,
     * although another session ran a statement on the only backend in between; the same sequence on
     * direct connections gives the same values and column names.
     */
    @Test
    void rowCountAndFoundRowsAreTheSessionsOwn() throws Exception {
        List<String> direct;
        try (Connection a = java.sql.DriverManager.getConnection(server.jdbcUrl("mx0"), "mx", "mx-pw");
             Connection b = java.sql.DriverManager.getConnection(server.jdbcUrl("mx0"), "mx", "mx-pw")) {
            direct = previousResults(a, b);
        }
        try (Sluice sluice = start(1);
             Connection a = sluice.connect("mx", "mx-pw", "mx0", "");
             Connection b = sluice.connect("mx", "mx-pw", "mx0", "")) {
            assertEquals(direct, previousResults(a, b));
        }
        assertEquals(List.of("ROW_COUNT()=4", "FOUND_ROWS()=5", "row_count( )=-1"), direct);
    }

    private static List<String> previousResults(Connection a, Connection b) throws SQLException {
        List<String> seen = new ArrayList<>();
        try (Statement sa = a.createStatement(); Statement sb = b.createStatement()) {
            sa.executeUpdate("UPDATE rc SET v = v + 1 WHERE id < 4");
            sb.executeUpdate("UPDATE rc SET v = v + 1 WHERE id < 7");
            seen.add(labelled(sa, "SELECT ROW_COUNT()"));
            try (ResultSet r = sa.executeQuery("SELECT id FROM rc WHERE id < 5")) {
                while (r.next()) {
                    r.getInt(1);
                }
            }
            try (ResultSet r = sb.executeQuery("SELECT id FROM rc")) {
                while (r.next()) {
                    r.getInt(1);
                }
            }
            seen.add(labelled(sa, "SELECT FOUND_ROWS()"));
            sb.executeUpdate("DELETE FROM rc WHERE id > 100");
            seen.add(labelled(sa, "select row_count( );"));
        }
        return seen;
    }

    private static String labelled(Statement s, String sql) throws SQLException {
        try (ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getMetaData().getColumnLabel(1) + "=" + r.getLong(1);
        }
    }

    /**
     * sluice.frontend.max-query-time: a statement running past it is killed on the server; its client
     * reads the server's 1317 and goes on, and another client's short statements are not touched.
     */
    @Test
    void aStatementPastMaxQueryTimeIsKilledAndOnlyIt() throws Exception {
        try (Sluice sluice = start(2, "sluice.frontend.max-query-time = 1s\n");
             Connection slow = sluice.connect("mx", "mx-pw", "mx0", "");
             Connection quick = sluice.connect("mx", "mx-pw", "mx0", "")) {
            CompletableFuture<String> other = CompletableFuture.supplyAsync(() -> {
                try (Statement s = quick.createStatement()) {
                    for (int i = 0; i < 20; i++) {
                        s.executeQuery("SELECT SLEEP(0.1)").close();
                    }
                    return one(s, "SELECT 'still here'");
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            long t0 = System.nanoTime();
            try (Statement s = slow.createStatement()) {
                SQLException e = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class,
                        () -> s.executeQuery(LONG_QUERY).close());
                assertEquals(1317, e.getErrorCode(), e.getMessage());
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(ms >= 900 && ms < 5000, "killed after " + ms + " ms");
                assertEquals("1", one(s, "SELECT 1"), "the session goes on");
            }
            assertEquals("still here", other.get(30, TimeUnit.SECONDS));
        }
    }

    /**
     * sluice.frontend.max-transaction-time: a transaction open too long ends, idle or running a
     * statement: the statement is killed, the client is closed (9411) and its work is rolled back.
     */
    @Test
    void aTransactionPastMaxTransactionTimeEndsAndRollsBack() throws Exception {
        try (Sluice sluice = start(2, "sluice.frontend.max-transaction-time = 1s\n");
             Connection idle = sluice.connect("mx", "mx-pw", "mx0", "");
             Connection busy = sluice.connect("mx", "mx-pw", "mx0", "")) {
            try (Statement s = idle.createStatement()) {
                s.execute("BEGIN");
                s.execute("INSERT INTO ids (who) VALUES (-411)");
            }
            long t0 = System.nanoTime();
            SQLException running;
            try (Statement s = busy.createStatement()) {
                s.execute("BEGIN");
                running = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class,
                        () -> s.executeQuery(LONG_QUERY).close());
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 6000, "the running transaction ended after " + ms + " ms");
            assertTrue(running.getErrorCode() == 9411 || running.getMessage().contains("Communications link failure"),
                    running.getErrorCode() + " " + running.getMessage());
            SQLException idleEnded = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class, () -> {
                try (Statement s = idle.createStatement()) {
                    s.execute("COMMIT");
                }
            });
            assertTrue(idleEnded.getErrorCode() == 9411 || idleEnded.getMessage().contains("Communications link failure"),
                    idleEnded.getErrorCode() + " " + idleEnded.getMessage());
        }
        try (Connection root = server.rootConnection(); Statement s = root.createStatement()) {
            assertEquals("0", one(s, "SELECT COUNT(*) FROM mx0.ids WHERE who = -411"), "the idle transaction was rolled back");
        }
    }
}
