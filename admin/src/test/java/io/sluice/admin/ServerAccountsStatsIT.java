package io.sluice.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** /stats lists the accounts learned from the server (sluice.auth.source = server); neither it nor /config shows a hash. */
@ExtendWith(LeakCheckExtension.class)
class ServerAccountsStatsIT {

    @Test
    void statsShowLearnedAccountsAndNothingSecret() throws Exception {
        TestServer server = TestServer.shared();
        server.execute("DROP USER IF EXISTS 'st_lookup'@'%', 'st_app'@'%'",
                "CREATE USER 'st_lookup'@'%' IDENTIFIED BY 'st-lookup-pw'",
                "GRANT SELECT ON mysql.global_priv TO 'st_lookup'@'%'",
                "CREATE USER 'st_app'@'%' IDENTIFIED BY 'st-app-pw'");
        String hash = server.queryString("SELECT JSON_VALUE(Priv, '$.authentication_string') FROM mysql.global_priv "
                + "WHERE User = 'st_app'");
        io.sluice.config.SluiceConfig sluiceConfig = io.sluice.config.ConfigLoader.parse(AdminFixture.base(server)
                + "sluice.auth { source = server, lookup-user = st_lookup, lookup-password = \"st-lookup-pw\" }\n");
        try (AdminFixture f = AdminFixture.start(server, sluiceConfig, () -> sluiceConfig)) {
            String url = "jdbc:mysql://127.0.0.1:" + f.proxy.port() + "/?useSSL=false&allowPublicKeyRetrieval=true";
            try (Connection c = DriverManager.getConnection(url, "st_app", "st-app-pw")) {
                assertTrue(c.isValid(2));
            }
            assertThrows(SQLException.class, () -> DriverManager.getConnection(url, "st_nobody", "x"));

            AdminFixture.Reply stats = f.get("/stats");
            JsonNode accounts = stats.json().path("server_accounts");
            assertEquals("st_lookup", accounts.path("lookup_user").asText());
            assertEquals(2, accounts.path("lookups").asLong(), stats.body());
            assertEquals(1, accounts.path("unknown_cached").asLong(), stats.body());
            JsonNode a = accounts.path("accounts").get(0);
            assertEquals("st_app", a.path("name").asText());
            assertEquals("%", a.path("host").asText());
            assertEquals("mysql_native_password", a.path("plugin").asText());
            assertFalse(a.path("locked").asBoolean());
            assertTrue(a.path("learned_at").asText().endsWith("Z"), a.toString());
            assertTrue(a.path("expires_at").asText().compareTo(a.path("learned_at").asText()) > 0, a.toString());
            assertTrue(AdminFixture.pool(stats.json(), "st_app") != null, "the account has its pool: " + stats.body());

            String config = f.get("/config").body();
            for (String body : new String[] {stats.body(), config, f.get("/sessions").body()}) {
                assertFalse(body.contains(hash.substring(1)), "a hash shown: " + body);
                assertFalse(body.contains("st-lookup-pw") || body.contains("st-app-pw"), body);
                assertFalse(body.contains("native-stage1"), body);
            }
            assertTrue(config.contains("\"lookup-user\" : \"st_lookup\""), config);

            // POST /reload drops what was learned: the next login reads the account again.
            assertEquals(200, f.post("/reload").status());
            JsonNode after = f.get("/stats").json().path("server_accounts");
            assertEquals(0, after.path("accounts").size(), after.toString());
            try (Connection c = DriverManager.getConnection(url, "st_app", "st-app-pw")) {
                assertTrue(c.isValid(2));
            }
            assertEquals(3, f.get("/stats").json().path("server_accounts").path("lookups").asLong());

            // With no configured user, the doctor logs in as the lookup account.
            AdminFixture.Reply doctor = f.get("/doctor");
            assertEquals(200, doctor.status(), doctor.body());
            assertTrue(doctor.json().path("server").path("account").asText().startsWith("st_lookup@"), doctor.body());
        }
    }
}
