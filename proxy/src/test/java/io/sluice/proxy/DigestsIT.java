package io.sluice.proxy;

import io.sluice.proxy.digest.DigestStats;
import io.sluice.proxy.digest.DigestTable;
import io.sluice.testkit.ExternalClient;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Per-statement statistics against a real server: what real clients ran (pymysql's text protocol,
 * Connector/J's server-side prepared statements) is what the digests count, exactly, in both pool modes.
 */
@ExtendWith(LeakCheckExtension.class)
class DigestsIT {
    static TestServer server;

    @BeforeAll
    static void setUp() {
        server = TestServer.shared();
        server.createUser("dg", "dg-pw");
        server.createDatabase("dg");
    }

    @BeforeEach
    void tables() throws SQLException {
        try (Connection c = server.rootConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS dg.t (id INT PRIMARY KEY, v INT NOT NULL)");
            s.execute("CREATE TABLE IF NOT EXISTS dg.log (id INT PRIMARY KEY AUTO_INCREMENT, who INT, note VARCHAR(64))");
            s.execute("DELETE FROM dg.t");
            s.execute("DELETE FROM dg.log");
            s.execute("INSERT INTO dg.t VALUES (0,0),(1,0),(2,0),(3,0),(4,0),(5,0),(6,0),(7,0),(8,0),(9,0)");
        }
    }

    private static Sluice start(String mode, String more) {
        return Sluice.start(server, "sluice.users.dg.password = \"dg-pw\"\n"
                + "sluice.pool { mode = " + mode + ", max-per-user = 2, acquire-timeout = 30s }\n" + more);
    }

    @ParameterizedTest
    @ValueSource(strings = {"session", "transaction"})
    void countsMatchWhatTheClientsRan(String mode) throws SQLException {
        ExternalClient.requirePython("pymysql", "apt-get install python3-pymysql");
        try (Sluice sluice = start(mode, "")) {
            ExternalClient.Result r = ExternalClient.python("""
                    import os, pymysql
                    c = pymysql.connect(host='127.0.0.1', port=int(os.environ['SLUICE_PORT']), user='dg',
                                        password='dg-pw', autocommit=True)
                    cur = c.cursor()
                    for i in range(7):
                        cur.execute('SELECT id, v FROM dg.t WHERE id = %s', (i,))
                        cur.fetchall()
                    for i in range(5):
                        cur.execute('INSERT INTO dg.log (who, note) VALUES (%s, %s)', (i, "it's secret-%d" % i))
                    for i in range(2):
                        cur.execute('UPDATE dg.t SET v = v + 1 WHERE id IN (1, 2, 3)')
                    errors = 0
                    for i in range(3):
                        try:
                            cur.execute('SELECT * FROM dg.missing WHERE x = %s', (i,))
                        except pymysql.err.ProgrammingError as e:
                            errors += e.args[0] == 1146
                    c.close()
                    print(errors)
                    """, ExternalClient.env(sluice.port(), "dg", "dg-pw"));
            assertEquals("3", r.out(), r.stderr());

            try (Connection c = DriverManager.getConnection(sluice.url("dg", "useServerPrepStmts=true&cachePrepStmts=false"),
                    "dg", "dg-pw")) {
                try (PreparedStatement p = c.prepareStatement("SELECT v FROM dg.t WHERE id = ?")) {
                    for (int i = 0; i < 4; i++) {
                        p.setInt(1, i);
                        try (ResultSet rs = p.executeQuery()) {
                            assertTrue(rs.next());
                        }
                    }
                }
                try (PreparedStatement p = c.prepareStatement("INSERT INTO dg.t (id, v) VALUES (?, ?)")) {
                    for (int id : new int[] {100, 100, 101}) {
                        p.setInt(1, id);
                        p.setInt(2, 7);
                        try {
                            p.executeUpdate();
                        } catch (SQLException e) {
                            assertEquals(1062, e.getErrorCode(), e.getMessage());
                        }
                    }
                }
            }

            Map<String, DigestStats> byText = new HashMap<>();
            for (DigestStats s : sluice.proxy.digests().top(DigestTable.Order.COUNT, 10_000)) {
                assertFalse(s.text().contains("secret"), s.text());
                if (s.user().equals("dg")) {
                    assertEquals(server.host() + ":" + server.port(), s.server());
                    byText.put(s.text(), s);
                }
            }
            String all = String.join("\n", byText.keySet());
            expect(byText.get("SELECT id, v FROM dg.t WHERE id = ?"), all, 7, 0, 7, Map.of());
            expect(byText.get("INSERT INTO dg.log (who, note) VALUES (...)"), all, 5, 0, 5, Map.of());
            expect(byText.get("UPDATE dg.t SET v = v + ? WHERE id IN (...)"), all, 2, 0, 6, Map.of());
            expect(byText.get("SELECT * FROM dg.missing WHERE x = ?"), all, 3, 3, 0, Map.of(1146, 3L));
            expect(byText.get("SELECT v FROM dg.t WHERE id = ?"), all, 4, 0, 4, Map.of());
            expect(byText.get("INSERT INTO dg.t (id, v) VALUES (...)"), all, 3, 1, 2, Map.of(1062, 1L));
        }
    }

    private static void expect(DigestStats s, String all, long count, long errors, long rows, Map<Integer, Long> codes) {
        assertNotNull(s, "not among the digests:\n" + all);
        assertEquals(count, s.count(), s.text());
        assertEquals(errors, s.errors(), s.text());
        assertEquals(rows, s.rows(), s.text());
        assertEquals(codes, s.errorCodes(), s.text());
        assertTrue(s.maxNanos() > 0 && s.maxNanos() <= s.totalNanos(), s.text());
        assertTrue(s.waitNanos() >= 0 && s.waitNanos() <= s.totalNanos(), s.text());
    }

    @Test
    void disabledRecordsNothing() throws SQLException {
        try (Sluice sluice = start("transaction", "sluice.digests.enabled = false\n");
             Connection c = DriverManager.getConnection(sluice.url("dg", ""), "dg", "dg-pw");
             Statement s = c.createStatement()) {
            s.executeQuery("SELECT v FROM dg.t WHERE id = 1").close();
            assertEquals(0, sluice.proxy.digests().size());
        }
    }

    @Test
    void boundHoldsUnderManyDistinctStatements() throws SQLException {
        try (Sluice sluice = start("session", "sluice.digests.max-digests = 20\n");
             Connection c = DriverManager.getConnection(sluice.url("dg", ""), "dg", "dg-pw");
             Statement s = c.createStatement()) {
            for (int i = 0; i < 60; i++) {
                s.executeQuery("SELECT v AS c" + i + " FROM dg.t WHERE id = 1").close();
            }
            DigestTable t = sluice.proxy.digests();
            assertTrue(t.size() <= 20, "size " + t.size());
            assertTrue(t.evictions() >= 40, "evictions " + t.evictions());
        }
    }
}
