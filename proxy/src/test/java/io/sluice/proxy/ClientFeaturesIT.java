package io.sluice.proxy;

import io.sluice.testkit.Eventually;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Ordinary client features through Sluice with Connector/J against a real server: each must give
 * exactly what the server gives.
 */
@ExtendWith(LeakCheckExtension.class)
class ClientFeaturesIT {
    static TestServer server;
    static Sluice sluice;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.shared();
        server.createUser("app", "app-pw");
        server.createDatabase("shop");
        try (Connection c = server.rootConnection(); Statement s = c.createStatement()) {
            s.execute("SET GLOBAL max_allowed_packet = 64 * 1024 * 1024");
            s.execute("SET GLOBAL local_infile = 1");
            s.execute("CREATE TABLE IF NOT EXISTS shop.items (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(64), qty INT)");
            s.execute("CREATE TABLE IF NOT EXISTS shop.blobs (id INT PRIMARY KEY, data LONGBLOB)");
            s.execute("CREATE TABLE IF NOT EXISTS shop.nums (n INT PRIMARY KEY)");
            s.execute("DELETE FROM shop.nums");
            StringBuilder values = new StringBuilder("INSERT INTO shop.nums VALUES (0)");
            for (int i = 1; i < 1000; i++) {
                values.append(",(").append(i).append(')');
            }
            s.execute(values.toString());
            s.execute("DROP PROCEDURE IF EXISTS shop.two_results");
            s.execute("CREATE PROCEDURE shop.two_results() BEGIN SELECT 1 AS a; SELECT 2 AS b, 3 AS c; END");
        }
        sluice = Sluice.start(server, "sluice.users.app.password = \"app-pw\"\nsluice.pool.max-per-user = 4\n");
    }

    @AfterAll
    static void stop() {
        sluice.close();
    }

    private Connection app(String params) throws SQLException {
        return sluice.connect("app", "app-pw", "shop", params);
    }

    @Test
    void simpleQueryAndServerVersion() throws Exception {
        try (Connection c = app(""); Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT 1 + 1, DATABASE(), @@version")) {
            assertTrue(r.next());
            assertEquals(2, r.getInt(1));
            assertEquals("shop", r.getString(2));
            assertEquals(server.version(), r.getString(3));
        }
    }

    @Test
    void serverErrorsPassThroughWithCodeStateAndMessage() throws Exception {
        try (Connection c = app(""); Statement s = c.createStatement()) {
            SQLException e = assertThrows(SQLException.class, () -> s.executeQuery("SELECT * FROM no_such_table"));
            assertEquals(1146, e.getErrorCode());
            assertEquals("42S02", e.getSQLState());
            assertTrue(e.getMessage().contains("no_such_table"), e.getMessage());
            // The session is still usable after an error.
            try (ResultSet r = s.executeQuery("SELECT 7")) {
                assertTrue(r.next());
                assertEquals(7, r.getInt(1));
            }
        }
    }

    @Test
    void largeResultIsStreamed() throws Exception {
        try (Connection c = app(""); Statement s = c.createStatement(java.sql.ResultSet.TYPE_FORWARD_ONLY, java.sql.ResultSet.CONCUR_READ_ONLY)) {
            s.setFetchSize(Integer.MIN_VALUE);
            long rows = 0;
            long sum = 0;
            try (ResultSet r = s.executeQuery("SELECT a.n * 1000 + b.n + 1, REPEAT('x', 200) FROM nums a, nums b WHERE a.n < 300")) {
                while (r.next()) {
                    rows++;
                    sum += r.getLong(1);
                    assertEquals(200, r.getString(2).length());
                }
            }
            assertEquals(300_000, rows);
            assertEquals(300_000L * 300_001L / 2, sum);
        }
    }

    @Test
    void multiStatementsAndMultipleResultSets() throws Exception {
        try (Connection c = app("allowMultiQueries=true"); Statement s = c.createStatement()) {
            assertTrue(s.execute("SELECT 1; SELECT 2, 3; DO 1"));
            List<String> seen = new ArrayList<>();
            do {
                ResultSet r = s.getResultSet();
                if (r != null) {
                    while (r.next()) {
                        seen.add(r.getString(1));
                    }
                }
            } while (s.getMoreResults() || s.getUpdateCount() != -1);
            assertEquals(List.of("1", "2"), seen);
        }
        try (Connection c = app(""); CallableStatement cs = c.prepareCall("{CALL two_results()}")) {
            assertTrue(cs.execute());
            ResultSet r1 = cs.getResultSet();
            assertTrue(r1.next());
            assertEquals(1, r1.getInt(1));
            assertTrue(cs.getMoreResults());
            ResultSet r2 = cs.getResultSet();
            assertTrue(r2.next());
            assertEquals(3, r2.getInt("c"));
        }
    }

    @Test
    void multiStatementsRefusedWhenTheClientDidNotAskForThem() throws Exception {
        try (Connection c = app(""); Statement s = c.createStatement()) {
            SQLException e = assertThrows(SQLException.class, () -> s.execute("SELECT 1; SELECT 2"));
            assertEquals(1064, e.getErrorCode());
        }
    }

    @Test
    void initDbPingAndResetConnection() throws Exception {
        try (Connection c = app("")) {
            c.setCatalog("mysql");
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT DATABASE()")) {
                r.next();
                assertEquals("mysql", r.getString(1));
            }
            assertTrue(c.isValid(2));
            try (Statement s = c.createStatement()) {
                s.execute("SET @v = 42");
            }
            ((com.mysql.cj.jdbc.JdbcConnection) c).resetServerState();
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT @v")) {
                r.next();
                assertEquals(null, r.getObject(1));
            }
        }
    }

    @Test
    void serverSidePreparedStatementsWithCursorsLongDataAndReset() throws Exception {
        try (Connection c = app("useServerPrepStmts=true&useCursorFetch=true&defaultFetchSize=7")) {
            try (PreparedStatement ps = c.prepareStatement("SELECT n + 1, ? FROM nums WHERE n + 1 <= 100 AND n + 1 > ?")) {
                ps.setString(1, "p");
                ps.setInt(2, 10);
                int n = 0;
                try (ResultSet r = ps.executeQuery()) {
                    while (r.next()) {
                        n++;
                        assertEquals("p", r.getString(2));
                    }
                }
                assertEquals(90, n);
                ps.setInt(2, 95);
                n = 0;
                try (ResultSet r = ps.executeQuery()) {
                    while (r.next()) {
                        n++;
                    }
                }
                assertEquals(5, n);
            }
            byte[] blob = new byte[300_000];
            new Random(1).nextBytes(blob);
            try (PreparedStatement ps = c.prepareStatement("REPLACE INTO blobs (id, data) VALUES (?, ?)")) {
                ps.setInt(1, 1);
                ps.setBinaryStream(2, new ByteArrayInputStream(blob), blob.length); // COM_STMT_SEND_LONG_DATA
                assertEquals(1, ps.executeUpdate() > 0 ? 1 : 0);
                ps.clearParameters();
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT data FROM blobs WHERE id = ?")) {
                ps.setInt(1, 1);
                try (ResultSet r = ps.executeQuery()) {
                    assertTrue(r.next());
                    assertArrayEquals(blob, r.getBytes(1));
                }
            }
        }
    }

    @Test
    void packetsOf16MiBAndMoreBothWays() throws Exception {
        byte[] big = new byte[20 * 1024 * 1024 + 123];
        new Random(2).nextBytes(big);
        try (Connection c = app("maxAllowedPacket=67108864")) {
            try (PreparedStatement ps = c.prepareStatement("REPLACE INTO blobs (id, data) VALUES (2, ?)")) {
                ps.setBytes(1, big);
                ps.executeUpdate();
            }
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT data, LENGTH(data) FROM blobs WHERE id = 2")) {
                assertTrue(r.next());
                assertEquals(big.length, r.getInt(2));
                assertTrue(Arrays.equals(big, r.getBytes(1)), "20 MiB blob differs after the round trip");
            }
        }
    }

    @Test
    void loadDataLocalInfile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("items.tsv");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 5000; i++) {
            sb.append("load-").append(i).append('\t').append(i).append('\n');
        }
        Files.writeString(file, sb.toString(), StandardCharsets.UTF_8);
        try (Connection c = app("allowLoadLocalInfile=true"); Statement s = c.createStatement()) {
            s.execute("DELETE FROM items WHERE name LIKE 'load-%'");
            int n = s.executeUpdate("LOAD DATA LOCAL INFILE '" + file + "' INTO TABLE items (name, qty)");
            assertEquals(5000, n);
            try (ResultSet r = s.executeQuery("SELECT COUNT(*), SUM(qty) FROM items WHERE name LIKE 'load-%'")) {
                r.next();
                assertEquals(5000, r.getInt(1));
                assertEquals(4999L * 5000 / 2, r.getLong(2));
            }
        }
    }

    @Test
    void foundRowsFlagIsHonouredPerClient() throws Exception {
        try (Connection c = app(""); Statement s = c.createStatement()) {
            s.execute("INSERT INTO items (id, name, qty) VALUES (900, 'same', 1) ON DUPLICATE KEY UPDATE qty = 1");
        }
        // Connector/J sets CLIENT_FOUND_ROWS unless useAffectedRows=true: matched vs changed rows.
        try (Connection c = app(""); Statement s = c.createStatement()) {
            assertEquals(1, s.executeUpdate("UPDATE items SET qty = 1 WHERE id = 900"));
        }
        try (Connection c = app("useAffectedRows=true"); Statement s = c.createStatement()) {
            assertEquals(0, s.executeUpdate("UPDATE items SET qty = 1 WHERE id = 900"));
        }
    }

    @Test
    void changeUser() throws Exception {
        server.createUser("other", "other-pw");
        try (Sluice two = Sluice.start(server, "sluice.users.app.password = \"app-pw\"\nsluice.users.other.password = \"other-pw\"\n");
             Connection c = two.connect("app", "app-pw")) {
            ((com.mysql.cj.jdbc.JdbcConnection) c).changeUser("other", "other-pw");
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT CURRENT_USER()")) {
                r.next();
                assertTrue(r.getString(1).startsWith("other@"), r.getString(1));
            }
            SQLException e = assertThrows(SQLException.class, () -> ((com.mysql.cj.jdbc.JdbcConnection) c).changeUser("other", "wrong"));
            assertEquals(1045, e.getErrorCode());
        }
    }

    @Test
    void statementCancelKillsOnlyThatQuery() throws Exception {
        try (Connection victim = app(""); Connection bystander = app("");
             Statement vs = victim.createStatement(); Statement bs = bystander.createStatement()) {
            Thread t = new Thread(() -> {
                try {
                    Eventually.until("the query runs on the server", () -> server.isRunning("SELECT SLEEP(30) FROM DUAL"));
                    vs.cancel(); // Connector/J opens another connection and sends KILL QUERY <Sluice id>
                } catch (Exception ignored) {
                }
            });
            t.start();
            long start = System.nanoTime();
            SQLException e = assertThrows(SQLException.class, () -> {
                try (ResultSet r = vs.executeQuery("SELECT SLEEP(30) FROM DUAL WHERE 1 = 0 UNION SELECT BENCHMARK(1000000000, MD5('x'))")) {
                    r.next();
                }
            });
            t.join();
            assertTrue(System.nanoTime() - start < 20_000_000_000L, "query was not interrupted");
            // The server answers 1317 (query interrupted); Connector/J reports it as a cancellation.
            assertTrue(e instanceof com.mysql.cj.jdbc.exceptions.MySQLStatementCancelledException || e.getErrorCode() == 1317, e.toString());
            // The victim's connection survives KILL QUERY, and the bystander was untouched.
            try (ResultSet r = vs.executeQuery("SELECT 5")) {
                r.next();
                assertEquals(5, r.getInt(1));
            }
            try (ResultSet r = bs.executeQuery("SELECT 6")) {
                r.next();
                assertEquals(6, r.getInt(1));
            }
        }
    }

    @Test
    void mariadbConnectorJWorksToo() throws Exception {
        try (Connection c = java.sql.DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + sluice.port() + "/shop", "app", "app-pw");
             Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT COUNT(*) FROM nums WHERE n < 10")) {
            r.next();
            assertEquals(10, r.getInt(1));
        }
        try (Connection c = java.sql.DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + sluice.port() + "/shop?useServerPrepStmts=true", "app", "app-pw");
             PreparedStatement ps = c.prepareStatement("SELECT ? + 1")) {
            ps.setInt(1, 41);
            try (ResultSet r = ps.executeQuery()) {
                r.next();
                assertEquals(42, r.getInt(1));
            }
        }
    }
}
