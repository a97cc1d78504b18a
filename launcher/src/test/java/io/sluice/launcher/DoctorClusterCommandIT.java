package io.sluice.launcher;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sluice.admin.AdminServer;
import io.sluice.admin.doctor.ClusterDiagnosis;
import io.sluice.admin.doctor.Severity;
import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;
import io.sluice.proxy.ProxyServer;
import io.sluice.testkit.Eventually;
import io.sluice.testkit.FreePort;
import io.sluice.testkit.TestCluster;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code sluice doctor} across a real MariaDB primary and two GTID replicas, one replica with
 * max_connections lowered to 12 and filled: with {@code --servers} (roles as each server says) and
 * with {@code --admin} of a Sluice fronting the three (roles as Sluice sees them), the first line
 * names that replica, each server gets its own report, and the exit code is the worst server's.
 */
@Tag("slow")
class DoctorClusterCommandIT {
    private static final String PASSWORD = "cluster-cli-pw";
    private static TestCluster cluster;
    private static TestServer full;
    /** What every server of the cluster starts with. */
    private static int maxConnections;

    private final List<Connection> opened = new ArrayList<>();
    private final Map<String, String> env = new HashMap<>();

    record Run(int exit, String out, String err) {
        ClusterDiagnosis diagnosis() throws Exception {
            return DoctorCommand.mapper().readValue(out, ClusterDiagnosis.class);
        }
    }

