package io.sluice.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One test per validation rule: each asserts that the message names the key path, says what is
 * wrong and shows the bad value (or hides it for secrets).
 */
class ValidationTest {

    /** The one user every config needs, so each test breaks exactly one rule. */
    static final String USER = "sluice.users.app.password = \"s3cret-pw\"\n";

    @TempDir
    Path dir;

    // ---- ports and counts -----------------------------------------------------------------------

    @Test
    void listenPortAbove65535() {
        assertProblem("sluice.listen.port = 70000", "sluice.listen.port: must be between 0 and 65535 (got 70000)");
    }

    @Test
    void listenPortNegative() {
        assertProblem("sluice.listen.port = -1", "sluice.listen.port: must be between 0 and 65535 (got -1)");
    }

    @Test
    void listenAndAdminPortZeroMeansPickAFreePort() {
        SluiceConfig config = ConfigLoader.parse(USER + "sluice.listen.port = 0\nsluice.admin.port = 0");
        assertEquals(0, config.listen().port());
        assertEquals(0, config.admin().port());
    }

    @Test
    void serverPortZero() {
        assertProblem("sluice.server.port = 0", "sluice.server.port: must be between 1 and 65535 (got 0)");
    }

    @Test
    void adminPortAbove65535() {
        assertProblem("sluice.admin.port = 65536", "sluice.admin.port: must be between 0 and 65535 (got 65536)");
    }

    @Test
    void adminPortSameAsListenPort() {
        assertProblem("sluice.admin.port = 6033",
                "sluice.admin.port: must differ from sluice.listen.port on the same address (got 6033)");
    }

    @Test
    void adminPortSameAsListenPortIsFineWhenAdminIsDisabled() {
        ConfigLoader.parse(USER + "sluice.admin { port = 6033, enabled = false }");
    }

    @Test
    void fleetSizeAtLeastOne() {
        assertProblem("sluice.server.fleet-size = 0", "sluice.server.fleet-size: must be between 1 and 100000 (got 0)");
    }

    @Test
    void headroomNotNegative() {
        assertProblem("sluice.server.headroom = -1", "sluice.server.headroom: must be between 0 and 100000 (got -1)");
    }

    @Test
    void portNotANumber() {
        assertProblem("sluice.listen.port = \"abc\"", "sluice.listen.port: must be a whole number (got \"abc\")");
    }

    @Test
    void portWithFraction() {
        assertProblem("sluice.listen.port = 1.5", "sluice.listen.port: must be a whole number (got 1.5)");
    }

    @Test
    void busyPollAboveOneMillisecond() {
        assertProblem("sluice.listen.busy-poll = 5ms", "sluice.listen.busy-poll: must be at most 1ms (got 5ms)");
    }

    @Test
    void busyPollNeitherAWordNorADuration() {
        assertProblem("sluice.listen.busy-poll = sometimes",
                "sluice.listen.busy-poll: must be auto, off or a duration such as 50us");
        assertProblem("sluice.listen.busy-poll = -5us", "sluice.listen.busy-poll: must not be negative");
    }

    @Test
    void ioThreadsNegative() {
        assertProblem("sluice.listen.io-threads = -2", "sluice.listen.io-threads: must be at least 0 (got -2)");
    }

    @Test
    void transportUnknown() {
        assertProblem("sluice.listen.transport = kqueue",
                "sluice.listen.transport: must be one of auto, io-uring, epoll, nio (got \"kqueue\")");
    }

    @Test
    void maxClientsZero() {
        assertProblem("sluice.frontend.max-clients = 0", "sluice.frontend.max-clients: must be at least 1 (got 0)");
    }

    @Test
    void hostEmpty() {
        assertProblem("sluice.server.host = \"\"", "sluice.server.host: must not be empty (got \"\")");
    }

    // ---- pool ------------------------------------------------------------------------------------

    @Test
    void minIdleAboveMaxPerUser() {
        assertProblem("sluice.pool { max-per-user = 5, min-idle = 6 }",
                "sluice.pool.min-idle: must not exceed sluice.pool.max-per-user (5) (got 6)");
    }

    @Test
    void maxPerUserZero() {
        assertProblem("sluice.pool.max-per-user = 0", "sluice.pool.max-per-user: must be at least 1 (got 0)");
    }

    @Test
    void globalMaxZero() {
        assertProblem("sluice.pool.global-max = 0", "sluice.pool.global-max: must be at least 1 (got 0)");
    }

