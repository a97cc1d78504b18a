package io.sluice.admin.doctor;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sluice.admin.AdminServer;
import io.sluice.admin.doctor.Diagnosis.UserLimit;
import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;
import io.sluice.proxy.ProxyServer;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each root cause reproduced on a real server with max_connections = 50, and the doctor's verdict
 * asserted. One server for every scenario; each scenario closes what it opened and the next starts
 * from FLUSH STATUS, so Max_used_connections reflects only itself.
 */
@ExtendWith(LeakCheckExtension.class)
class DoctorIT {
    private static final String PASSWORD = "doctor-pw";
    private static TestServer server;

    /** Client connections a scenario opened; closed after it. */
    private final List<Connection> opened = new ArrayList<>();
    private ExecutorService busy;

    @BeforeAll
    static void startServer() {
        server = TestServer.start(TestServer.Options.defaults().withMaxConnections(50));
        server.createUser("leaky", PASSWORD);
        server.createUser("busy", PASSWORD);
        server.createUser("capped", PASSWORD);
        server.createUser("monitor", PASSWORD, "USAGE ON *.*");
        server.createUser("sluiceapp", PASSWORD);
        server.execute(
                "ALTER USER 'capped'@'%' WITH MAX_USER_CONNECTIONS 5",
                "ALTER USER 'capped'@'localhost' WITH MAX_USER_CONNECTIONS 5",
                "ALTER USER 'monitor'@'%' WITH MAX_USER_CONNECTIONS 3");
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    @BeforeEach
    void resetPeak() {
        server.execute("FLUSH STATUS");
    }

    @AfterEach
    void closeConnections() throws Exception {
        for (Connection c : opened) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // killed by the scenario: already gone
            }
        }
        if (busy != null) {
            busy.shutdownNow();
            assertTrue(busy.awaitTermination(30, TimeUnit.SECONDS), "busy statements did not end");
        }
        for (String user : List.of("leaky", "busy", "capped", "sluiceapp")) {
            assertEquals(0, server.awaitConnectionCount(user, 0, Duration.ofSeconds(10)), user + " still connected");
        }
    }

    private Connection connect(String user) throws SQLException {
        Connection c = DriverManager.getConnection(server.jdbcUrl(""), user, PASSWORD);
        opened.add(c);
        return c;
    }

    private void openIdle(String user, int n) throws SQLException {
        for (int i = 0; i < n; i++) {
            connect(user);
        }
    }

    private static Diagnosis diagnose(String user, long idleThreshold, String adminUrl) throws SQLException {
        try (Connection c = DriverManager.getConnection(server.jdbcUrl(""), user,
                user.equals(server.rootUser()) ? server.rootPassword() : PASSWORD)) {
            return Doctor.diagnose(c, server.host(), server.port(), new DoctorOptions(0, idleThreshold), adminUrl, null);
        }
    }

    private static Diagnosis diagnoseAsRoot(long idleThreshold) throws SQLException {
        return diagnose(server.rootUser(), idleThreshold, null);
    }

    @Test
    void fortyIdleConnectionsFromOneUserAreAnIdleLeak() throws Exception {
        openIdle("leaky", 40);
        Thread.sleep(2_500); // TIME counts whole seconds: every connection sleeps past the 1 s threshold

        Diagnosis d = diagnoseAsRoot(1);

        assertEquals(Verdict.IDLE_LEAK, d.verdict().verdict(), d.findings().toString());
        assertTrue(d.severity().compareTo(Severity.WARNING) >= 0, "41+ of 50 is under pressure: " + d.severity());
        assertTrue(d.verdict().summary().startsWith("idle leak: 40 connections sleep (40 longer than 1s)"), d.verdict().summary());
        assertEquals(50, d.connections().maxConnections());
        assertEquals(40, d.connections().sleeping());
        assertFalse(d.connections().estimated());
        assertEquals("leaky", d.processlist().byUser().get(0).key());
        assertEquals(40, d.processlist().byUser().get(0).connections());
        assertEquals(40, d.processlist().byUser().get(0).sleeping());
        assertEquals(40, d.processlist().sleepingAges().stream().mapToLong(Diagnosis.AgeBucket::connections).sum());
        assertEquals(40, d.recommendations().kills().size());
        assertTrue(d.recommendations().kills().stream().allMatch(k -> k.user().equals("leaky")));
        assertEquals(600, d.recommendations().waitTimeout().recommended());
        assertTrue(d.recommendations().sluiceConfig().contains("mode = transaction"));
        // The snippet is a configuration Sluice accepts.
        ConfigLoader.parse(d.recommendations().sluiceConfig() + "\nsluice.users.leaky { password = \"x\" }\n");

        // --kill-idle's engine ends them, and the server sees them go.
        try (Connection root = server.rootConnection()) {
            List<Doctor.KillResult> results = Doctor.killIdle(root, d.recommendations().kills(), 1);
            assertEquals(40, results.stream().filter(Doctor.KillResult::killed).count(), results.toString());
        }
        assertEquals(0, server.awaitConnectionCount("leaky", 0, Duration.ofSeconds(10)));
    }

    @Test
    void anAccountAtItsMaxUserConnectionsIsAPerUserCap() throws Exception {
        openIdle("capped", 5);
        SQLException refused = assertThrows(SQLException.class, () -> connect("capped"));
        // ER_USER_LIMIT_REACHED: an account's own cap (the global max_user_connections gives 1203).
        assertEquals(1226, refused.getErrorCode(), "the server enforces the cap: " + refused.getMessage());
        // The server sends 1226 before the refused thread leaves its processlist, which the doctor counts.
        assertEquals(5, server.awaitConnectionCount("capped", 5, Duration.ofSeconds(10)));

        Diagnosis d = diagnoseAsRoot(60);

        assertEquals(Verdict.PER_USER_CAP, d.verdict().verdict(), d.findings().toString());
        assertEquals(Severity.CRITICAL, d.severity());
        assertEquals(2, d.exitCode());
        UserLimit capped = d.userLimits().stream().filter(u -> u.user().equals("capped")).findFirst().orElseThrow();
        assertEquals("%", capped.host(), "under skip_name_resolve TCP logins from 127.0.0.1 match 'capped'@'%'");
        assertEquals(5, capped.limit());
        assertEquals(5, capped.current());
        assertEquals("account", capped.source());
        assertTrue(d.verdict().summary().contains("'capped'@'%' is at its cap (5 of 5): its next connection gets ERROR 1226"),
                d.verdict().summary());
    }

    @Test
    void busySleepQueriesAreGenuineLoad() throws Exception {
        int n = 40;
        busy = Executors.newFixedThreadPool(n);
        for (int i = 0; i < n; i++) {
            Connection c = connect("busy");
            busy.submit(() -> {
                try (Statement st = c.createStatement()) {
                    st.execute("SELECT SLEEP(30)");
                } catch (SQLException ignored) {
                    // killed at the end of the scenario
                }
            });
        }
        awaitRunning("busy", n);

        Diagnosis d = diagnoseAsRoot(60);

        assertEquals(Verdict.GENUINE_LOAD, d.verdict().verdict(), d.findings().toString());
        assertTrue(d.severity().compareTo(Severity.WARNING) >= 0);
        assertEquals(n, d.connections().active());
        assertTrue(d.verdict().evidence().stream().anyMatch(e -> e.value().startsWith("Query / User sleep: " + n)),
                d.verdict().evidence().toString());
        assertTrue(d.recommendations().kills().isEmpty(), "busy connections are never KILL candidates");
        assertEquals(d.timeouts().waitTimeout(), d.recommendations().waitTimeout().recommended(), "no leak: keep wait_timeout");
        server.execute(killAll("busy"));
    }

    @Test
    void aQuietServerIsHealthy() throws Exception {
        Diagnosis d = diagnoseAsRoot(60);

        assertEquals(Verdict.HEALTHY, d.verdict().verdict(), d.findings().toString());
        assertEquals(Severity.OK, d.severity());
        assertEquals(0, d.exitCode());
        assertTrue(d.recommendations().kills().isEmpty());
        assertTrue(d.visibility().processPrivilege());
        assertEquals("mysql.user", d.visibility().accountLimitsSource());
        if (server.kind() == TestServer.Kind.LOCAL) {
            // The server runs here: its descriptors are read from /proc through @@pid_file.
            assertNull(d.files().processUnknownReason(), d.visibility().notes().toString());
            assertTrue(d.files().pid() > 0);
            assertTrue(d.files().processSoftLimit() > 0);
            assertTrue(d.files().processOpen() > 0);
        }
    }

    @Test
    void withoutProcessTheDoctorSaysWhatItCannotSee() throws Exception {
        openIdle("leaky", 10);

        Diagnosis d = diagnose("monitor", 60, null);

        assertFalse(d.visibility().processPrivilege());
        assertFalse(d.processlist().complete());
        assertEquals(0, d.processlist().rows(), "only its own thread is visible, and that is left out");
        assertTrue(d.connections().estimated());
        assertTrue(d.connections().sleeping() >= 10, "estimated from Threads_connected - Threads_running: " + d.connections());
        assertEquals("own account", d.visibility().accountLimitsSource());
        assertTrue(d.visibility().notes().stream().anyMatch(n -> n.startsWith("no PROCESS privilege")), d.visibility().notes().toString());
        assertTrue(d.visibility().notes().stream().anyMatch(n -> n.startsWith("no SELECT on mysql.user")), d.visibility().notes().toString());
        UserLimit own = d.userLimits().stream().filter(u -> u.user().equals("monitor")).findFirst().orElseThrow();
        assertEquals(3, own.limit(), "its own MAX_USER_CONNECTIONS, from SHOW GRANTS or SHOW CREATE USER");
        assertEquals(1, own.current(), "the doctor's own connection");
        assertEquals(Verdict.HEALTHY, d.verdict().verdict(), "11 of 50 is no pressure");
        assertTrue(TextReport.render(d).contains("own threads only: no PROCESS privilege"));
    }

    @Test
    void sluicesOwnViewComesFromItsAdminEndpoint() throws Exception {
        SluiceConfig config = ConfigLoader.parse("""
                sluice {
                  listen { host = "127.0.0.1", port = 0 }
                  server { host = "%s", port = %d }
                  admin { host = "127.0.0.1", port = 0 }
                  pool { max-per-user = 3, global-max = 3 }
                  users { sluiceapp { password = "%s" } }
                }
                """.formatted(server.host(), server.port(), PASSWORD));
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (ProxyServer proxy = new ProxyServer(config, registry).start();
             AdminServer admin = new AdminServer(proxy, config.admin(), registry).start()) {
            for (int i = 0; i < 2; i++) {
                Connection c = DriverManager.getConnection("jdbc:mysql://127.0.0.1:" + proxy.port()
                        + "/?useSSL=false&allowPublicKeyRetrieval=true", "sluiceapp", PASSWORD);
                opened.add(c);
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
                    assertTrue(rs.next());
                }
            }

            Diagnosis d = diagnose(server.rootUser(), 60, "http://127.0.0.1:" + admin.port());

            assertNull(d.sluice().error(), d.sluice().error());
            assertEquals(2, d.sluice().clients());
            assertEquals(3, d.sluice().globalMax());
            assertEquals(2, d.sluice().sessions().stream().mapToLong(Diagnosis.Count::connections).sum());
            assertTrue(d.sluice().pools().stream().anyMatch(p -> p.name().equals("sluiceapp") && p.max() == 3),
                    d.sluice().pools().toString());
            assertTrue(TextReport.render(d).contains("Sluice (http://127.0.0.1:" + admin.port() + ")"));
            for (Connection c : opened) {
                c.close();
            }
        }
        Diagnosis down = diagnose(server.rootUser(), 60, "http://127.0.0.1:1");
        assertTrue(down.sluice().error() != null, "an unreachable endpoint is reported, not thrown");
    }

    private static void awaitRunning(String user, int n) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        try (Connection root = server.rootConnection(); Statement st = root.createStatement()) {
            while (true) {
                try (ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '"
                        + user + "' AND COMMAND = 'Query' AND STATE = 'User sleep'")) {
                    rs.next();
                    if (rs.getInt(1) == n) {
                        return;
                    }
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("only " + rs.getInt(1) + " of " + n + " " + user + " connections are running");
                    }
                }
                Thread.sleep(50);
            }
        }
    }

    /** KILL statements for every connection of {@code user}, run as root. */
    private static String[] killAll(String user) throws SQLException {
        List<String> kills = new ArrayList<>();
        try (Connection root = server.rootConnection(); Statement st = root.createStatement();
             ResultSet rs = st.executeQuery("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '" + user + "'")) {
            while (rs.next()) {
                kills.add("KILL CONNECTION " + rs.getLong(1));
            }
        }
        return kills.toArray(String[]::new);
    }
}