    @BeforeAll
    static void startCluster() {
        cluster = TestCluster.start(2);
        cluster.primary().createUser("filler", PASSWORD, "USAGE ON *.*");
        cluster.primary().createUser("app", PASSWORD);
        cluster.awaitReplicated(Duration.ofSeconds(30));
        full = cluster.replica(0);
        maxConnections = Integer.parseInt(full.queryString("SELECT @@global.max_connections"));
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @AfterEach
    void closeFillers() throws SQLException {
        for (Connection c : opened) {
            c.close();
        }
        opened.clear();
        full.execute("SET GLOBAL max_connections = " + maxConnections);
    }

    /** 10 client threads of 12 on the full replica; the doctor's own login makes 11: past 90%. */
    private void fillReplica() throws SQLException {
        full.execute("SET GLOBAL max_connections = 12");
        while (full.threadsConnected() < 10) {
            opened.add(DriverManager.getConnection(full.jdbcUrl(""), "filler", PASSWORD));
        }
    }

    private static String endpoint(TestServer s) {
        return s.host() + ":" + s.port();
    }

    private static String servers() {
        return String.join(",", cluster.servers().stream().map(DoctorClusterCommandIT::endpoint).toList());
    }

    private Run doctorAsRoot(String... args) {
        env.put("ROOT_PW", cluster.primary().rootPassword());
        List<String> all = new ArrayList<>(List.of("doctor", "-u", cluster.primary().rootUser(), "--password-env", "ROOT_PW"));
        all.addAll(List.of(args));
        CommandLine cmd = new CommandLine(new Main());
        DoctorCommand doctor = (DoctorCommand) cmd.getSubcommands().get("doctor").getCommand();
        doctor.env = env::get;
        doctor.console = null;
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int exit = cmd.execute(all.toArray(String[]::new));
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void serversListedOnTheCommandLineAreEachDiagnosedWithTheRoleTheyReport() throws Exception {
        fillReplica();
        Run run = doctorAsRoot("--servers", servers(), "--json");
        assertEquals(2, run.exit(), run.err() + run.out());
        ClusterDiagnosis d = run.diagnosis();
        assertTrue(d.verdict().startsWith("CRITICAL: " + endpoint(full) + " (replica) is short of connections: "), d.verdict());
        assertEquals(List.of(endpoint(full)), d.shortOfConnections());
        assertEquals(Severity.CRITICAL, d.severity());
        assertEquals("servers", d.roles());
        assertNull(d.sluiceUrl());
        assertEquals(3, d.servers().size());
        for (int i = 0; i < 3; i++) {
            TestServer s = cluster.servers().get(i);
            ClusterDiagnosis.Member m = d.servers().get(i);
            boolean primary = s == cluster.primary();
            assertEquals(endpoint(s), m.endpoint());
            assertEquals(primary ? "primary" : "replica", m.role(), m.says().toString());
            assertEquals(!primary, m.says().readOnly());
            assertEquals(primary ? "not a replica" : "running", m.says().replication());
            assertNull(m.sluice());
            assertNotNull(m.diagnosis());
            assertEquals(s == full ? 12 : maxConnections, m.diagnosis().connections().maxConnections());
            assertEquals(s == full ? Severity.CRITICAL : Severity.OK, m.diagnosis().severity(), m.diagnosis().verdict().summary());
        }

        // The text report: the verdict first, a table of the servers, then each server's own report.
        Run text = doctorAsRoot("--servers", servers());
        assertEquals(2, text.exit(), text.err());
        String[] lines = text.out().split("\n");
        assertTrue(lines[0].startsWith("VERDICT: CRITICAL: " + endpoint(full) + " (replica) is short of connections: "), text.out());
        assertTrue(text.out().contains("=== " + endpoint(full) + "  replica  (read_only ON, replication running) ===\n"
                + "sluice doctor: " + endpoint(full) + "  "), text.out());
        assertTrue(text.out().contains("=== " + endpoint(cluster.primary()) + "  primary  (read_only OFF, replication not a replica) ==="),
                text.out());
        assertTrue(text.out().matches("(?s).*\n  " + java.util.regex.Pattern.quote(endpoint(full))
                + " +replica +CRITICAL .*"), "the servers table:\n" + text.out());
        assertTrue(text.out().endsWith("exit code 2 (worst of the 3 servers: CRITICAL)\n"), text.out());

        // Killing idle connections is a one-server action.
        Run kill = doctorAsRoot("--servers", servers(), "--kill-idle", "--yes");
        assertEquals(DoctorCommand.EXIT_UNUSABLE, kill.exit());
        assertTrue(kill.err().contains("--kill-idle works on one server"), kill.err());
    }

    @Test
    void aSluiceFrontingTheClusterGivesTheServersAndTheirRoles() throws Exception {
        StringBuilder list = new StringBuilder();
        for (TestServer s : cluster.servers()) {
            list.append(list.length() == 0 ? "" : ", ").append('"').append(endpoint(s)).append('"');
        }
        SluiceConfig config = ConfigLoader.parse("sluice.listen { host = \"127.0.0.1\", port = 0 }\n"
                + "sluice.servers = [" + list + "]\n"
                + "sluice.cluster.poll-interval = 200ms\n"
                + "sluice.admin { host = \"127.0.0.1\", port = 0 }\n"
                + "sluice.users.app.password = \"" + PASSWORD + "\"\n");
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ProxyServer proxy = new ProxyServer(config, registry).start();
        try (AdminServer admin = new AdminServer(proxy, config.admin(), registry).start()) {
            Eventually.until("a primary and two readable replicas", Duration.ofSeconds(20), () -> {
                var t = proxy.cluster().topology();
                return t.hasPrimary() && t.servers().stream().filter(v -> v.readable()).count() == 2;
            });
            fillReplica();
            String url = "http://127.0.0.1:" + admin.port();
            Run run = doctorAsRoot("--admin", url, "--json");
            assertEquals(2, run.exit(), run.err() + run.out());
            ClusterDiagnosis d = run.diagnosis();
            assertEquals("sluice", d.roles());
            assertEquals(url, d.sluiceUrl());
            assertTrue(d.verdict().startsWith("CRITICAL: " + endpoint(full) + " (replica) is short of connections: "), d.verdict());
            assertEquals(3, d.servers().size());
            for (int i = 0; i < 3; i++) {
                TestServer s = cluster.servers().get(i);
                ClusterDiagnosis.Member m = d.servers().get(i);
                String role = s == cluster.primary() ? "primary" : "replica";
                assertEquals(endpoint(s), m.endpoint());
                assertEquals(role, m.role());
                assertEquals(role, m.sluice().role());
                assertTrue(m.sluice().up());
                assertEquals(s != cluster.primary(), m.sluice().readable());
                assertNotNull(m.says(), "the server's own word is read too");
            }

            // -h names one server: the one-server report, as without a cluster.
            Run one = doctorAsRoot("--admin", url, "-h", cluster.primary().host(), "-P", String.valueOf(cluster.primary().port()),
                    "--json");
            assertEquals(0, one.exit(), one.err() + one.out());
            var single = DoctorCommand.mapper().readValue(one.out(), io.sluice.admin.doctor.Diagnosis.class);
            assertEquals(endpoint(cluster.primary()), single.server().endpoint());
        } finally {
            proxy.close();
        }
    }

    @Test
    void aServerThatCannotBeReachedIsReportedAndExitsThree() throws Exception {
        int nothing = FreePort.find();
        Run run = doctorAsRoot("--servers", endpoint(cluster.primary()) + ",127.0.0.1:" + nothing, "--json");
        assertEquals(DoctorCommand.EXIT_UNUSABLE, run.exit(), run.err() + run.out());
        ClusterDiagnosis d = run.diagnosis();
        assertEquals(2, d.servers().size());
        assertNotNull(d.servers().get(0).diagnosis());
        ClusterDiagnosis.Member down = d.servers().get(1);
        assertNull(down.diagnosis());
        assertEquals("unknown", down.role());
        assertTrue(down.error().message().contains("nothing accepts connections on 127.0.0.1:" + nothing), down.error().message());
        assertTrue(d.verdict().startsWith("OK: none of the 2 servers is short of connections; 127.0.0.1:" + nothing
                + " (unknown) not diagnosed: "), d.verdict());
    }
}
