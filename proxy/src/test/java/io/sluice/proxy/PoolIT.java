package io.sluice.proxy;

import io.sluice.testkit.Eventually;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pool behaviour seen from the server: reuse after a clean reset, idle timeout, max lifetime,
 * the global cap across pools, keys per capability set and character set, TLS to the server.
 */
@ExtendWith(LeakCheckExtension.class)
class PoolIT {
    static TestServer server;

    @BeforeAll
    static void createServerUsers() {
        server = TestServer.shared();
        server.createUser("pa", "pa-pw");
        server.createUser("pb", "pb-pw");
    }

    /** Every test must leave no backend behind on the server once its Sluice is closed. */
    @org.junit.jupiter.api.AfterEach
    void noBackendLeftBehind(org.junit.jupiter.api.TestInfo info) {
        int left = server.awaitConnectionCount("pa", 0, java.time.Duration.ofSeconds(10))
                + server.awaitConnectionCount("pb", 0, java.time.Duration.ofSeconds(1));
        assertEquals(0, left, "backends still on the server after " + info.getDisplayName());
    }

    static String users() {
        return "sluice.users { pa.password = \"pa-pw\", pb.password = \"pb-pw\" }\n";
    }

    static long scalar(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getLong(1);
        }
    }

    static String string(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getString(1);
        }
    }

    @Test
    void backendIsReusedAndComesBackCleanWithoutTheLastSessionsState() throws Exception {
        try (Sluice sluice = Sluice.start(server, users() + "sluice.pool.max-per-user = 1\n")) {
            long thread;
            try (Connection c = sluice.connect("pa", "pa-pw", "mysql", "")) {
                thread = scalar(c, "SELECT @@pseudo_thread_id");
                try (Statement s = c.createStatement()) {
                    s.execute("SET @leak = 'secret'");
                    s.execute("SET SESSION sql_mode = 'ANSI_QUOTES'");
                    s.execute("CREATE TEMPORARY TABLE mysql.t_leak (x INT)");
                }
            }
            Eventually.until("the backend is back in the pool", () -> sluice.proxy.pools().snapshot().get(0).idle() == 1);
            try (Connection c = sluice.connect("pa", "pa-pw")) {
                assertEquals(thread, scalar(c, "SELECT @@pseudo_thread_id"), "the one backend should be reused");
                assertEquals(null, string(c, "SELECT @leak"));
                assertEquals(null, string(c, "SELECT DATABASE()"));
                assertTrue(!string(c, "SELECT @@sql_mode").contains("ANSI_QUOTES"));
                try (Statement s = c.createStatement()) {
                    s.execute("CREATE TEMPORARY TABLE mysql.t_leak (x INT)"); // would fail if the old one survived
                }
            }
        }
    }

    /**
     * One backend, two event loops: clients are accepted on the loops in turn, so of two clients
     * that follow each other on the one pooled backend, one is served across loops, where the
     * backend handler hands each read burst over in one task. A 10,000-row result (about 2 MiB,
     * many reads) must arrive whole and in order on both.
     */
    @Test
    void aBackendOnTheOtherEventLoopForwardsLargeResultsWholeAndInOrder() throws Exception {
        String digits = "(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 "
                + "UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";
        String rows = "SELECT a.d * 1000 + b.d * 100 + c.d * 10 + e.d AS n, REPEAT(CHAR(65 + e.d), 200) AS pad FROM "
                + digits + " a, " + digits + " b, " + digits + " c, " + digits + " e ORDER BY n";
        try (Sluice sluice = Sluice.start(server, users() + "sluice.pool.max-per-user = 1\n")) {
            long backend = -1;
            for (int client = 0; client < 3; client++) {
                try (Connection c = sluice.connect("pa", "pa-pw")) {
                    long thread = scalar(c, "SELECT @@pseudo_thread_id");
                    if (backend >= 0) {
                        assertEquals(backend, thread, "one backend serves every client in turn");
                    }
                    backend = thread;
                    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(rows)) {
                        int n = 0;
                        while (r.next()) {
                            assertEquals(n, r.getInt(1), "row " + n);
                            assertEquals(String.valueOf((char) ('A' + n % 10)).repeat(200), r.getString(2), "row " + n);
                            n++;
                        }
                        assertEquals(10_000, n, "client " + client);
                    }
                    assertEquals(7, scalar(c, "SELECT 7"), "the session goes on after the large result");
                }
                Eventually.until("the backend is back in the pool", () -> sluice.proxy.pools().snapshot().get(0).idle() == 1);
            }
        }
    }

    /**
     * Rows reach a client on the backend's own loop as runs of whole packets (one buffer per run):
     * 3,000 rows whose first column is sometimes empty (a text row starting 0x00, like an OK header),
     * sometimes NULL (0xFB), with a long column, come back exactly as from the server directly, in
     * both pool modes, in the text protocol, the binary protocol and through a cursor. In transaction
     * mode the one backend runs another session's statement before FOUND_ROWS(), so Sluice answers
     * it from its own count of the rows it forwarded: 3,000, as the server says to a direct client.
     */
    @Test
    void rowsForwardedAsRunsArriveExactlyAsTheServerSentThem() throws Exception {
        String digits = "(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 "
                + "UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";
        String rows = "SELECT IF(n % 5 = 0, '', CONCAT('r', n)) AS a, n, IF(n % 7 = 0, NULL, REPEAT(CHAR(97 + n % 26), n % 700)) AS b "
                + "FROM (SELECT a.d * 1000 + b.d * 100 + c.d * 10 + e.d AS n FROM " + digits + " a, " + digits + " b, "
                + digits + " c, " + digits + " e) t WHERE n < 3000 ORDER BY n";
        List<String> shapes = List.of("", "useServerPrepStmts=true", "useServerPrepStmts=true&useCursorFetch=true&defaultFetchSize=50");
        for (String mode : List.of("session", "transaction")) {
            int pool = mode.equals("transaction") ? 1 : 2;
            try (Sluice sluice = Sluice.start(server, users() + "sluice.listen.io-threads = 1\nsluice.pool { mode = " + mode
                    + ", max-per-user = " + pool + " }\n")) {
                for (String params : shapes) {
                    List<String> direct;
                    String url = server.jdbcUrl(null) + (params.isEmpty() ? "" : "&" + params);
                    try (Connection c = java.sql.DriverManager.getConnection(url, "pa", "pa-pw");
                         Connection other = java.sql.DriverManager.getConnection(url, "pa", "pa-pw")) {
                        direct = everyRow(c, other, rows);
                    }
                    try (Connection c = sluice.connect("pa", "pa-pw", null, params);
                         Connection other = sluice.connect("pa", "pa-pw", null, params)) {
                        List<String> through = everyRow(c, other, rows);
                        assertEquals(direct.size(), through.size(), mode + " " + params);
                        assertTrue(through.size() >= 3000, mode + " " + params);
                        for (int i = 0; i < direct.size(); i++) {
                            assertEquals(direct.get(i), through.get(i), mode + ", " + (params.isEmpty() ? "text protocol" : params) + ", line " + i);
                        }
                    }
                }
            }
        }
    }

    /**
     * Every row of {@code sql} as text (prepared, so the binary protocol is used when the URL asks),
     * then, after a statement on {@code other}, FOUND_ROWS().
     */
    private static List<String> everyRow(Connection c, Connection other, String sql) throws SQLException {
        List<String> out = new ArrayList<>();
        try (var s = c.prepareStatement(sql); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                out.add(r.getString(1) + "|" + r.getLong(2) + "|" + r.getString(3));
            }
        }
        assertEquals(1, scalar(other, "SELECT 1"));
        if (!c.getMetaData().getURL().contains("useCursorFetch=true")) {
            // With cursors the driver sends even this as a prepared statement, where the server's own
            // value is used (docs/multiplexing.md, known limits).
            out.add("found " + scalar(c, "SELECT FOUND_ROWS()"));
        }
        return out;
    }

    /**
     * Session mode on two event loops; clients are accepted on them in turn. A session keeps its
     * backend for life, so one on the other loop would cost it two thread hand-offs per query: while
     * the pool has room, a session whose loop has no idle backend gets a new one opened there rather
     * than the idle one of the other loop. Once both loops hold one, sessions reuse them; a full pool
     * lends across loops as before.
     */
    @Test
    void aSessionGetsABackendOnItsOwnEventLoopWhileThePoolHasRoom() throws Exception {
        for (int max : new int[] {2, 1}) {
            try (Sluice sluice = Sluice.start(server, users() + "sluice.listen.io-threads = 2\n"
                    + "sluice.pool { mode = session, max-per-user = " + max + ", min-idle = 0 }\n")) {
                long[] ids = new long[4];
                for (int i = 0; i < ids.length; i++) {
                    try (Connection c = sluice.connect("pa", "pa-pw")) { // loops A, B, A, B
                        ids[i] = scalar(c, "SELECT @@pseudo_thread_id");
                    }
                    Eventually.until("the session's backend is back in the pool", () -> sluice.proxy.pools().snapshot().get(0).idle() == 1
                            + (ids[1] != 0 && max == 2 ? 1 : 0));
                }
                if (max == 2) {
                    assertNotEquals(ids[0], ids[1], "the session on loop B does not borrow loop A's idle backend");
                    assertEquals(ids[0], ids[2], "loop A's next session reuses loop A's backend");
                    assertEquals(ids[1], ids[3], "loop B's next session reuses loop B's backend");
                    assertEquals(2, sluice.proxy.pools().snapshot().get(0).connects());
                } else {
                    assertEquals(1, java.util.Arrays.stream(ids).distinct().count(), "a full pool lends its one backend to both loops");
                    assertEquals(1, sluice.proxy.pools().snapshot().get(0).connects());
                }
            }
        }
    }

    /**
     * Two event loops; clients are accepted on them in turn, so the first and third client share a
     * loop and the second is on the other. The first and third open both of the pool's backends on
     * their loop. When the second then borrows one across loops, that backend is swapped when it comes
     * back: closed, and a new one opened on the second client's loop, which from then on serves it.
     * The pool keeps its size, and the first client's backend is not touched.
     */
    @Test
    void aLopsidedPoolSwapsABackendOntoTheLoopOfTheClientsThatBorrowIt() throws Exception {
        try (Sluice sluice = Sluice.start(server, users() + "sluice.listen.io-threads = 2\n"
                + "sluice.pool { mode = transaction, max-per-user = 2, min-idle = 0 }\n");
             Connection first = sluice.connect("pa", "pa-pw");
             Connection second = sluice.connect("pa", "pa-pw");
             Connection third = sluice.connect("pa", "pa-pw")) {
            first.setAutoCommit(false);
            third.setAutoCommit(false);
            long a = scalar(first, "SELECT @@pseudo_thread_id");
            long b = scalar(third, "SELECT @@pseudo_thread_id");
            assertNotEquals(a, b, "two transactions at once hold both backends");
            first.commit();
            third.commit();
            Eventually.until("both backends are idle", () -> sluice.proxy.pools().snapshot().get(0).idle() == 2);

            long borrowed = scalar(second, "SELECT @@pseudo_thread_id");
            assertTrue(borrowed == a || borrowed == b, "the second client borrows one of the two: " + borrowed);
            Eventually.until("the borrowed backend is swapped", () -> rebalanced(sluice) == 1
                    && sluice.proxy.pools().snapshot().get(0).idle() == 2);
            long own = scalar(second, "SELECT @@pseudo_thread_id");
            assertTrue(own != a && own != b, "the second client now has a new backend: " + own);
            assertEquals(own, scalar(second, "SELECT @@pseudo_thread_id"), "and keeps getting it");
            long kept = borrowed == a ? b : a;
            assertEquals(kept, scalar(first, "SELECT @@pseudo_thread_id"), "the first client's loop kept the other one");
            first.commit();
            assertEquals(2, server.awaitConnectionCount("pa", 2, java.time.Duration.ofSeconds(5)), "the pool kept its size");
            assertEquals(1, rebalanced(sluice), "one swap evens the loops out; none follow");
        }
    }

    /**
     * A backend marked for a swap when it was lent across loops comes back while another client
     * waits for one: the waiter must stay in line and get the replacement (it was once taken from
     * the queue and dropped, and its client hung until its socket timed out).
     */
    @Test
    void aClientWaitingWhenASwappedBackendComesBackGetsTheReplacement() throws Exception {
        try (Sluice sluice = Sluice.start(server, users() + "sluice.listen.io-threads = 2\n"
                + "sluice.pool { mode = transaction, max-per-user = 2, min-idle = 0, acquire-timeout = 30s }\n");
             // A socket timeout so that a regression fails the test instead of hanging it.
             Connection first = sluice.connect("pa", "pa-pw", null, "socketTimeout=15000");
             Connection second = sluice.connect("pa", "pa-pw", null, "socketTimeout=15000");
             Connection third = sluice.connect("pa", "pa-pw", null, "socketTimeout=15000")) {
            first.setAutoCommit(false);
            third.setAutoCommit(false);
            long a = scalar(first, "SELECT @@pseudo_thread_id");
            long b = scalar(third, "SELECT @@pseudo_thread_id");
            assertNotEquals(a, b);
            first.commit();
            third.commit();
            Eventually.until("both backends are idle on the first loop", () -> sluice.proxy.pools().snapshot().get(0).idle() == 2);

            Statement inSecond = second.createStatement();
            inSecond.execute("BEGIN");
            long borrowed = scalar(second, "SELECT @@pseudo_thread_id"); // across loops, marked for a swap
            assertTrue(borrowed == a || borrowed == b);
            long other = scalar(first, "SELECT @@pseudo_thread_id"); // the pool's other backend
            assertNotEquals(borrowed, other);
            var waiting = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return scalar(third, "SELECT @@pseudo_thread_id"); // both busy: waits in line
                } catch (SQLException e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            Eventually.until("the third client waits", () -> sluice.proxy.pools().snapshot().get(0).waiting() == 1);
            inSecond.execute("COMMIT"); // the marked backend comes back and is swapped
            inSecond.close();
            long got = waiting.get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(got != a && got != b, "the waiter got the replacement: " + got);
            assertEquals(1, rebalanced(sluice));
            third.commit();
            first.commit();
        }
    }

    static double rebalanced(Sluice sluice) {
        var c = sluice.proxy.metrics().registry().find("sluice.backend.closes").tag("reason", "rebalanced").counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void idleTimeoutAndMaxLifetimeCloseBackends() throws Exception {
        try (Sluice sluice = Sluice.start(server, users() + "sluice.pool { idle-timeout = 800ms, max-lifetime = 60s }\n")) {
            try (Connection c = sluice.connect("pa", "pa-pw")) {
                scalar(c, "SELECT 1");
            }
            Eventually.until("the idle backend is closed", () -> server.connectionCount("pa") == 0 && sluice.proxy.pools().total() == 0);
        }
        try (Sluice sluice = Sluice.start(server, users() + "sluice.pool { idle-timeout = 1s, max-lifetime = 1500ms }\n")) {
            long first;
            try (Connection c = sluice.connect("pa", "pa-pw")) {
                first = scalar(c, "SELECT @@pseudo_thread_id");
            }
            Thread.sleep(1700);
            try (Connection c = sluice.connect("pa", "pa-pw")) {
                assertNotEquals(first, scalar(c, "SELECT @@pseudo_thread_id"), "a backend past its lifetime must be retired");
            }
        }
    }

    @Test
    void globalCapHoldsAcrossPools() throws Exception {
        try (Sluice sluice = Sluice.start(server, users()
                + "sluice.pool { max-per-user = 2, global-max = 2, acquire-timeout = 4s }\n")) {
            AtomicBoolean sampling = new AtomicBoolean(true);
            AtomicInteger peak = new AtomicInteger();
            // One query counts both pools at the same instant: two separate counts could see a
            // connection of pa before its eviction and the new one of pb after, i.e. 3 that never coexisted.
            Thread sampler = new Thread(() -> {
                try (Connection root = server.rootConnection(); Statement s = root.createStatement()) {
                    while (sampling.get()) {
                        try (ResultSet r = s.executeQuery("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER IN ('pa', 'pb')")) {
                            r.next();
                            peak.accumulateAndGet(r.getInt(1), Math::max);
                        }
                    }
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            sampler.start();
            List<Thread> ts = new ArrayList<>();
            AtomicInteger ok = new AtomicInteger();
            for (int i = 0; i < 8; i++) {
                String user = i % 2 == 0 ? "pa" : "pb";
                Thread t = new Thread(() -> {
                    try (Connection c = sluice.connect(user, user + "-pw")) {
                        scalar(c, "SELECT SLEEP(0.1)");
                        ok.incrementAndGet();
                    } catch (SQLException e) {
                        throw new RuntimeException(e);
                    }
                });
                ts.add(t);
                t.start();
            }
            for (Thread t : ts) {
                t.join(30_000);
            }
            sampling.set(false);
            sampler.join();
            assertEquals(8, ok.get());
            assertTrue(peak.get() <= 2, "server saw " + peak.get() + " connections, global cap 2");
        }
    }

    @Test
    void characterSetAndFlagsPickMatchingBackends() throws Exception {
        try (Sluice sluice = Sluice.start(server, users())) {
            try (Connection latin = sluice.connect("pa", "pa-pw", null, "characterEncoding=latin1&connectionCollation=latin1_swedish_ci");
                 Connection utf = sluice.connect("pa", "pa-pw", null, "characterEncoding=UTF-8")) {
                assertEquals("latin1", string(latin, "SELECT @@character_set_client"));
                assertTrue(string(utf, "SELECT @@character_set_client").startsWith("utf8"));
            }
        }
    }

    @Test
    void classicEofForClientsWithoutDeprecateEof() throws Exception {
        try (Sluice sluice = Sluice.start(server, users()); RawClient c = new RawClient(sluice.port())) {
            // RawClient negotiates CLIENT_DEPRECATE_EOF; a client without it is emulated by a server-visible
            // flag mismatch: the classic shape must come back (column count, def, EOF, row, EOF).
            assertTrue(RawClient.isOk(c.login("pa", "pa-pw", null)));
            c.query("SELECT 1");
            assertEquals(0xfe, c.readResponse()[0] & 0xff);
        }
        try (Sluice sluice = Sluice.start(server, users()); RawClient c = new RawClient(sluice.port(),
                RawClient.CAPS & ~io.sluice.proxy.protocol.Capabilities.CLIENT_DEPRECATE_EOF)) {
            assertTrue(RawClient.isOk(c.login("pa", "pa-pw", null)));
            c.query("SELECT 1");
            assertEquals(1, c.read()[0]); // column count
            c.read(); // column definition
            byte[] eof = c.read();
            assertEquals(0xfe, eof[0] & 0xff);
            assertEquals(5, eof.length, "classic EOF after the column definitions");
            c.read(); // row
            assertEquals(5, c.read().length, "classic EOF after the rows");
        }
    }

    @Test
    void tlsTowardTheServer(@TempDir Path dir) throws Exception {
        Path[] cert = TestCerts.selfSigned(dir);
        try (TestServer tlsServer = TestServer.start(TestServer.Options.defaults().withMaxConnections(20)
                .withServerArgs("--ssl-cert=" + cert[0], "--ssl-key=" + cert[1]))) {
            tlsServer.createUser("pa", "pa-pw");
            try (Sluice sluice = Sluice.start(tlsServer, users() + "sluice.server.tls.mode = required\n");
                 Connection c = sluice.connect("pa", "pa-pw")) {
                try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SHOW SESSION STATUS LIKE 'Ssl_cipher'")) {
                    assertTrue(r.next());
                    assertTrue(!r.getString(2).isEmpty(), "backend connection is not encrypted");
                }
            }
        }
    }

    @Test
    void theMariadbCommandLineClient() throws Exception {
        String cli = java.nio.file.Files.isExecutable(Path.of("/usr/bin/mariadb")) ? "/usr/bin/mariadb"
                : java.nio.file.Files.isExecutable(Path.of("/usr/bin/mysql")) ? "/usr/bin/mysql" : null;
        org.junit.jupiter.api.Assumptions.assumeTrue(cli != null, "no mariadb/mysql CLI installed");
        try (Sluice sluice = Sluice.start(server, users())) {
            Process p = new ProcessBuilder(cli, "-h127.0.0.1", "-P" + sluice.port(), "-upa", "-ppa-pw", "--batch",
                    "-e", "SELECT CONCAT('via-', 'sluice') AS v; SELECT COUNT(*) FROM information_schema.schemata")
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertEquals(0, p.waitFor(), out);
            assertTrue(out.contains("via-sluice"), out);
        }
    }
}
