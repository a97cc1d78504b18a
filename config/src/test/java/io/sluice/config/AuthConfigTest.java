package io.sluice.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@code sluice.auth}: logins checked against the server's own accounts. */
class AuthConfigTest {

    static final String SERVER = "sluice.auth { source = server, lookup-user = sluice_lookup, lookup-password = \"l00kup\" }\n";

    @Test
    void defaultIsConfiguredUsersOnly() {
        SluiceConfig c = ConfigLoader.parse(ValidationTest.USER);
        assertEquals(AuthConfig.Source.CONFIG, c.auth().source());
        assertFalse(c.auth().fromServer());
        assertEquals(Duration.ofMinutes(5), c.auth().cacheTtl());
        assertEquals(Duration.ofSeconds(10), c.auth().negativeCacheTtl());
        assertEquals(50, c.auth().maxLookupsPerSecond());
        assertEquals(10_000, c.auth().maxCachedAccounts());
        assertEquals(2, c.auth().lookupPoolMax());
    }

    @Test
    void emptyUsersAreRefusedWithConfigSourceAndTheMessageSaysWhatElseWorks() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse("sluice.users = {}"));
        ValidationTest.assertContains(e, "sluice.users: at least one user is required (or set sluice.auth.source = server");
    }

    @Test
    void serverSourceRunsWithNoUserList() {
        SluiceConfig c = ConfigLoader.parse(SERVER + "sluice.auth { cache-ttl = 30s, negative-cache-ttl = 0s, "
                + "max-lookups-per-second = 7, max-cached-accounts = 9, lookup-pool-max = 3 }");
        assertTrue(c.users().isEmpty());
        assertTrue(c.auth().fromServer());
        assertEquals(Optional.of("sluice_lookup"), c.auth().lookupUser());
        assertEquals(Optional.of("l00kup"), c.auth().lookupPassword());
        assertEquals(Duration.ofSeconds(30), c.auth().cacheTtl());
        assertEquals(Duration.ZERO, c.auth().negativeCacheTtl());
        assertEquals(7, c.auth().maxLookupsPerSecond());
        assertEquals(9, c.auth().maxCachedAccounts());
        assertEquals(3, c.auth().lookupPoolMax());
    }

    @Test
    void lookupPasswordFromTheEnvironment() {
        SluiceConfig c = ConfigLoader.load(Optional.empty(), Map.of("sluice.auth.source", "server",
                "sluice.auth.lookup-user", "lk", "sluice.auth.lookup-password-env", "LOOKUP_PW"), Map.of("LOOKUP_PW", "from-env"));
        assertEquals(Optional.of("from-env"), c.auth().lookupPassword());
    }

    @Test
    void serverSourceNeedsTheLookupAccount() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse("sluice.auth.source = server"));
        ValidationTest.assertContains(e, "sluice.auth.lookup-user: is required with sluice.auth.source = server");
        ValidationTest.assertContains(e, "sluice.auth: needs exactly one of lookup-password, lookup-password-env, "
                + "lookup-password-file with source = server");
    }

    @Test
    void onlyOneLookupPasswordSource() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse(SERVER
                + "sluice.auth.lookup-password-file = /nonexistent"));
        ValidationTest.assertContains(e, "sluice.auth: needs exactly one of");
    }

    @Test
    void badValuesAreNamed() {
        ValidationTest.assertProblem("sluice.auth.source = ldap", "sluice.auth.source: must be one of");
        ValidationTest.assertProblem("sluice.auth.cache-ttl = 0s", "sluice.auth.cache-ttl:");
        ValidationTest.assertProblem("sluice.auth.max-lookups-per-second = 0",
                "sluice.auth.max-lookups-per-second: must be between 1 and 100000");
        ValidationTest.assertProblem("sluice.auth.max-cached-accounts = 0",
                "sluice.auth.max-cached-accounts: must be between 1 and 1000000");
        ValidationTest.assertProblem("sluice.pool.global-max = 5\nsluice.auth.lookup-pool-max = 6",
                "sluice.auth.lookup-pool-max: must be between 1 and sluice.pool.global-max (5)");
    }

    @Test
    void withServerSourceAnEntryWithoutPasswordHoldsPoolSettingsOnly() {
        SluiceConfig c = ConfigLoader.parse(SERVER + "sluice.users.reports { pool-max = 3, pool-mode = session, priority = true }");
        UserConfig u = c.users().get("reports");
        assertTrue(u.settingsOnly());
        assertEquals(3, u.poolMax().getAsInt());
        assertEquals(Optional.of(PoolMode.SESSION), u.poolMode());
        assertTrue(u.priority());
        assertFalse(ConfigLoader.render(c).contains("backend-password"), "a settings-only entry has no backend password");
    }

    @Test
    void aSettingsOnlyEntryCannotNameABackendAccountOrPassword() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse(SERVER
                + "sluice.users.reports { backend-password = x }"));
        ValidationTest.assertContains(e, "sluice.users.reports.backend-password: cannot be set on an entry without password");
    }

    @Test
    void withoutServerSourceAnEntryStillNeedsAPassword() {
        ValidationTest.assertProblem("sluice.users.reports { pool-max = 3 }", "sluice.users.reports: needs exactly one of");
    }

    @Test
    void renderedConfigHidesTheLookupPasswordAndLoadsBack() {
        SluiceConfig c = ConfigLoader.parse(SERVER);
        String out = ConfigLoader.render(c);
        assertFalse(out.contains("l00kup"), out);
        assertTrue(out.contains("\"lookup-password\" : \"<redacted>\""), out);
        assertFalse(c.auth().toString().contains("l00kup"));
        SluiceConfig back = ConfigLoader.parse(out.replace("<redacted>", "l00kup"));
        assertEquals(c.auth(), back.auth());
    }
}