    @Test
    void maxPerUserAboveGlobalMax() {
        assertProblem("sluice.pool { max-per-user = 20, global-max = 10 }",
                "sluice.pool.max-per-user: must not exceed sluice.pool.global-max (10) (got 20)");
    }

    @Test
    void userPoolMaxZero() {
        assertProblem("sluice.users.app.pool-max = 0", "sluice.users.app.pool-max: must be at least 1 (got 0)");
    }

    @Test
    void userPoolMaxAboveGlobalMax() {
        assertProblem("sluice.users.app.pool-max = 101",
                "sluice.users.app.pool-max: must be between 1 and sluice.pool.global-max (100) (got 101)");
    }

    @Test
    void idleTimeoutNotBelowMaxLifetime() {
        assertProblem("sluice.pool { idle-timeout = 30m, max-lifetime = 30m }",
                "sluice.pool.idle-timeout: must be less than sluice.pool.max-lifetime (30m) (got \"30m\")");
    }

    @Test
    void validationTimeoutZero() {
        assertProblem("sluice.pool.validation-timeout = 0s",
                "sluice.pool.validation-timeout: must be greater than 0s (got \"0s\")");
    }

    @Test
    void acquireTimeoutZero() {
        assertProblem("sluice.pool.acquire-timeout = 0ms",
                "sluice.pool.acquire-timeout: must be greater than 0s (got \"0ms\")");
    }

    @Test
    void limitsRefreshZero() {
        assertProblem("sluice.server.limits-refresh = 0s",
                "sluice.server.limits-refresh: must be greater than 0s (got \"0s\")");
    }

    @Test
    void resetTimeoutDefaultsToFiveSecondsAndMustBePositive() {
        assertEquals(Duration.ofSeconds(5), ConfigLoader.parse(USER).pool().resetTimeout());
        assertProblem("sluice.pool.reset-timeout = 0s", "sluice.pool.reset-timeout: must be greater than 0s (got \"0s\")");
    }

    @Test
    void durationNegative() {
        assertProblem("sluice.server.connect-timeout = -5s",
                "sluice.server.connect-timeout: must not be negative (got \"-5s\")");
    }

    @Test
    void durationUnparseable() {
        assertProblem("sluice.frontend.auth-timeout = soon",
                "sluice.frontend.auth-timeout: must be a duration such as 500ms, 5s or 10m (got \"soon\")");
    }

    @Test
    void durationOfWrongType() {
        assertProblem("sluice.pool.max-lifetime = [1, 2]",
                "sluice.pool.max-lifetime: must be a duration such as 500ms, 5s or 10m (got [1,2])");
    }

    @Test
    void durationWithoutAUnitIsRefused() {
        // HOCON would read a bare 5 as 5 ms: --acquire-timeout 5 meant 5 s to whoever typed it.
        assertProblem("sluice.pool.acquire-timeout = 5",
                "sluice.pool.acquire-timeout: needs a unit, e.g. 5s or 500ms; a bare number is ambiguous (got 5)");
        assertProblem("sluice.frontend.idle-timeout = \"30\"",
                "sluice.frontend.idle-timeout: needs a unit, e.g. 5s or 500ms; a bare number is ambiguous (got \"30\")");
        assertProblem("sluice.listen.busy-poll = 50",
                "sluice.listen.busy-poll: needs a unit, e.g. 5s or 500ms; a bare number is ambiguous (got 50)");
    }

    @Test
    void durationWithoutAUnitIsRefusedFromFlagsAndEnvironmentToo() {
        ConfigException flag = assertThrows(ConfigException.class, () -> ConfigLoader.load(java.util.Optional.empty(),
                java.util.Map.of("sluice.pool.acquire-timeout", "5", "sluice.users.app.password", "pw"), java.util.Map.of()));
        assertContains(flag, "sluice.pool.acquire-timeout: needs a unit, e.g. 5s or 500ms; a bare number is ambiguous");
        ConfigException env = assertThrows(ConfigException.class, () -> ConfigLoader.load(java.util.Optional.empty(),
                java.util.Map.of("sluice.users.app.password", "pw"), java.util.Map.of("SLUICE_ACQUIRE_TIMEOUT", "5")));
        assertContains(env, "sluice.pool.acquire-timeout: needs a unit, e.g. 5s or 500ms; a bare number is ambiguous");
    }

