package io.sluice.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GET /digests, POST /digests/reset and the top statements of /metrics (docs/admin.md, docs/digests.md). */
@ExtendWith(LeakCheckExtension.class)
class DigestsEndpointIT {
    static final String USER = "adm_digests";
    static final String PASSWORD = "adm-digests-pw";
    static final String TOKEN = "digests-token";
    static TestServer server;

    @BeforeAll
    static void users() {
        server = TestServer.shared();
        server.createUser(USER, PASSWORD);
    }

    @Test
    void topStatementsResetAndMetrics() throws Exception {
        try (AdminFixture f = AdminFixture.start(server, "sluice.users." + USER + " { password = \"" + PASSWORD
                + "\", pool-mode = transaction }\nsluice.admin.token = \"" + TOKEN + "\"\n");
             Connection c = f.connect(USER, PASSWORD, "digests-it")) {
            // The driver's own statements at connect (and the first backend's opening) are not this test's.
            assertEquals(200, f.post("/digests/reset", TOKEN).status());
            try (Statement s = c.createStatement()) {
                for (int i = 0; i < 2; i++) {
                    s.execute("DO SLEEP(0.1)");
                }
            }
            try (PreparedStatement p = c.prepareStatement("SELECT 'top-secret-value' AS a, ? AS b")) {
                for (int i = 0; i < 7; i++) {
                    p.setInt(1, 1000 + i);
                    try (ResultSet rs = p.executeQuery()) {
                        assertTrue(rs.next());
                    }
                }
            }

            AdminFixture.Reply byTime = f.get("/digests");
            assertEquals(200, byTime.status(), byTime.body());
            assertFalse(byTime.body().contains("top-secret") || byTime.body().contains("1003"), "no literal leaves Sluice: "
                    + byTime.body());
            JsonNode doc = byTime.json();
            assertEquals("total_time", doc.path("order").asText());
            assertEquals(20, doc.path("limit").asInt());
            assertTrue(doc.path("enabled").asBoolean());
            assertEquals(5000, doc.path("max_digests").asInt());
            JsonNode first = doc.path("statements").get(0);
            assertEquals("DO SLEEP(?)", first.path("digest").asText(), doc.toString());
            assertEquals(USER, first.path("user").asText());
            assertEquals(server.host() + ":" + server.port(), first.path("server").asText());
            assertEquals(2, first.path("count").asInt());
            assertTrue(first.path("total_time_ms").asDouble() >= 200, first.toString());
            assertTrue(first.path("max_time_ms").asDouble() >= 100, first.toString());
            assertEquals(first.path("total_time_ms").asDouble() / 2, first.path("avg_time_ms").asDouble(), 0.01);
            assertEquals(16, first.path("id").asText().length());
            for (String field : List.of("errors", "error_codes", "wait_time_ms", "rows", "first_seen", "last_seen")) {
                assertTrue(first.has(field), field + " in " + first);
            }

            JsonNode byCount = f.get("/digests?order=count&limit=1").json();
            assertEquals(1, byCount.path("statements").size());
            JsonNode select = byCount.path("statements").get(0);
            assertEquals("SELECT ? AS a, ? AS b", select.path("digest").asText(), byCount.toString());
            assertEquals(7, select.path("count").asInt());
            assertEquals(7, select.path("rows").asInt());

            for (String bad : List.of("?order=slowest", "?limit=0", "?limit=ten", "?limit=10001")) {
                AdminFixture.Reply r = f.get("/digests" + bad);
                assertEquals(400, r.status(), bad + ": " + r.body());
                assertTrue(r.body().contains(bad.contains("order") ? "order must be one of total_time, count, max_time, errors, "
                        + "rows, wait_time" : "limit must be a whole number from 1 to 10000"), r.body());
            }

            // What `sluice doctor --admin URL` reads: the same statements, by total time.
            var view = io.sluice.admin.doctor.Doctor.fetchSluiceView(f.url(""), TOKEN);
            assertEquals(null, view.error());
            assertEquals("DO SLEEP(?)", view.statements().get(0).digest(), view.statements().toString());
            assertEquals(2, view.statements().get(0).count());

            // Prometheus: a bounded top by total time, labelled by digest id, user and server.
            List<MetricsIT.Sample> samples = MetricsIT.parse(f.get("/metrics").body());
            String id = first.path("id").asText();
            MetricsIT.Sample time = samples.stream().filter(s -> s.name().equals("sluice_digest_time_seconds_total")
                    && id.equals(s.labels().get("digest"))).findFirst().orElseThrow(() -> new AssertionError("no series for " + id));
            assertEquals(USER, time.labels().get("user"));
            assertTrue(time.value() >= 0.2, time.toString());
            assertTrue(samples.stream().filter(s -> s.name().equals("sluice_digest_statements_total")).count() <= DigestViews.METRICS_TOP);
            assertTrue(samples.stream().anyMatch(s -> s.name().equals("sluice_digests") && s.value() >= 2));
            assertTrue(samples.stream().anyMatch(s -> s.name().equals("sluice_digests_evicted_total") && s.value() == 0));

            // Reset is an action: the token is needed.
            assertEquals(401, f.post("/digests/reset").status());
            AdminFixture.Reply reset = f.post("/digests/reset", TOKEN);
            assertEquals(200, reset.status(), reset.body());
            assertTrue(reset.json().path("forgotten").asInt() >= 2, reset.body());
            assertEquals(0, f.get("/digests").json().path("statements").size());
            try (Statement s = c.createStatement()) {
                s.execute("DO SLEEP(0)");
            }
            JsonNode after = f.get("/digests").json();
            assertEquals(1, after.path("statements").size(), after.toString());
            assertEquals(1, after.path("statements").get(0).path("count").asInt());
        }
    }

    /** sluice.digests is reloadable: POST /reload switches it off and shrinks the bound at once. */
    @Test
    void reloadAppliesTheDigestSettings() throws Exception {
        String users = "sluice.users." + USER + " { password = \"" + PASSWORD + "\", pool-mode = transaction }\n";
        java.util.concurrent.atomic.AtomicReference<String> file = new java.util.concurrent.atomic.AtomicReference<>(users);
        java.util.function.Supplier<io.sluice.config.SluiceConfig> source =
                () -> io.sluice.config.ConfigLoader.parse(AdminFixture.base(server) + file.get());
        try (AdminFixture f = AdminFixture.start(server, source.get(), source);
             Connection c = f.connect(USER, PASSWORD, "digests-reload-it");
             Statement s = c.createStatement()) {
            s.execute("DO 1");
            assertTrue(f.get("/digests").json().path("digests").asInt() >= 1);
            file.set(users + "sluice.digests { enabled = false, max-digests = 10 }\n");
            AdminFixture.Reply reply = f.post("/reload");
            assertEquals(200, reply.status(), reply.body());
            List<String> applied = new java.util.ArrayList<>();
            reply.json().path("applied").forEach(n -> applied.add(n.asText()));
            assertEquals(List.of("sluice.digests.enabled", "sluice.digests.max-digests"), applied, reply.body());
            assertEquals(200, f.post("/digests/reset").status());
            s.execute("DO 2");
            JsonNode doc = f.get("/digests").json();
            assertFalse(doc.path("enabled").asBoolean(), doc.toString());
            assertEquals(10, doc.path("max_digests").asInt());
            assertEquals(0, doc.path("digests").asInt(), "nothing recorded once switched off: " + doc);
        }
    }
}
