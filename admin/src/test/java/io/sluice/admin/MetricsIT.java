package io.sluice.admin;

import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * GET /metrics is valid Prometheus text (every sample line is {@code name{labels} value}, every
 * family declared by # TYPE before its samples) and carries Sluice's series with Micrometer's
 * naming: counters end in _total, timers in _seconds, tags pool/state/reason/result.
 */
@ExtendWith(LeakCheckExtension.class)
class MetricsIT {
    static final String USER = "adm_metrics";
    static final String PASSWORD = "adm-metrics-pw";
    static TestServer server;

    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern SAMPLE = Pattern.compile(
            "(" + NAME.pattern() + ")(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\",?)*})? (\\S+)(?: (-?\\d+))?");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");
    private static final Pattern TYPE = Pattern.compile("# TYPE (" + NAME.pattern() + ") (counter|gauge|summary|histogram|untyped)");

    record Sample(String name, Map<String, String> labels, double value) {
    }

    @BeforeAll
    static void users() {
        server = TestServer.shared();
        server.createUser(USER, PASSWORD);
    }

    @Test
    void prometheusTextHasSluiceSeriesWithPoolTags() throws Exception {
        try (AdminFixture f = AdminFixture.start(server, "sluice.users." + USER + ".password = \"" + PASSWORD + "\"\n"
                + "sluice.pool { max-per-user = 1, acquire-timeout = 300ms }\n");
             Connection holder = f.connect(USER, PASSWORD, "metrics-it")) {
            try (Statement s = holder.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
                assertTrue(rs.next());
            }
            // A second client times out waiting for the only backend: a rejection to count.
            assertThrows(SQLException.class, () -> f.connect(USER, PASSWORD, "metrics-it-2").close());
            f.await("/stats", st -> st.path("clients").asInt() == 1, java.time.Duration.ofSeconds(10));

            var reply = f.get("/metrics");
            assertEquals(200, reply.status());
            assertTrue(reply.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
            List<Sample> samples = parse(reply.body());

            String pool = "pool=" + USER;
            assertEquals(1.0, value(samples, "sluice_pool_connections", pool, "state=busy"));
            assertEquals(0.0, value(samples, "sluice_pool_connections", pool, "state=idle"));
            assertEquals(0.0, value(samples, "sluice_pool_connections", pool, "state=opening"));
            assertEquals(1.0, value(samples, "sluice_pool_max", pool));
            assertEquals(0.0, value(samples, "sluice_pool_waiting", pool));
            assertTrue(value(samples, "sluice_pool_acquire_seconds_count", pool, "result=granted") >= 1);
            assertTrue(value(samples, "sluice_pool_acquire_seconds_sum", pool, "result=granted") >= 0);
            value(samples, "sluice_pool_acquire_seconds", pool, "result=granted", "quantile=0.5");
            value(samples, "sluice_pool_acquire_seconds", pool, "result=granted", "quantile=0.99");
            value(samples, "sluice_pool_acquire_seconds_max", pool, "result=granted");
            assertEquals(1.0, value(samples, "sluice_pool_acquire_rejected_total", pool, "reason=timeout"));
            assertEquals(0.0, value(samples, "sluice_pool_acquire_rejected_total", pool, "reason=queue_full"));
            assertEquals(0.0, value(samples, "sluice_pool_acquire_rejected_total", pool, "reason=server_unavailable"));
            assertEquals(1.0, value(samples, "sluice_backend_connects_total", pool, "result=ok"));
            assertEquals(0.0, value(samples, "sluice_backend_connects_total", pool, "result=failed"));
            // The timed-out client's connection has closed by now; only the holder is left.
            assertEquals(1.0, value(samples, "sluice_client_connections"));
            value(samples, "sluice_client_rejected_total", "reason=max_clients");
            value(samples, "sluice_client_auth_failures_total");
            // Busy polling (default auto): each poll's end and time, and the polls auto held off.
            double polls = value(samples, "sluice_event_loop_busy_polls_total", "end=io")
                    + value(samples, "sluice_event_loop_busy_polls_total", "end=task")
                    + value(samples, "sluice_event_loop_busy_polls_total", "end=budget");
            double heldOff = value(samples, "sluice_event_loop_busy_poll_held_off_total");
            if (f.proxy.busyPollInEffect().equals("auto")) { // not "auto, inactive" (no run-queue statistics here)
                assertTrue(polls + heldOff > 0, "logins and a query made busy passes: polled " + polls + ", held off " + heldOff);
            }
            assertTrue(value(samples, "sluice_event_loop_busy_poll_seconds_total") >= 0);

            // Bytes each way: counted on the client channel, growing with every query and its result.
            double in = value(samples, "sluice_client_bytes_total", "direction=in");
            double out = value(samples, "sluice_client_bytes_total", "direction=out");
            assertTrue(in > 0 && out > 0, "logins and a query were counted: in " + in + ", out " + out);
            String select = "SELECT REPEAT('x', 5000) AS padding";
            try (Statement s = holder.createStatement(); ResultSet rs = s.executeQuery(select)) {
                assertTrue(rs.next());
            }
            List<Sample> after = parse(f.get("/metrics").body());
            double inAfter = value(after, "sluice_client_bytes_total", "direction=in");
            double outAfter = value(after, "sluice_client_bytes_total", "direction=out");
            assertTrue(inAfter >= in + select.length(), "the query went in: " + in + " -> " + inAfter);
            assertTrue(outAfter >= out + 5000, "its 5000-byte row came out: " + out + " -> " + outAfter);

            for (Sample s : samples) {
                if (s.name().startsWith("sluice_")) {
                    assertTrue(s.name().matches("sluice_[a-z0-9_]+"), "Micrometer names are lower snake case: " + s.name());
                    assertTrue(!s.name().startsWith("sluice_pool_") || s.labels().containsKey("pool"),
                            "every pool series is tagged with its pool: " + s);
                }
            }
        }
    }

    /**
     * In transaction mode every query takes a backend, nearly always one idle at that moment: those
     * grants are counted on the pool and added to the timer in batches. Whatever reads the timer
     * through the admin endpoint still sees every one of them, at once, with a wait of 0.
     */
    @Test
    void grantsOfIdleConnectionsAreAllInTheAcquireTimer() throws Exception {
        String user = USER + "_tx";
        server.createUser(user, PASSWORD);
        try (AdminFixture f = AdminFixture.start(server, "sluice.users." + user + " { password = \"" + PASSWORD
                + "\", pool-mode = transaction }\nsluice.pool { max-per-user = 1 }\n");
             Connection c = f.connect(user, PASSWORD, "metrics-it-tx")) {
            String pool = "pool=" + user;
            double before = value(parse(f.get("/metrics").body()), "sluice_pool_acquire_seconds_count", pool, "result=granted");
            int queries = 50;
            try (Statement s = c.createStatement()) {
                for (int i = 0; i < queries; i++) {
                    try (ResultSet rs = s.executeQuery("SELECT " + i)) {
                        assertTrue(rs.next());
                    }
                }
            }
            List<Sample> samples = parse(f.get("/metrics").body());
            double after = value(samples, "sluice_pool_acquire_seconds_count", pool, "result=granted");
            assertEquals(before + queries, after, "one granted acquire per query, each on the single idle backend");
            var stats = AdminFixture.pool(f.get("/stats").json(), user);
            assertEquals((long) after, stats.path("acquire_wait_ms").path("count").asLong(), stats.toString());
            assertEquals(0.0, stats.path("acquire_wait_ms").path("p50").asDouble(), "grants of an idle backend wait 0: " + stats);
            assertEquals(stats.path("acquires").asLong(), stats.path("acquire_wait_ms").path("count").asLong(),
                    "the pool's own count and the timer's agree: " + stats);
        }
    }

    /** Parses Prometheus text format 0.0.4, failing on any line that is not a comment or a well-formed sample. */
    static List<Sample> parse(String text) {
        List<Sample> out = new ArrayList<>();
        Map<String, String> types = new HashMap<>();
        int n = 0;
        for (String line : text.split("\n", -1)) {
            n++;
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("#")) {
                Matcher t = TYPE.matcher(line);
                if (t.matches()) {
                    types.put(t.group(1), t.group(2));
                } else if (!line.startsWith("# HELP ")) {
                    fail("line " + n + ": a comment that is neither # HELP nor a valid # TYPE: " + line);
                }
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            if (!m.matches()) {
                fail("line " + n + " is not `name{labels} value`: " + line);
            }
            String name = m.group(1);
            String family = family(name, types);
            assertTrue(family != null, "line " + n + ": no # TYPE declared before " + name);
            Map<String, String> labels = new LinkedHashMap<>();
            if (m.group(2) != null) {
                Matcher l = LABEL.matcher(m.group(2));
                while (l.find()) {
                    labels.put(l.group(1), l.group(2));
                }
            }
            out.add(new Sample(name, labels, number(m.group(3), n)));
        }
        assertTrue(out.size() > 10, "expected a real scrape, got:\n" + text);
        return out;
    }

    private static String family(String name, Map<String, String> types) {
        for (String suffix : new String[] {"", "_total", "_count", "_sum", "_bucket", "_max"}) {
            if (name.endsWith(suffix) && types.containsKey(name.substring(0, name.length() - suffix.length()))) {
                return name.substring(0, name.length() - suffix.length());
            }
        }
        return null;
    }

    private static double number(String s, int line) {
        switch (s) {
            case "+Inf":
                return Double.POSITIVE_INFINITY;
            case "-Inf":
                return Double.NEGATIVE_INFINITY;
            case "NaN":
                return Double.NaN;
            default:
                try {
                    return Double.parseDouble(s);
                } catch (NumberFormatException e) {
                    throw new AssertionError("line " + line + ": not a number: " + s);
                }
        }
    }

    /** The value of the one sample named {@code name} having every {@code key=value} label given. */
    static double value(List<Sample> samples, String name, String... labels) {
        List<Sample> found = new ArrayList<>();
        for (Sample s : samples) {
            boolean all = s.name().equals(name);
            for (String kv : labels) {
                String[] p = kv.split("=", 2);
                all &= p[1].equals(s.labels().get(p[0]));
            }
            if (all) {
                found.add(s);
            }
        }
        assertEquals(1, found.size(), "samples " + name + " " + List.of(labels) + ": " + found);
        return found.get(0).value();
    }
}