    @Test
    void everyDurationInTheReferenceHasAUnit() {
        SluiceConfig defaults = ConfigLoader.parse(USER);
        assertEquals(Duration.ofSeconds(5), defaults.pool().acquireTimeout());
    }

    @Test
    void adminBeyondLoopbackWithoutATokenIsRefused() {
        assertProblem("sluice.admin.host = \"0.0.0.0\"", "sluice.admin.token: must be set when sluice.admin.host (0.0.0.0) "
                + "is beyond loopback: anyone who can reach the port could read sessions, pause Sluice and kill sessions; set a "
                + "token (or token-env), bind to 127.0.0.1, or set sluice.admin.allow-no-token = true to accept that");
        assertProblem("sluice.admin.host = \"db-proxy.internal\"", "sluice.admin.token: must be set when sluice.admin.host");
    }

    @Test
    void adminBeyondLoopbackWithATokenOrAnExplicitOptOutOrOnLoopback() {
        assertTrue(ConfigLoader.parse(USER + "sluice.admin { host = \"0.0.0.0\", token = \"t\" }").admin().token().isPresent());
        AdminConfig optOut = ConfigLoader.parse(USER + "sluice.admin { host = \"0.0.0.0\", allow-no-token = true }").admin();
        assertTrue(optOut.allowNoToken() && optOut.token().isEmpty());
        for (String loopback : new String[] {"127.0.0.1", "127.0.1.1", "localhost", "::1", "[::1]"}) {
            assertFalse(ConfigLoader.parse(USER + "sluice.admin.host = \"" + loopback + "\"").admin().allowNoToken(), loopback);
        }
        assertFalse(ConfigLoader.parse(USER + "sluice.admin { host = \"0.0.0.0\", enabled = false }").admin().enabled());
    }

    @Test
    void frontendIdleTimeoutZeroMeansNever() {
        assertEquals(Duration.ZERO, ConfigLoader.parse(USER).frontend().idleTimeout());
    }

    @Test
    void drainTimeoutDefaultsToThirtySecondsAndZeroClosesAtOnce() {
        assertEquals(Duration.ofSeconds(30), ConfigLoader.parse(USER).frontend().drainTimeout());
        assertEquals(Duration.ZERO, ConfigLoader.parse(USER + "sluice.frontend.drain-timeout = 0s\n").frontend().drainTimeout());
    }

    @Test
    void drainTimeoutNegative() {
        assertProblem("sluice.frontend.drain-timeout = -1s",
                "sluice.frontend.drain-timeout: must not be negative (got \"-1s\")");
    }

    @Test
    void drainTimeoutUnparseable() {
        assertProblem("sluice.frontend.drain-timeout = forever",
                "sluice.frontend.drain-timeout: must be a duration such as 500ms, 5s or 10m (got \"forever\")");
    }

    // ---- leak detection -------------------------------------------------------------------------

    @Test
    void leakWarningDefaultsToSixtySecondsAndTimeoutToOff() {
        FrontendConfig f = ConfigLoader.parse(USER).frontend();
        assertEquals(Duration.ofSeconds(60), f.leakWarningAfter());
        assertEquals(Duration.ZERO, f.idleInTransactionTimeout());
    }

    @Test
    void leakWarningAfterNegative() {
        assertProblem("sluice.frontend.leak-warning-after = -5s",
                "sluice.frontend.leak-warning-after: must not be negative (got \"-5s\")");
    }

    @Test
    void leakWarningAfterUnparseable() {
        assertProblem("sluice.frontend.leak-warning-after = often",
                "sluice.frontend.leak-warning-after: must be a duration such as 500ms, 5s or 10m (got \"often\")");
    }

    @Test
    void idleInTransactionTimeoutNegative() {
        assertProblem("sluice.frontend.idle-in-transaction-timeout = -1m",
                "sluice.frontend.idle-in-transaction-timeout: must not be negative (got \"-1m\")");
    }

    @Test
    void idleInTransactionTimeoutNotAboveLeakWarning() {
        assertProblem("sluice.frontend { leak-warning-after = 60s, idle-in-transaction-timeout = 60s }",
                "sluice.frontend.idle-in-transaction-timeout: must be greater than sluice.frontend.leak-warning-after "
                        + "(1m) when both are set; 0s turns either off (got \"60s\")");
    }

