package io.sluice.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.config.ConfigLoader;
import io.sluice.testkit.FreePort;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static io.sluice.admin.AdminFixture.pool;
import static io.sluice.admin.AdminFixture.sessions;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * /health, /ready, /stats, /sessions and POST /sessions/{id}/kill against a running Sluice, with
 * real Connector/J clients creating the states asserted: a holder with the pool's only backend, a
 * second client waiting for it, a query running.
 */
@ExtendWith(LeakCheckExtension.class)
class AdminEndpointIT {
    static final String USER = "adm_ep";
    static final String PASSWORD = "adm-ep-pw";
    static TestServer server;

    @BeforeAll
    static void users() {
        server = TestServer.shared();
        server.createUser(USER, PASSWORD);
    }

    @Test
    void healthReadyAndUnknownRoutes() {
        try (AdminFixture f = AdminFixture.start(server, "sluice.users." + USER + ".password = \"" + PASSWORD + "\"\n")) {
            var health = f.get("/health");
            assertEquals(200, health.status());
            assertEquals("up", health.json().path("status").asText());

            var ready = f.get("/ready");
            assertEquals(200, ready.status(), ready.body());
            JsonNode r = ready.json();
            assertTrue(r.path("ready").asBoolean() && r.path("accepting").asBoolean() && r.path("server_reachable").asBoolean());
            assertFalse(r.path("paused").asBoolean());
            assertEquals(0, r.path("reasons").size());

            var missing = f.get("/nope");
            assertEquals(404, missing.status());
            assertEquals("not_found", missing.json().path("error").asText());
            assertTrue(missing.json().path("message").asText().contains("POST /sessions/{id}/kill"), missing.body());

            var wrongMethod = f.get("/pause");
            assertEquals(405, wrongMethod.status());
            assertEquals("POST", wrongMethod.headers().firstValue("Allow").orElse(""));

            var noSuchSession = f.post("/sessions/4242424/kill");
            assertEquals(404, noSuchSession.status());
            assertTrue(noSuchSession.json().path("message").asText().contains("no session 4242424"));
        }
    }

    /**
     * What an operator needs during an incident: the time a session idles inside its transaction,
     * the backend cap in force with the server's max_connections and Threads_connected, error counts
     * by kind, and a history kept server-side. Every key snake_case, none twice.
     */
    @Test
    void statsCarryTheCapErrorsAndHistoryAndSessionsTheirIdleTimeInATransaction() throws Exception {
        try (AdminFixture f = AdminFixture.start(server, "sluice.users." + USER + ".password = \"" + PASSWORD + "\"\n"
                + "sluice.pool { max-per-user = 2 }\n");
             Connection c = f.connect(USER, PASSWORD, "admin-it-tx")) {
            try (Connection wrong = f.connect(USER, "wrong-" + PASSWORD, "admin-it-wrong")) {
                throw new AssertionError("a wrong password logged in");
            } catch (SQLException expected) {
                // counted below
            }
            try (Statement s = c.createStatement()) {
                s.execute("START TRANSACTION");
                try (ResultSet rs = s.executeQuery("SELECT 1")) {
                    assertTrue(rs.next());
                }
            }
            JsonNode all = f.await("/sessions", ss -> sessions(ss, USER, "idle").stream()
                    .anyMatch(x -> x.path("idle_in_transaction_ms").asLong(-1) >= 300), Duration.ofSeconds(10));
            JsonNode tx = sessions(all, USER, "idle").get(0);
            assertTrue(tx.path("in_transaction").asBoolean(), tx.toPrettyString());
            try (Statement s = c.createStatement()) {
                s.execute("ROLLBACK");
            }
            JsonNode after = f.await("/sessions", ss -> sessions(ss, USER, "idle").stream()
                    .allMatch(x -> x.path("idle_in_transaction_ms").isNull()), Duration.ofSeconds(10));
            assertTrue(sessions(after, USER, "idle").get(0).has("idle_in_transaction_ms"), "null, not missing, outside a transaction");

            JsonNode stats = f.get("/stats").json();
            JsonNode limits = stats.path("server_limits");
            assertEquals(Math.min(stats.path("global_max").asInt(), limits.path("backend_cap").asInt()),
                    stats.path("backend_cap").asInt(), stats.toPrettyString());
            assertTrue(limits.path("threads_connected").asLong() >= 1, "the last read Threads_connected: " + limits);
            assertEquals(2, pool(stats, USER).path("max").asInt());
            JsonNode errors = stats.path("errors");
            assertTrue(errors.path("auth_failures").asLong() >= 1, errors.toPrettyString());
            for (String reason : List.of("timeout", "queue_full", "server_unavailable")) {
                assertEquals(0, errors.path("acquire_rejected").path(reason).asLong(-1), errors.toPrettyString());
            }
            assertEquals(0, errors.path("clients_rejected").path("max_clients").asLong(-1), errors.toPrettyString());
            assertEquals(0, errors.path("backend_connect_failures").asLong(-1), errors.toPrettyString());
            assertNoCamelCase(stats, "/stats");
            assertNoCamelCase(all, "/sessions");

            // Sampled every second from the start, oldest first, within its bounded ring.
            JsonNode history = f.await("/stats/history", h -> h.path("samples").size() >= 2, Duration.ofSeconds(10));
            assertEquals(1000, history.path("interval_ms").asInt());
            assertEquals(600, history.path("capacity").asInt());
            JsonNode samples = history.path("samples");
            JsonNode last = samples.get(samples.size() - 1);
            assertTrue(samples.get(0).path("t").asLong() < last.path("t").asLong(), history.toPrettyString());
            assertTrue(last.path("errors").path("auth_failures").asLong() >= 1, last.toPrettyString());
            assertTrue(last.path("backend_cap").asInt() > 0, last.toPrettyString());
            assertEquals(USER, last.path("pools").get(0).path("name").asText(), last.toPrettyString());
            assertEquals(2, last.path("pools").get(0).path("max").asInt(), last.toPrettyString());
            assertNoCamelCase(history, "/stats/history");
        }
    }

