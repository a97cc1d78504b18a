package io.sluice.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TcpRelay;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code GET /doctor}: the doctor's diagnosis of the server Sluice fronts, logged in as a configured
 * user's backend account, with Sluice's own view (clients, pools, pinned sessions) taken in-process;
 * run off the admin event loop, so other routes answer meanwhile, and cut at the timeout with 504.
 */
@ExtendWith(LeakCheckExtension.class)
class DoctorEndpointIT {
    static final String FIRST = "adm_doctor_a";
    static final String SECOND = "adm_doctor_b";
    static final String PASSWORD = "adm-doctor-pw";
    static TestServer server;

    @BeforeAll
    static void createUsers() {
        server = TestServer.shared();
        server.createUser(FIRST, PASSWORD);
        server.createUser(SECOND, PASSWORD);
    }

    private static String users() {
        return "sluice.users." + FIRST + " { password = \"" + PASSWORD + "\", pool-mode = transaction }\n"
                + "sluice.users." + SECOND + " { password = \"" + PASSWORD + "\" }\n";
    }

    @Test
    void diagnosesTheFrontedServerWithSluicesOwnView() throws Exception {
        try (AdminFixture f = AdminFixture.start(server, users());
             Connection client = f.connect(FIRST, PASSWORD, "doctor-endpoint-it")) {
            // One client through Sluice, pinned by an open transaction.
            client.setAutoCommit(false);
            try (Statement s = client.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
                assertTrue(rs.next());
            }
            f.await("/sessions", ss -> ss.path(0).path("pins").size() == 1, Duration.ofSeconds(5));

            var reply = f.get("/doctor");
            assertEquals(200, reply.status(), reply.body());
            assertTrue(reply.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
            JsonNode d = reply.json();
            assertEquals(server.host() + ":" + server.port(), d.path("server").path("endpoint").asText(), reply.body());
            assertTrue(d.path("server").path("account").asText().startsWith(FIRST + "@"),
                    "the first user's backend account logs in: " + d.path("server"));
            assertTrue(d.path("findings").size() >= 1, reply.body());
            assertTrue(d.path("severity").asText().matches("OK|WARNING|CRITICAL"), d.path("severity").asText());
            assertEquals(d.path("findings").get(0).path("severity").asText(), d.path("severity").asText());
            assertTrue(d.path("connections").path("max_connections").asInt() > 0, d.path("connections").toString());

            JsonNode sluice = d.path("sluice");
            assertEquals(f.url(""), sluice.path("url").asText());
            assertTrue(sluice.path("error").isNull(), sluice.toPrettyString());
            assertEquals(1, sluice.path("clients").asInt(), sluice.toPrettyString());
            assertEquals(1, sluice.path("pinned").asInt(), "the session pinned by its transaction: " + sluice.toPrettyString());
            assertEquals(100, sluice.path("global_max").asInt());
            boolean pool = false;
            for (JsonNode p : sluice.path("pools")) {
                pool |= p.path("name").asText().equals(FIRST) && p.path("busy").asInt() == 1;
            }
            assertTrue(pool, "the pool with the pinned backend: " + sluice.path("pools"));
            // The statements Sluice counted (GET /digests), which the doctor names under genuine load.
            boolean counted = false;
            for (JsonNode st : sluice.path("statements")) {
                counted |= st.path("digest").asText().equals("SELECT ?") && st.path("user").asText().equals(FIRST)
                        && st.path("count").asInt() == 1 && st.path("total_time_ms").asDouble() > 0;
            }
            assertTrue(counted, "SELECT 1 among the statements: " + sluice.path("statements"));

            // ?user= picks another account; the what-if options are the CLI's.
            var second = f.get("/doctor?user=" + SECOND + "&instances=3&idle_threshold=5");
            assertEquals(200, second.status(), second.body());
            assertTrue(second.json().path("server").path("account").asText().startsWith(SECOND + "@"), second.body());
            assertEquals(3, second.json().path("recommendations").path("pool_sizing").path("instances").asInt(), second.body());

            var unknown = f.get("/doctor?user=nobody");
            assertEquals(404, unknown.status());
            assertTrue(unknown.json().path("message").asText().startsWith("no user 'nobody' in sluice.users"), unknown.body());
            var bad = f.get("/doctor?instances=-1");
            assertEquals(400, bad.status());
            assertEquals("instances must be a whole number >= 0, got -1", bad.json().path("message").asText());
            assertEquals(405, f.post("/doctor").status());
            client.rollback();
        }
        assertEquals(0, server.awaitConnectionCount(FIRST, 0, Duration.ofSeconds(10)), "the doctor's own login ended");
    }

    @Test
    void aServerThatDoesNotAnswerIsA504AndTheEndpointStaysResponsive() throws Exception {
        try (TcpRelay relay = TcpRelay.start(server.host(), server.port());
             AdminFixture f = AdminFixture.start(server, users() + "sluice.server { host = \"" + relay.host()
                     + "\", port = " + relay.port() + ", connect-timeout = 5s }\n")) {
            relay.pause();
            f.admin.doctorTimeout(Duration.ofSeconds(2));
            long started = System.nanoTime();
            CompletableFuture<AdminFixture.Reply> doctor = CompletableFuture.supplyAsync(() -> f.get("/doctor"));
            Thread.sleep(300);
            // The JDBC login hangs on a worker thread, not on the admin loop.
            long health = System.nanoTime();
            assertEquals(200, f.get("/health").status());
            assertTrue(System.nanoTime() - health < TimeUnit.SECONDS.toNanos(1), "/health waited for /doctor");
            assertFalse(doctor.isDone());

            var reply = doctor.get(20, TimeUnit.SECONDS);
            long took = System.nanoTime() - started;
            assertEquals(504, reply.status(), reply.body());
            assertEquals("timeout", reply.json().path("error").asText());
            assertTrue(reply.json().path("message").asText().contains("did not finish within 2000 ms"), reply.body());
            assertTrue(took >= TimeUnit.MILLISECONDS.toNanos(1900) && took < TimeUnit.SECONDS.toNanos(10), took / 1_000_000 + " ms");
            assertEquals(200, f.get("/stats").status(), "the endpoint keeps answering after a 504");
        }
    }

    /**
     * A server out of file descriptors: the TCP handshake completes into the listen backlog, no
     * greeting ever comes (a socket nobody accepts on). The answer comes after
     * sluice.server.connect-timeout, not the 30 s limit, and says what it saw without a login.
     */
    @Test
    void aServerThatNeverGreetsIsA502WithinTheConnectTimeoutNamingItsListener() throws Exception {
        try (ServerSocket mute = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             AdminFixture f = AdminFixture.start(server, users() + "sluice.server { host = \"127.0.0.1\", port = "
                     + mute.getLocalPort() + ", connect-timeout = 1s }\n")) {
            long started = System.nanoTime();
            var reply = f.get("/doctor");
            long took = (System.nanoTime() - started) / 1_000_000;
            assertEquals(502, reply.status(), reply.body());
            assertTrue(took < 10_000, took + " ms: " + reply.body());
            assertEquals("server_unreachable", reply.json().path("error").asText(), reply.body());
            assertTrue(reply.json().path("message").asText().contains("accepted the connection but sent no greeting within 1 s"),
                    reply.body());
            assertTrue(reply.json().path("server_process").toString().contains("pid " + ProcessHandle.current().pid()),
                    "the listener, found in /proc: " + reply.body());
        }
    }

    @Test
    void aRefusedLoginIsA502WithTheServersError() {
        try (AdminFixture f = AdminFixture.start(server, users() + "sluice.users.adm_doctor_wrong { password = \"x\", "
                + "backend-user = " + SECOND + ", backend-password = \"not-the-password\" }\n")) {
            var reply = f.get("/doctor?user=adm_doctor_wrong");
            assertEquals(502, reply.status(), reply.body());
            assertEquals("server_error", reply.json().path("error").asText());
            assertEquals(1045, reply.json().path("server_error_code").asInt(), reply.body());
            assertTrue(reply.json().path("message").asText().contains("as " + SECOND + " (the backend account of user 'adm_doctor_wrong')"),
                    reply.body());
            assertFalse(reply.body().contains("not-the-password"), "no secret in the answer");
        }
    }
}
