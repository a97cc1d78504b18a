package io.sluice.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.admin.doctor.ClusterDiagnosis;
import io.sluice.admin.doctor.Doctor;
import io.sluice.admin.doctor.Severity;
import io.sluice.config.ConfigLoader;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestCluster;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sluice in front of a real MariaDB primary and two GTID replicas: {@code GET /doctor} diagnoses
 * every server, labels each with the role Sluice's monitor gives it, and its first line names the
 * replica whose connections ran out (max_connections lowered to 12 with SET GLOBAL and filled by
 * idle connections); the dashboard's cluster panel lists each server from /stats {@code cluster}
 * (headless Chromium when installed, as {@link DashboardIT}; target/dashboard-cluster.png is left
 * for a human to look at).
 */
@Tag("slow")
@ExtendWith(LeakCheckExtension.class)
class ClusterDoctorIT {
    static final String USER = "adm_cluster";
    static final String FILLER = "adm_filler";
    static final String PASSWORD = "adm-cluster-pw";
    static TestCluster cluster;
    /** What every server of the cluster starts with. */
    static int maxConnections;

    private final List<Connection> opened = new ArrayList<>();

    @TempDir
    Path profile;

    @BeforeAll
    static void startCluster() {
        cluster = TestCluster.start(2);
        cluster.primary().createUser(USER, PASSWORD);
        cluster.primary().createUser(FILLER, PASSWORD, "USAGE ON *.*");
        cluster.awaitReplicated(Duration.ofSeconds(30));
        maxConnections = Integer.parseInt(cluster.primary().queryString("SELECT @@global.max_connections"));
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
        for (TestServer s : cluster.servers()) {
            s.execute("SET GLOBAL max_connections = " + maxConnections);
        }
    }

    private AdminFixture sluice() {
        StringBuilder servers = new StringBuilder();
        for (TestServer s : cluster.servers()) {
            servers.append(servers.length() == 0 ? "" : ", ").append('"').append(s.host()).append(':').append(s.port()).append('"');
        }
        return AdminFixture.start(cluster.primary(), ConfigLoader.parse(
                "sluice.listen { host = \"127.0.0.1\", port = 0, io-threads = 2 }\n"
                        + "sluice.servers = [" + servers + "]\n"
                        + "sluice.cluster.poll-interval = 200ms\n"
                        + "sluice.admin { host = \"127.0.0.1\", port = 0 }\n"
                        + "sluice.users." + USER + ".password = \"" + PASSWORD + "\"\n"), null);
    }

    /** Idle connections to {@code server} until it has {@code threads} client threads (root's own not counted). */
    private void fill(TestServer server, long threads) throws SQLException {
        while (server.threadsConnected() < threads) {
            opened.add(DriverManager.getConnection(server.jdbcUrl(""), FILLER, PASSWORD));
        }
    }

    private static String endpoint(TestServer s) {
        return s.host() + ":" + s.port();
    }

