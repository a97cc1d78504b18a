package io.sluice.admin;

import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The reload report's key paths, including changes the rendered config redacts. */
class ReloadTest {
    private static final String BASE = "sluice.users { app { password = \"pw\" }, \"app.rw\" { password = \"rw\" } }\n";

    @Test
    void sameConfigHasNoDifferences() {
        SluiceConfig c = ConfigLoader.parse(BASE);
        assertEquals(List.of(), Reload.diff(c, ConfigLoader.parse(BASE)));
        assertFalse(Reload.compare(c, c, c).changed());
    }

    @Test
    void plainKeysAreNamedByTheirPath() {
        SluiceConfig a = ConfigLoader.parse(BASE);
        SluiceConfig b = ConfigLoader.parse(BASE + "sluice.pool { max-per-user = 3, acquire-timeout = 2s }\n"
                + "sluice.frontend.drain-timeout = 5s\n");
        assertEquals(List.of("sluice.frontend.drain-timeout", "sluice.pool.acquire-timeout", "sluice.pool.max-per-user"),
                Reload.diff(a, b));
    }

    @Test
    void redactedSecretsStillCountAsChanges() {
        SluiceConfig a = ConfigLoader.parse(BASE);
        SluiceConfig b = ConfigLoader.parse(BASE.replace("\"rw\"", "\"rw2\"") + "sluice.admin.token = \"t\"\n");
        assertEquals(List.of("sluice.admin.token", "sluice.users.\"app.rw\""), Reload.diff(a, b));
    }

    @Test
    void aChangedLookupPasswordCountsAsAChange() {
        String auth = "sluice.auth { source = server, lookup-user = lk, lookup-password = \"one\" }\n";
        SluiceConfig a = ConfigLoader.parse(BASE + auth);
        SluiceConfig b = ConfigLoader.parse(BASE + auth.replace("one", "two") + "sluice.auth.cache-ttl = 1m\n");
        assertEquals(List.of("sluice.auth.cache-ttl", "sluice.auth.lookup-password"), Reload.diff(a, b));
    }

    @Test
    void whatWasNotAppliedNeedsARestart() {
        SluiceConfig before = ConfigLoader.parse(BASE);
        SluiceConfig requested = ConfigLoader.parse(BASE + "sluice.listen.port = 7000\nsluice.pool.global-max = 50\n");
        SluiceConfig applied = ConfigLoader.parse(BASE + "sluice.pool.global-max = 50\n");
        Reload.Outcome o = Reload.compare(before, requested, applied);
        assertTrue(o.changed());
        assertEquals(List.of("sluice.pool.global-max"), o.applied());
        assertEquals(List.of("sluice.listen.port"), o.restartRequired());
    }
}
