package io.sluice.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

import static io.sluice.admin.AdminFixture.pool;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GET /config and POST /reload: the config file is rewritten and reloaded while clients stay
 * connected; reloadable keys take effect, the others are reported as needing a restart, an invalid
 * file changes nothing.
 */
@ExtendWith(LeakCheckExtension.class)
class ReloadIT {
    static final String USER = "adm_reload";
    static final String PASSWORD = "adm-reload-pw";
    static final String NEW_USER = "adm_reload2";
    static final String NEW_PASSWORD = "adm-reload2-pw";
    static TestServer server;

    @TempDir
    Path dir;

    @BeforeAll
    static void users() {
        server = TestServer.shared();
        server.createUser(USER, PASSWORD);
        server.createUser(NEW_USER, NEW_PASSWORD);
    }

    private Path write(String extra) throws IOException {
        return Files.writeString(dir.resolve("sluice.conf"), AdminFixture.base(server)
                + "sluice.users." + USER + ".password = \"" + PASSWORD + "\"\n" + extra);
    }

    private AdminFixture start(Path file) {
        Supplier<SluiceConfig> source = () -> ConfigLoader.load(Optional.of(file), Map.of(), Map.of());
        return AdminFixture.start(server, source.get(), source);
    }

    @Test
    void configIsTheEffectiveConfigWithSecretsRedacted() throws Exception {
        try (AdminFixture f = start(write("sluice.admin.token = \"config-it-token\"\n"))) {
            var reply = f.get("/config");
            assertEquals(200, reply.status());
            assertFalse(reply.body().contains(PASSWORD), reply.body());
            assertFalse(reply.body().contains("config-it-token"), reply.body());
            JsonNode c = reply.json().path("sluice");
            assertEquals("<redacted>", c.path("users").path(USER).path("password").asText());
            assertEquals("<redacted>", c.path("admin").path("token").asText());
            assertEquals("30s", c.path("frontend").path("drain-timeout").asText());
            assertEquals(10, c.path("pool").path("max-per-user").asInt());
        }
    }

    @Test
    void reloadAppliesPoolSizesTimeoutsUsersAndTokenWithoutDroppingClients() throws Exception {
        Path file = write("sluice.pool { max-per-user = 1, acquire-timeout = 30s }\n");
        try (AdminFixture f = start(file); Connection held = f.connect(USER, PASSWORD, "reload-it")) {
            assertEquals(1, pool(f.get("/stats").json(), USER).path("max").asInt());

            var same = f.post("/reload");
            assertEquals(200, same.status(), same.body());
            assertFalse(same.json().path("changed").asBoolean(), same.body());

            write("sluice.pool { max-per-user = 3, acquire-timeout = 2s }\n"
                    + "sluice.users." + NEW_USER + ".password = \"" + NEW_PASSWORD + "\"\n"
                    + "sluice.listen.port = 6999\n"
                    + "sluice.admin.token = \"reloaded-token\"\n");
            var reply = f.post("/reload");
            assertEquals(200, reply.status(), reply.body());
            JsonNode r = reply.json();
            assertTrue(r.path("changed").asBoolean());
            assertEquals(List.of("sluice.admin.token", "sluice.pool.acquire-timeout", "sluice.pool.max-per-user",
                    "sluice.users." + NEW_USER), strings(r.path("applied")), reply.body());
            assertEquals(List.of("sluice.listen.port"), strings(r.path("restart_required")), reply.body());

            // The connected client noticed nothing.
            try (Statement s = held.createStatement(); ResultSet rs = s.executeQuery("SELECT 5")) {
                assertTrue(rs.next());
                assertEquals(5, rs.getInt(1));
            }
            JsonNode stats = f.get("/stats").json();
            assertEquals(3, pool(stats, USER).path("max").asInt(), stats.toPrettyString());
            // The new user logs in and gets a pool of its own.
            try (Connection c = f.connect(NEW_USER, NEW_PASSWORD, "reload-it-new"); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT CURRENT_USER()")) {
                assertTrue(rs.next());
                assertTrue(rs.getString(1).startsWith(NEW_USER + "@"), rs.getString(1));
            }
            assertEquals(3, pool(f.get("/stats").json(), NEW_USER).path("max").asInt());
            // The token now guards actions; the effective config shows what runs.
            assertEquals(401, f.post("/pause").status());
            JsonNode config = f.get("/config").json().path("sluice");
            assertEquals("2s", config.path("pool").path("acquire-timeout").asText());
            assertEquals(0, config.path("listen").path("port").asInt(), "listen.port is not reloadable");
            assertEquals(Duration.ofSeconds(2), f.proxy.pools().config().acquireTimeout());
        }
    }

    @Test
    void loweringThePoolMaxClosesSurplusIdleBackends() throws Exception {
        Path file = write("sluice.pool { max-per-user = 2 }\n");
        try (AdminFixture f = start(file)) {
            Connection a = f.connect(USER, PASSWORD, "reload-it-a");
            Connection b = f.connect(USER, PASSWORD, "reload-it-b");
            assertEquals(2, server.awaitConnectionCount(USER, 2, Duration.ofSeconds(5)));
            a.close();
            b.close();
            f.await("/stats", st -> pool(st, USER).path("idle").asInt() == 2, Duration.ofSeconds(10));

            write("sluice.pool { max-per-user = 1 }\n");
            var reply = f.post("/reload");
            assertEquals(List.of("sluice.pool.max-per-user"), strings(reply.json().path("applied")), reply.body());
            assertEquals(1, server.awaitConnectionCount(USER, 1, Duration.ofSeconds(10)), "the server sees the surplus go");
            JsonNode p = f.await("/stats", st -> pool(st, USER).path("idle").asInt() == 1, Duration.ofSeconds(10));
            assertEquals(1, pool(p, USER).path("max").asInt());
        }
    }

    @Test
    void anInvalidFileChangesNothing() throws Exception {
        Path file = write("sluice.pool { max-per-user = 2 }\n");
        try (AdminFixture f = start(file)) {
            write("sluice.pool { max-per-user = 0, acquire-timeout = 1s }\n");
            var reply = f.post("/reload");
            assertEquals(400, reply.status(), reply.body());
            assertEquals("invalid_config", reply.json().path("error").asText());
            assertTrue(strings(reply.json().path("problems")).stream()
                    .anyMatch(p -> p.startsWith("sluice.pool.max-per-user: must be at least 1")), reply.body());
            assertEquals(2, pool(f.get("/stats").json(), USER).path("max").asInt());
            assertEquals(Duration.ofSeconds(5), f.proxy.pools().config().acquireTimeout());
        }
    }

    @Test
    void withoutAConfigSourceReloadIsNotImplemented() {
        try (AdminFixture f = AdminFixture.start(server, "sluice.users." + USER + ".password = \"" + PASSWORD + "\"\n")) {
            var reply = f.post("/reload");
            assertEquals(501, reply.status());
            assertEquals("not_implemented", reply.json().path("error").asText());
        }
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
