package io.sluice.admin;

import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.sluice.admin.AdminFixture.pool;
import static io.sluice.admin.AdminFixture.sessions;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * POST /pause and /resume: while paused no backend is handed out or opened (a new client's first
 * query waits, and the server sees no new connection), sessions that hold a backend keep working,
 * /ready answers 503; resume serves the waiter.
 */
@ExtendWith(LeakCheckExtension.class)
class PauseIT {
    static final String USER = "adm_pause";
    static final String PASSWORD = "adm-pause-pw";
    static TestServer server;

    @BeforeAll
    static void users() {
        server = TestServer.shared();
        server.createUser(USER, PASSWORD);
    }

    @Test
    void pausedQueryWaitsAndResumeReleasesIt() throws Exception {
        try (AdminFixture f = AdminFixture.start(server, "sluice.users." + USER + ".password = \"" + PASSWORD + "\"\n"
                + "sluice.pool { max-per-user = 3, acquire-timeout = 30s }\n");
             Connection working = f.connect(USER, PASSWORD, "pause-it-working")) {
            assertEquals(1, server.awaitConnectionCount(USER, 1, Duration.ofSeconds(5)));

            var paused = f.post("/pause");
            assertEquals(200, paused.status(), paused.body());
            assertTrue(paused.json().path("paused").asBoolean());
            var ready = f.get("/ready");
            assertEquals(503, ready.status());
            assertTrue(ready.json().path("reasons").get(0).asText().startsWith("paused"), ready.body());
            assertTrue(f.get("/stats").json().path("paused").asBoolean());

            // Open work goes on: this session holds its backend (session mode).
            try (Statement s = working.createStatement(); ResultSet rs = s.executeQuery("SELECT 41 + 1")) {
                assertTrue(rs.next());
                assertEquals(42, rs.getInt(1));
            }

            // A new client's first query waits, although the pool has room.
            CompletableFuture<Integer> late = CompletableFuture.supplyAsync(() -> {
                try (Connection c = f.connect(USER, PASSWORD, "pause-it-late"); Statement s = c.createStatement();
                     ResultSet rs = s.executeQuery("SELECT 7")) {
                    rs.next();
                    return rs.getInt(1);
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            JsonNode stats = f.await("/stats", st -> pool(st, USER).path("waiting").asInt() == 1, Duration.ofSeconds(20));
            assertEquals(1, pool(stats, USER).path("busy").asInt(), stats.toPrettyString());
            assertEquals(1, sessions(f.get("/sessions").json(), USER, "waiting").size());
            Thread.sleep(300);
            assertFalse(late.isDone(), "no backend may be handed out while paused");
            assertEquals(1, server.connectionCount(USER), "no backend may be opened while paused");

            var resumed = f.post("/resume");
            assertEquals(200, resumed.status());
            assertFalse(resumed.json().path("paused").asBoolean());
            assertEquals(7, late.get(20, TimeUnit.SECONDS));
            assertEquals(200, f.get("/ready").status());
            assertEquals(0, pool(f.get("/stats").json(), USER).path("waiting").asInt());
        }
    }

    @Test
    void aRequestPausedPastTheAcquireTimeoutIsToldWhy() throws Exception {
        try (AdminFixture f = AdminFixture.start(server, "sluice.users." + USER + ".password = \"" + PASSWORD + "\"\n"
                + "sluice.pool { acquire-timeout = 400ms }\n")) {
            assertEquals(200, f.post("/pause").status());
            SQLException e = assertThrows(SQLException.class, () -> {
                try (Connection c = f.connect(USER, PASSWORD, "pause-it-timeout")) {
                    c.createStatement().executeQuery("SELECT 1").close();
                }
            });
            assertTrue(e.getMessage().contains("Sluice is paused by an operator"), e.getMessage());
            assertEquals(1, pool(f.get("/stats").json(), USER).path("rejections").path("timeout").asInt());
            assertEquals(200, f.post("/resume").status());
            try (Connection c = f.connect(USER, PASSWORD, "pause-it-after"); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT 1")) {
                assertTrue(rs.next());
            }
        }
    }
}