    @Test
    void idleInTransactionTimeoutWithLeakWarningOffOrBelowIt() {
        FrontendConfig off = ConfigLoader.parse(USER + "sluice.frontend { leak-warning-after = 0s, "
                + "idle-in-transaction-timeout = 10s }").frontend();
        assertEquals(Duration.ZERO, off.leakWarningAfter());
        assertEquals(Duration.ofSeconds(10), off.idleInTransactionTimeout());
        FrontendConfig both = ConfigLoader.parse(USER + "sluice.frontend { leak-warning-after = 30s, "
                + "idle-in-transaction-timeout = 5m }").frontend();
        assertEquals(Duration.ofMinutes(5), both.idleInTransactionTimeout());
    }

    // ---- write buffer ---------------------------------------------------------------------------

    @Test
    void writeBufferLowNotBelowHigh() {
        assertProblem("sluice.frontend { write-buffer-low = 64KiB, write-buffer-high = 64KiB }",
                "sluice.frontend.write-buffer-low: must be less than sluice.frontend.write-buffer-high (65536 bytes)"
                        + " (got \"64KiB\")");
    }

    @Test
    void writeBufferSizeUnparseable() {
        assertProblem("sluice.frontend.write-buffer-high = lots",
                "sluice.frontend.write-buffer-high: must be a size such as 32KiB or 1MiB (got \"lots\")");
    }

    @Test
    void writeBufferAboveIntRange() {
        assertProblem("sluice.frontend.write-buffer-high = 4GiB",
                "sluice.frontend.write-buffer-high: must be between 0 and 2147483647 bytes (got \"4GiB\")");
    }

    // ---- TLS and RSA ----------------------------------------------------------------------------

    @Test
    void frontendTlsEnabledNeedsCertAndKey() {
        ConfigException e = problems("sluice.frontend.tls.enabled = true");
        assertContains(e, "sluice.frontend.tls.cert-file: required when sluice.frontend.tls.enabled = true (got \"\")");
        assertContains(e, "sluice.frontend.tls.key-file: required when sluice.frontend.tls.enabled = true (got \"\")");
    }

    @Test
    void frontendTlsFilesMustExist() throws IOException {
        Path cert = Files.writeString(dir.resolve("cert.pem"), "pem");
        Path missing = dir.resolve("missing-key.pem");
        ConfigException e = problems("sluice.frontend.tls { enabled = true, cert-file = \"" + hocon(cert)
                + "\", key-file = \"" + hocon(missing) + "\" }");
        assertContains(e, "sluice.frontend.tls.key-file: file does not exist (got \"" + hocon(missing) + "\")");
        assertEquals(1, e.problems().size(), e.getMessage());
    }

    @Test
    void frontendTlsFileMustBeAFile() throws IOException {
        Path key = Files.writeString(dir.resolve("key.pem"), "pem");
        assertProblem("sluice.frontend.tls { enabled = true, cert-file = \"" + hocon(dir) + "\", key-file = \""
                + hocon(key) + "\" }", "sluice.frontend.tls.cert-file: is not a regular file (got \"" + hocon(dir) + "\")");
    }

    @Test
    void frontendTlsEnabledWithFiles() throws IOException {
        Path cert = Files.writeString(dir.resolve("cert.pem"), "pem");
        Path key = Files.writeString(dir.resolve("key.pem"), "pem");
        SluiceConfig config = ConfigLoader.parse(USER + "sluice.frontend.tls { enabled = true, required = true,"
                + " cert-file = \"" + hocon(cert) + "\", key-file = \"" + hocon(key) + "\" }");
        assertEquals(new FrontendTlsConfig(true, java.util.Optional.of(cert), java.util.Optional.of(key), true),
                config.frontend().tls());
    }

    @Test
    void frontendTlsRequiredNeedsEnabled() {
        assertProblem("sluice.frontend.tls.required = true",
                "sluice.frontend.tls.required: needs sluice.frontend.tls.enabled = true (got true)");
    }

    @Test
    void verifyCaNeedsCaFile() {
        assertProblem("sluice.server.tls.mode = verify-ca",
                "sluice.server.tls.ca-file: required when sluice.server.tls.mode = verify-ca (got \"\")");
    }