    @Test
    void doctorNamesTheReplicaShortOfConnectionsAndTheDashboardListsEveryServer() throws Exception {
        TestServer full = cluster.replica(1);
        full.execute("SET GLOBAL max_connections = 12");
        try (AdminFixture f = sluice()) {
            JsonNode stats = f.await("/stats", s -> s.path("cluster").path("primary").asText("").equals(endpoint(cluster.primary()))
                    && count(s, "readable", true) == 2, Duration.ofSeconds(20));
            // A client through Sluice, so a backend to the primary has read that server's limits.
            try (Connection client = f.connect(USER, PASSWORD, "cluster-doctor-it");
                 var st = client.createStatement(); var rs = st.executeQuery("SELECT 1")) {
                assertTrue(rs.next());
            }
            f.await("/stats", s -> s.path("cluster").path("servers").get(0).path("server_limits").isObject(),
                    Duration.ofSeconds(10));
            fill(full, 10); // + the doctor's login = 11 of 12: past 90%

            var reply = f.get("/doctor");
            assertEquals(200, reply.status(), reply.body());
            ClusterDiagnosis d = Doctor.jsonMapper().readValue(reply.body(), ClusterDiagnosis.class);
            assertTrue(d.verdict().startsWith("CRITICAL: " + endpoint(full) + " (replica) is short of connections: "),
                    d.verdict());
            assertEquals(List.of(endpoint(full)), d.shortOfConnections(), reply.body());
            assertEquals(Severity.CRITICAL, d.severity());
            assertEquals(2, d.exitCode());
            assertEquals("sluice", d.roles());
            assertEquals(f.url(""), d.sluiceUrl());
            assertEquals(3, d.servers().size(), reply.body());
            for (int i = 0; i < 3; i++) {
                TestServer s = cluster.servers().get(i);
                ClusterDiagnosis.Member m = d.servers().get(i);
                assertEquals(endpoint(s), m.endpoint());
                boolean primary = s == cluster.primary();
                assertEquals(primary ? "primary" : "replica", m.role(), reply.body());
                assertEquals(m.role(), m.sluice().role());
                assertTrue(m.sluice().up());
                // What the server itself says, next to Sluice's word.
                assertEquals(!primary, m.says().readOnly(), m.says().toString());
                assertEquals(primary ? "not a replica" : "running", m.says().replication());
                assertNotNull(m.diagnosis(), reply.body());
                assertEquals(endpoint(s), m.diagnosis().server().endpoint());
                assertTrue(m.diagnosis().server().account().startsWith(USER + "@"), m.diagnosis().server().account());
                assertEquals(s == full ? 12 : maxConnections, m.diagnosis().connections().maxConnections());
                assertEquals(s == full ? Severity.CRITICAL : Severity.OK, m.diagnosis().severity(), m.endpoint() + ": "
                        + m.diagnosis().verdict());
                // Each server's diagnosis carries Sluice's view of its own pools, not the whole /stats.
                assertEquals(endpoint(s), m.diagnosis().sluice().stats().path("address").asText());
            }

            // The dashboard reads these fields of /stats "cluster".
            stats = f.get("/stats").json();
            for (JsonNode s : stats.path("cluster").path("servers")) {
                for (String field : List.of("address", "role", "up", "readable", "lag_ms", "why", "backend_connections",
                        "server_limits")) {
                    assertTrue(s.has(field), field + " missing: " + s);
                }
            }
            String page = f.get("/").body();
            assertTrue(page.contains("id=\"cluster-panel\"") && page.contains("function renderCluster(c)"), "panel code missing");

            Path chromium = DashboardIT.chromium();
            if (chromium != null) {
                String dom = run(chromium, "--virtual-time-budget=3000", "--dump-dom", f.url("/"));
                assertTrue(dom.contains("<section class=\"cluster\" id=\"cluster-panel\" style=\"display: block;\">"),
                        "the cluster panel is shown:\n" + dom);
                assertTrue(dom.contains("primary <b>" + endpoint(cluster.primary()) + "</b>"), dom);
                for (TestServer s : cluster.servers()) {
                    String role = s == cluster.primary() ? "primary" : "replica";
                    Matcher row = Pattern.compile("<tr data-server=\"" + Pattern.quote(endpoint(s)) + "\"><td>"
                            + Pattern.quote(endpoint(s)) + "</td><td><span class=\"role role-" + role + "\">" + role
                            + "</span></td><td class=\"\">up</td><td>" + (role.equals("replica") ? "yes" : "")
                            + "</td><td class=\"num\">" + (role.equals("replica") ? "\\d+ ms" : "")
                            + "</td><td class=\"num\">\\d+ / (\\d+|\\?)</td><td class=\"num\">((\\d+|\\?) / (\\d+)|–)</td>").matcher(dom);
                    assertTrue(row.find(), "row of " + endpoint(s) + " missing:\n" + dom);
                    if (s == cluster.primary()) {
                        // Read by the client's backend: the server's own count and its max_connections.
                        assertEquals(String.valueOf(maxConnections), row.group(4), "max_connections of the primary:\n" + dom);
                    }
                }
                // For a human to look at.
                Path png = Path.of("target", "dashboard-cluster.png").toAbsolutePath();
                Files.deleteIfExists(png);
                run(chromium, "--virtual-time-budget=3000", "--window-size=1280,1000", "--hide-scrollbars",
                        "--screenshot=" + png, f.url("/"));
                assertTrue(Files.size(png) > 10_000, "screenshot " + png + " is " + Files.size(png) + " bytes");
            }
        }
    }

    @Test
    void withoutAClusterTheDashboardPanelStaysHidden() throws Exception {
        Path chromium = DashboardIT.chromium();
        TestServer one = cluster.primary();
        try (AdminFixture f = AdminFixture.start(one, "sluice.users." + USER + ".password = \"" + PASSWORD + "\"\n")) {
            assertFalse(f.get("/stats").json().has("cluster"), "one server: no cluster section");
            try (Connection client = f.connect(USER, PASSWORD, "cluster-doctor-it");
                 var st = client.createStatement(); var rs = st.executeQuery("SELECT 1")) {
                assertTrue(rs.next()); // its pool gets a card: proof the page's script ran
            }
            if (chromium != null) {
                String dom = run(chromium, "--virtual-time-budget=3000", "--dump-dom", f.url("/"));
                // The script ran (the pools it draws are there) and left the panel hidden and empty.
                assertTrue(dom.contains("<h2 class=\"pool-name\">"), "the page's script did not run:\n" + dom);
                assertTrue(dom.matches("(?s).*<section class=\"cluster\" id=\"cluster-panel\" style=\"display: ?none;?\">.*"), dom);
                assertTrue(dom.contains("<tbody id=\"cluster\"></tbody>"), dom);
            }
        }
    }

    private static int count(JsonNode stats, String field, boolean value) {
        int n = 0;
        for (JsonNode s : stats.path("cluster").path("servers")) {
            n += s.path(field).asBoolean(!value) == value ? 1 : 0;
        }
        return n;
    }

    private String run(Path chromium, String... args) throws IOException, InterruptedException {
        return HeadlessChromium.run(chromium, profile, args);
    }
}