    /** One convention for every JSON route: snake_case field names (docs/admin.md). */
    static void assertNoCamelCase(JsonNode node, String route) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> {
                assertFalse(e.getKey().matches(".*[A-Z].*") && !e.getKey().equals(USER), route + ": key " + e.getKey());
                if (!e.getKey().startsWith("clients_by_") && !e.getKey().equals("sessions_by_state")) {
                    assertNoCamelCase(e.getValue(), route);
                }
            });
        } else if (node.isArray()) {
            node.forEach(n -> assertNoCamelCase(n, route));
        }
    }

    @Test
    void notReadyWhileTheServerWasNeverReached() {
        int closed = FreePort.find(); // nothing listens there
        String hocon = "sluice.listen { host = \"127.0.0.1\", port = 0, io-threads = 1 }\n"
                + "sluice.server { host = \"127.0.0.1\", port = " + closed + ", connect-timeout = 1s }\n"
                + "sluice.admin { host = \"127.0.0.1\", port = 0 }\n"
                + "sluice.users." + USER + ".password = \"" + PASSWORD + "\"\n";
        try (AdminFixture f = AdminFixture.start(server, ConfigLoader.parse(hocon), null)) {
            var ready = f.get("/ready");
            assertEquals(503, ready.status(), ready.body());
            assertFalse(ready.json().path("server_reachable").asBoolean());
            assertTrue(ready.json().path("reasons").get(0).asText().contains("not reached since startup"), ready.body());
            assertEquals(200, f.get("/health").status(), "alive, only not ready");
            assertFalse(f.get("/stats").json().path("server").path("reached").asBoolean());
        }
    }

    @Test
    void waitingQueryingAndKilledSessionsAsClientsCreateThem() throws Exception {
        try (AdminFixture f = AdminFixture.start(server, "sluice.users." + USER + ".password = \"" + PASSWORD + "\"\n"
                + "sluice.pool { max-per-user = 1, acquire-timeout = 30s }\n");
             Connection holder = f.connect(USER, PASSWORD, "admin-it-holder")) {
            // Session mode: the holder keeps the pool's only backend from its first command on.
            try (Statement s = holder.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
                assertTrue(rs.next());
            }

            // A second client logs in (no backend needed) and its driver's first query waits.
            CompletableFuture<Connection> waiter = CompletableFuture.supplyAsync(() -> {
                try {
                    return f.connect(USER, PASSWORD, "admin-it-waiter");
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            // Two conditions, because the session is marked waiting just before it joins the pool's queue.
            JsonNode stats = f.await("/stats", st -> pool(st, USER).path("waiting").asInt() == 1
                    && st.path("sessions_by_state").path("waiting").asInt() == 1, Duration.ofSeconds(20));
            JsonNode p = pool(stats, USER);
            assertEquals(1, p.path("max").asInt());
            assertEquals(1, p.path("busy").asInt());
            assertEquals(0, p.path("idle").asInt());
            assertTrue(p.path("oldest_wait_ms").asLong() >= 0);
            assertTrue(p.path("acquires").asLong() >= 1, p.toPrettyString());
            assertTrue(p.path("acquire_wait_ms").path("count").asLong() >= 1, p.toPrettyString());
            assertTrue(p.path("acquire_wait_ms").has("p50") && p.path("acquire_wait_ms").has("p99"), p.toPrettyString());
            assertTrue(p.path("backend").path("connects").asLong() >= 1, p.toPrettyString());
            assertEquals(0, p.path("rejections").path("timeout").asLong());
            assertEquals(2, stats.path("clients_by_user").path(USER).asInt(), stats.toPrettyString());
            assertTrue(stats.path("clients_by_host").path("127.0.0.1").asInt() >= 2, stats.toPrettyString());
            assertEquals(1, stats.path("sessions_by_state").path("waiting").asInt(), stats.toPrettyString());
            assertEquals(f.proxy.transportName(), stats.path("transport").asText(), stats.toPrettyString());
            assertTrue(List.of("io-uring", "epoll", "nio").contains(stats.path("transport").asText()), stats.toPrettyString());
            assertEquals(f.proxy.busyPollInEffect(), stats.path("busy_poll").asText(), stats.toPrettyString());
            assertTrue(stats.path("busy_poll").asText().startsWith("auto"), stats.toPrettyString());
            JsonNode limits = stats.path("server_limits");
            assertTrue(limits.path("max_connections").asLong() > 0, stats.toPrettyString());
            assertTrue(limits.path("backend_cap").asInt() > 0 && limits.path("reasoning").asText().contains("max_connections"),
                    stats.toPrettyString());

            JsonNode all = f.get("/sessions").json();
            List<JsonNode> waiting = sessions(all, USER, "waiting");
            assertEquals(1, waiting.size(), all.toPrettyString());
            JsonNode onlyWaiting = f.get("/sessions?state=waiting").json();
            assertEquals(1, onlyWaiting.size(), onlyWaiting.toPrettyString());
            assertEquals(waiting.get(0).path("id").asLong(), onlyWaiting.get(0).path("id").asLong());
            assertEquals(1, f.get("/sessions?limit=1").json().size());
            assertEquals(400, f.get("/sessions?limit=lots").status());
            JsonNode w = waiting.get(0);
            assertEquals("admin-it-waiter", w.path("program_name").asText());
            assertTrue(w.path("backend").isNull(), "a waiting session holds no backend");
            assertTrue(w.path("command_ms").asLong() >= 0);
            assertEquals(0, w.path("pins").size());
            assertTrue(w.path("transaction_ms").isNull());
            JsonNode h = sessions(all, USER, "idle").get(0);
            assertEquals("admin-it-holder", h.path("program_name").asText());
            assertEquals(USER, h.path("backend").path("pool").asText());
            assertTrue(h.path("backend").path("thread_id").asLong() > 0, h.toPrettyString());
            assertFalse(h.path("in_transaction").asBoolean());
            assertEquals("session", h.path("mode").asText());

            // Killing the waiter withdraws its request; its driver sees the connection end.
            var killed = f.post("/sessions/" + w.path("id").asLong() + "/kill");
            assertEquals(200, killed.status(), killed.body());
            assertEquals("waiting", killed.json().path("session").path("state").asText());
            ExecutionException e = assertThrows(ExecutionException.class, () -> waiter.get(20, TimeUnit.SECONDS));
            assertInstanceOf(IllegalStateException.class, e.getCause());
            f.await("/stats", st -> pool(st, USER).path("waiting").asInt() == 0
                    && st.path("clients_by_user").path(USER).asInt() == 1, Duration.ofSeconds(10));

            // The holder runs a long query: shown as "query" with its statement and time; kill ends it.
            CompletableFuture<Throwable> query = CompletableFuture.supplyAsync(() -> {
                try (Statement s = holder.createStatement()) {
                    s.executeQuery("SELECT SLEEP(20) AS admin_it_sleep");
                    return null;
                } catch (SQLException ex) {
                    return ex;
                }
            });
            JsonNode running = f.await("/sessions", ss -> !sessions(ss, USER, "query").isEmpty(), Duration.ofSeconds(10));
            JsonNode q = sessions(running, USER, "query").get(0);
            assertEquals("COM_QUERY", q.path("command").asText());
            assertTrue(q.path("statement").asText().startsWith("SELECT SLEEP(20) AS admin_it_sleep"), q.toPrettyString());
            assertTrue(q.path("command_ms").asLong() >= 0);
            long start = System.nanoTime();
            assertEquals(200, f.post("/sessions/" + q.path("id").asLong() + "/kill").status());
            Throwable failure = query.get(20, TimeUnit.SECONDS);
            assertInstanceOf(SQLException.class, failure, "the killed session's query must fail");
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(15), "kill must not wait for SLEEP(20)");
            // Its backend was mid-response, so it is discarded: the server ends the query too.
            assertEquals(0, server.awaitConnectionCount(USER, 0, Duration.ofSeconds(30)));
            f.await("/sessions", ss -> sessions(ss, USER, null).isEmpty(), Duration.ofSeconds(10));
        }
    }
}