    @Test
    void verifyCaFileMustExist() {
        Path missing = dir.resolve("ca.pem");
        assertProblem("sluice.server.tls { mode = verify-ca, ca-file = \"" + hocon(missing) + "\" }",
                "sluice.server.tls.ca-file: file does not exist (got \"" + hocon(missing) + "\")");
    }

    @Test
    void rsaKeysBothOrNeither() throws IOException {
        Path key = Files.writeString(dir.resolve("private.pem"), "pem");
        assertProblem("sluice.frontend.rsa.private-key-file = \"" + hocon(key) + "\"",
                "sluice.frontend.rsa.public-key-file: required when sluice.frontend.rsa.private-key-file is set"
                        + " (give both or neither) (got \"\")");
    }

    @Test
    void rsaKeysMustExist() throws IOException {
        Path key = Files.writeString(dir.resolve("private.pem"), "pem");
        Path missing = dir.resolve("public.pem");
        assertProblem("sluice.frontend.rsa { private-key-file = \"" + hocon(key) + "\", public-key-file = \""
                + hocon(missing) + "\" }", "sluice.frontend.rsa.public-key-file: file does not exist (got \""
                + hocon(missing) + "\")");
    }

    // ---- enums ----------------------------------------------------------------------------------

    @Test
    void poolModeUnknownListsAllowedValues() {
        assertProblem("sluice.pool.mode = statement",
                "sluice.pool.mode: must be one of session, transaction (got \"statement\")");
    }

    @Test
    void tlsModeUnknownListsAllowedValues() {
        assertProblem("sluice.server.tls.mode = verify-full",
                "sluice.server.tls.mode: must be one of disabled, preferred, required, verify-ca (got \"verify-full\")");
    }

    @Test
    void userPoolModeUnknown() {
        assertProblem("sluice.users.app.pool-mode = session-ish",
                "sluice.users.app.pool-mode: must be one of session, transaction (got \"session-ish\")");
    }

    @Test
    void enumsAreCaseInsensitive() {
        SluiceConfig config = ConfigLoader.parse(USER + "sluice.pool.mode = TRANSACTION\n"
                + "sluice.server.tls.mode = Required\nsluice.users.app.pool-mode = Session");
        assertEquals(PoolMode.TRANSACTION, config.pool().mode());
        assertEquals(BackendTlsConfig.Mode.REQUIRED, config.server().tls().mode());
        assertEquals(java.util.Optional.of(PoolMode.SESSION), config.users().get("app").poolMode());
    }

    @Test
    void booleanUnparseable() {
        assertProblem("sluice.admin.enabled = maybe", "sluice.admin.enabled: must be true or false (got \"maybe\")");
    }

    // ---- schema ---------------------------------------------------------------------------------

    @Test
    void sectionOfWrongType() {
        assertProblem("sluice.pool = 5",
                "sluice.pool: must be an object with keys acquire-timeout, global-max, idle-timeout, max-client-statements,"
                        + " max-lifetime, max-per-user, max-waiters, min-idle, mode, reserve, reset-timeout, statement-cache, validate-after-idle,"
                        + " validation-timeout (got 5)");
    }

    @Test
    void reserveMustLeaveRoomAndPriorityIsABoolean() {
        assertProblem("sluice.pool { global-max = 4, reserve = 4 }",
                "sluice.pool.reserve: must be less than sluice.pool.global-max (4): everyone else needs room too");
        assertProblem("sluice.users.app { password = pw, priority = sometimes }",
                "sluice.users.app.priority: must be true or false (got \"sometimes\")");
    }

    @Test
    void statementLimitsOutOfRange() {
        assertProblem("sluice.pool.statement-cache = 0", "sluice.pool.statement-cache: must be between 1 and 65535");
        assertProblem("sluice.pool.max-client-statements = -1", "sluice.pool.max-client-statements: must be between 1 and 1000000");
    }

    @Test
    void sectionOfWrongTypeIsReportedOnce() {
        ConfigException e = problems("sluice.pool = 5");
        assertEquals(1, e.problems().size(), e.getMessage());
    }

    @Test
    void booleanOfWrongType() {
        assertProblem("sluice.frontend.tls.enabled = [true]",
                "sluice.frontend.tls.enabled: must be true or false (got [true])");
    }

    @Test
    void nullValue() {
        assertProblem("sluice.pool.min-idle = null", "sluice.pool.min-idle: must be a whole number (got null)");
    }

    @Test
    void unknownKeySuggestsTheClosestKnownKey() {
        assertProblem("sluice.pool.max-per-usr = 5",
                "sluice.pool.max-per-usr: unknown key; did you mean max-per-user? (got 5)");
    }

    @Test
    void unknownKeyListsTheKnownKeys() {
        assertProblem("sluice.listen.backlog = 5",
                "sluice.listen.backlog: unknown key; known keys here: busy-poll, host, io-threads, port, transport (got 5)");
    }

    @Test
    void unknownSection() {
        assertProblem("sluice.metrics.enabled = true",
                "sluice.metrics: unknown key; known keys here: admin, auth, cluster, digests, frontend, listen, pool, server, servers, users (value hidden)");
    }

    @Test
    void unknownKeyInAUserNeverShowsItsValue() {
        ConfigException e = problems("sluice.users.app.pasword = \"hunter2\"");
        assertContains(e, "sluice.users.app.pasword: unknown key; did you mean password? (value hidden)");
        assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
    }

    @Test
    void unknownTopLevelKey() {
        assertProblem("pool.max-per-user = 5",
                "pool: unknown key; Sluice reads only keys under sluice (value hidden)");
    }

    // ---- users ----------------------------------------------------------------------------------

    @Test
    void atLeastOneUser() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse("sluice.pool.mode = session"));
        assertContains(e, "sluice.users: at least one user is required (or set sluice.auth.source = server to log clients "
                + "in with the server's own accounts) (got none)");
    }

    @Test
    void userNeedsAPasswordSource() {
        assertProblem("sluice.users.bob.backend-user = root",
                "sluice.users.bob: needs exactly one of password, password-env, password-file, password-hash (got none)");
    }

    @Test
    void userWithTwoPasswordSources() {
        ConfigException e = problems("sluice.users.bob { password = \"pw-one\", password-hash = \"*"
                + "A".repeat(40) + "\" }");
        assertContains(e, "sluice.users.bob: needs exactly one of password, password-env, password-file, password-hash"
                + " (got password, password-hash)");
        assertFalse(e.getMessage().contains("pw-one"), e.getMessage());
    }

    @Test
    void userWithTwoBackendPasswordSources() {
        assertProblem("sluice.users.app { backend-password = x, backend-password-env = X }",
                "sluice.users.app: takes at most one of backend-password, backend-password-env, backend-password-file"
                        + " (got backend-password, backend-password-env)");
    }

    @Test
    void userEntryNotAnObject() {
        assertProblem("sluice.users.bob = \"pw\"",
                "sluice.users.bob: must be an object with keys password, password-env, password-file, password-hash,"
                        + " backend-password, backend-password-env, backend-password-file, backend-user, pool-mode,"
                        + " pool-max, priority, read-write-split, replicas-only (value hidden)");
    }

    @Test
    void emptyBackendUser() {
        assertProblem("sluice.users.app.backend-user = \"\"", "sluice.users.app.backend-user: must not be empty (got \"\")");
    }

    @Test
    void hashOnlyUserNeedsBackendPassword() {
        assertProblem("sluice.users.bob.password-hash = \"*" + "0123456789ABCDEF0123456789ABCDEF01234567" + "\"",
                "sluice.users.bob.backend-password: required when the user has only password-hash: Sluice cannot log in"
                        + " to the server with a hash (or use backend-password-env or backend-password-file) (value hidden)");
    }

    @Test
    void nativeHashAccepted() {
        String hash = "*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9";
        SluiceConfig config = ConfigLoader.parse("sluice.users.bob { password-hash = \"" + hash
                + "\", backend-password = pw }");
        UserConfig bob = config.users().get("bob");
        assertEquals(java.util.Optional.of(hash), bob.passwordHash());
        assertEquals(java.util.Optional.empty(), bob.password());
        assertEquals("pw", bob.backendPassword());
    }

    @Test
    void cachingSha2HashAccepted() {
        String hash = sha2Hash();
        assertEquals(70, hash.length());
        SluiceConfig config = ConfigLoader.parse("sluice.users.bob { password-hash = \"" + hash
                + "\", backend-password = pw }");
        assertEquals(java.util.Optional.of(hash), config.users().get("bob").passwordHash());
    }

    @Test
    void nativeHashMalformed() {
        ConfigException e = problems("sluice.users.bob { password-hash = \"*12345\", backend-password = pw }");
        assertContains(e, "sluice.users.bob.password-hash: must be \"*\" + 40 hex digits (mysql_native_password)"
                + " or \"$A$005$\" + salt + hash, 70 characters (caching_sha2_password) (value hidden)");
        assertFalse(e.getMessage().contains("*12345"), e.getMessage());
    }

    @Test
    void cachingSha2HashOfWrongLength() {
        assertProblem("sluice.users.bob { password-hash = \"" + sha2Hash().substring(0, 69) + "\", backend-password = pw }",
                "sluice.users.bob.password-hash: a caching_sha2_password hash must be 70 characters"
                        + " (\"$A$005$\", 20 of salt, 43 of hash), found 69 (value hidden)");
    }

    @Test
    void cachingSha2HashWithBadCharacters() {
        String hash = sha2Hash().substring(0, 69) + "!";
        assertProblem("sluice.users.bob { password-hash = \"" + hash + "\", backend-password = pw }",
                "sluice.users.bob.password-hash: the last 43 characters of a caching_sha2_password hash must be"
                        + " [./0-9A-Za-z] (value hidden)");
    }

    @Test
    void passwordOfWrongTypeIsHidden() {
        ConfigException e = problems("sluice.users.bob.password = [\"pw-in-a-list\"]");
        assertContains(e, "sluice.users.bob.password: must be a string (value hidden)");
        assertFalse(e.getMessage().contains("pw-in-a-list"), e.getMessage());
    }

    // ---- admin token ----------------------------------------------------------------------------

    @Test
    void tokenAndTokenEnvBothSet() {
        ConfigException e = problems("sluice.admin { token = \"tok-value\", token-env = ADMIN_TOKEN }");
        assertContains(e, "sluice.admin.token-env: set only one of sluice.admin.token and sluice.admin.token-env"
                + " (got \"ADMIN_TOKEN\")");
        assertFalse(e.getMessage().contains("tok-value"), e.getMessage());
    }

    @Test
    void tokenEnvNotSet() {
        assertProblem("sluice.admin.token-env = ADMIN_TOKEN",
                "sluice.admin.token-env: environment variable ADMIN_TOKEN is not set (got \"ADMIN_TOKEN\")");
    }

    @Test
    void emptyTokenMeansNone() {
        assertEquals(java.util.Optional.empty(), ConfigLoader.parse(USER).admin().token());
    }

    // ---- helpers --------------------------------------------------------------------------------

    /** A well-formed caching_sha2_password string: prefix, 20 salt characters, 43 of hash. */
    // ---- digests --------------------------------------------------------------------------------

    @Test
    void digestsDefaults() {
        DigestsConfig d = ConfigLoader.parse(USER).digests();
        assertEquals(new DigestsConfig(true, 5000, 1024), d);
        assertEquals(new DigestsConfig(false, 10, 64), ConfigLoader.parse(USER
                + "sluice.digests { enabled = false, max-digests = 10, max-text-length = 64 }").digests());
    }

    @Test
    void digestsMaxDigestsZero() {
        assertProblem("sluice.digests.max-digests = 0", "sluice.digests.max-digests: must be between 1 and 1000000 (got 0)");
    }

    @Test
    void digestsMaxTextLengthTooSmall() {
        assertProblem("sluice.digests.max-text-length = 10",
                "sluice.digests.max-text-length: must be between 64 and 65536 (got 10)");
    }

    @Test
    void digestsEnabledNotABoolean() {
        assertProblem("sluice.digests.enabled = maybe", "sluice.digests.enabled: must be true or false");
    }

    static String sha2Hash() {
        return "$A$005$" + "k7Xy;q%$,o4~Z!p-Ae9Q" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456";
    }

    /** A path as a HOCON quoted string body (Windows backslashes escaped). */
    static String hocon(Path path) {
        return path.toString().replace("\\", "\\\\");
    }

    static ConfigException problems(String hocon) {
        return assertThrows(ConfigException.class, () -> ConfigLoader.parse(USER + hocon));
    }

    static void assertProblem(String hocon, String expected) {
        assertContains(problems(hocon), expected);
    }

    static void assertContains(ConfigException e, String expected) {
        assertTrue(e.problems().stream().anyMatch(p -> p.startsWith(expected)),
                () -> "expected a problem starting with\n  " + expected + "\nbut got\n" + e.getMessage());
        assertTrue(e.getMessage().contains(expected), e::getMessage);
    }
}
