package io.sluice.config;

import static io.sluice.config.ValidationTest.USER;
import static io.sluice.config.ValidationTest.assertContains;
import static io.sluice.config.ValidationTest.hocon;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Layering, secrets from env vars and files, user names, error reporting and rendering. */
class ConfigLoaderTest {

    @TempDir
    Path dir;

    // ---- defaults -------------------------------------------------------------------------------

    @Test
    void defaultsComeFromReferenceConf() {
        SluiceConfig config = ConfigLoader.parse(USER);
        assertEquals(new ListenConfig("0.0.0.0", 6033, 0, ListenConfig.Transport.AUTO), config.listen());
        assertEquals(new ServerConfig("127.0.0.1", 3306, Duration.ofSeconds(5),
                new BackendTlsConfig(BackendTlsConfig.Mode.DISABLED, Optional.empty())), config.server());
        assertEquals(new FrontendConfig(10000, Duration.ofSeconds(10), Duration.ZERO, 32 * 1024, 64 * 1024,
                new FrontendTlsConfig(false, Optional.empty(), Optional.empty(), false),
                new RsaKeyConfig(Optional.empty(), Optional.empty()), Optional.empty(), Duration.ofSeconds(30),
                Duration.ofSeconds(60), Duration.ZERO),
                config.frontend());
        assertEquals(new PoolConfig(PoolMode.TRANSACTION, 10, 0, 100, Duration.ofMinutes(10), Duration.ofMinutes(30),
                Duration.ofSeconds(30), Duration.ofSeconds(2), Duration.ofSeconds(5), 1000, 256, 1024, 0, Duration.ofSeconds(5), false), config.pool());
        assertEquals(new AdminConfig(true, "127.0.0.1", 6034, Optional.empty()), config.admin());
        assertEquals(new UserConfig("app", Optional.of("s3cret-pw"), Optional.empty(), "app", "s3cret-pw",
                Optional.empty(), OptionalInt.empty(), false), config.users().get("app"));
    }

    /** reference.conf is the schema: every key carries a comment that says whether it is reloadable. */
    @Test
    void everyReferenceKeyIsDocumentedWithReloadability() throws IOException {
        List<String> lines;
        try (InputStream in = ConfigLoader.class.getClassLoader().getResourceAsStream("reference.conf")) {
            lines = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().map(String::trim).toList();
        }
        List<String> undocumented = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.startsWith("#") || !line.contains("=")) {
                continue;
            }
            StringBuilder comment = new StringBuilder();
            for (int j = i - 1; j >= 0 && lines.get(j).startsWith("#"); j--) {
                comment.append(lines.get(j));
            }
            if (!comment.toString().matches(".*\\((not )?reloadable\\).*")) {
                undocumented.add(line);
            }
        }
        assertEquals(List.of(), undocumented);
    }

    // ---- layering -------------------------------------------------------------------------------

    @Test
    void overrideBeatsEnvBeatsFileBeatsReference() throws IOException {
        Path file = Files.writeString(dir.resolve("sluice.conf"), USER
                + "sluice.pool { max-per-user = 30, global-max = 300, min-idle = 3 }\n"
                + "sluice.listen.port = 7000\n");
        Map<String, String> env = Map.of("SLUICE_POOL_SIZE", "20", "SLUICE_POOL_GLOBAL_MAX", "200");
        Map<String, String> overrides = Map.of("sluice.pool.max-per-user", "40");

        PoolConfig pool = ConfigLoader.load(Optional.of(file), overrides, env).pool();
        assertEquals(40, pool.maxPerUser(), "override beats env and file");
        assertEquals(200, pool.globalMax(), "env beats file");
        assertEquals(3, pool.minIdle(), "file beats reference");
        assertEquals(1000, pool.maxWaiters(), "reference fills the rest");

        assertEquals(20, ConfigLoader.load(Optional.of(file), Map.of(), env).pool().maxPerUser(), "env beats file");
        assertEquals(30, ConfigLoader.load(Optional.of(file), Map.of(), Map.of()).pool().maxPerUser(), "file");
    }

    /** Sluice warns about a global-max above what the server allows only when someone chose that number. */
    @Test
    void theConfigTellsWhetherGlobalMaxWasSet() throws IOException {
        assertFalse(ConfigLoader.parse(USER).pool().globalMaxSet(), "reference.conf's default");
        assertTrue(ConfigLoader.parse(USER + "sluice.pool.global-max = 100\n").pool().globalMaxSet(), "set to the default value");
        Path file = Files.writeString(dir.resolve("users.conf"), USER);
        assertFalse(ConfigLoader.load(Optional.of(file), Map.of(), Map.of()).pool().globalMaxSet(), "a file without it");
        assertTrue(ConfigLoader.load(Optional.of(file), Map.of(), Map.of("SLUICE_POOL_GLOBAL_MAX", "50"))
                .pool().globalMaxSet(), "from the environment");
        assertTrue(ConfigLoader.load(Optional.of(file), Map.of("sluice.pool.global-max", "50"), Map.of())
                .pool().globalMaxSet(), "from an override");
    }

    @Test
    void envAndOverrideValuesParseLikeFileValues() {
        Map<String, String> env = Map.of(
                "SLUICE_LISTEN_HOST", "::1", "SLUICE_LISTEN_PORT", "7033",
                "SLUICE_SERVER_HOST", "db.internal", "SLUICE_SERVER_PORT", "3307",
                "SLUICE_POOL_MODE", "Transaction", "SLUICE_ACQUIRE_TIMEOUT", "1500ms",
                "SLUICE_ADMIN_HOST", "0.0.0.0", "SLUICE_ADMIN_PORT", "9090",
                "SLUICE_ADMIN_TOKEN", "tok", "SLUICE_MAX_CLIENTS", "50");
        SluiceConfig config = ConfigLoader.load(Optional.empty(),
                Map.of("sluice.users.app.password", "pw", "sluice.pool.idle-timeout", "5m",
                        "sluice.frontend.write-buffer-high", "1MiB"), env);
        assertEquals(new ListenConfig("::1", 7033, 0, ListenConfig.Transport.AUTO), config.listen());
        assertEquals("db.internal", config.server().host());
        assertEquals(3307, config.server().port());
        assertEquals(PoolMode.TRANSACTION, config.pool().mode());
        assertEquals(Duration.ofMillis(1500), config.pool().acquireTimeout());
        assertEquals(Duration.ofMinutes(5), config.pool().idleTimeout());
        assertEquals(1024 * 1024, config.frontend().writeBufferHigh());
        assertEquals(new AdminConfig(true, "0.0.0.0", 9090, Optional.of("tok")), config.admin());
        assertEquals(50, config.frontend().maxClients());
    }

    @Test
    void everyEnvVariableMapsToAReferenceKey() {
        for (Map.Entry<String, String> e : ConfigLoader.ENV_TO_PATH.entrySet()) {
            assertTrue(e.getKey().startsWith("SLUICE_"), e.getKey());
            assertTrue(Reference.hasPath(e.getValue()), e.getValue());
        }
    }

    @Test
    void badEnvValueNamesTheVariable() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.empty(),
                Map.of(), Map.of("SLUICE_USER", "app", "SLUICE_PASSWORD", "pw", "SLUICE_POOL_SIZE", "0")));
        assertContains(e, "sluice.pool.max-per-user: must be at least 1 (got \"0\")"
                + " [environment variable SLUICE_POOL_SIZE]");
    }

    @Test
    void badOverrideValueSaysSo() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.empty(),
                Map.of("sluice.users.app.password", "pw", "sluice.listen.port", "http"), Map.of()));
        assertContains(e, "sluice.listen.port: must be a whole number (got \"http\")"
                + " [command-line override sluice.listen.port]");
    }

    @Test
    void fileValuesAreReportedWithTheirLine() throws IOException {
        Path file = Files.writeString(dir.resolve("sluice.conf"), USER + "\nsluice.pool.min-idle = -1\n");
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Optional.of(file), Map.of(), Map.of()));
        assertContains(e, "sluice.pool.min-idle: must be at least 0 (got -1) [line 3]");
    }

    @Test
    void fileSubstitutionsReadTheEnvMapOnly() throws IOException {
        Path file = Files.writeString(dir.resolve("sluice.conf"),
                USER + "sluice.server.host = ${DB_HOST}\nsluice.server.port = ${?DB_PORT_UNSET}\n");
        SluiceConfig config = ConfigLoader.load(Optional.of(file), Map.of(), Map.of("DB_HOST", "db1"));
        assertEquals("db1", config.server().host());
        assertEquals(3306, config.server().port());
    }

    @Test
    void unresolvedSubstitutionIsReported() throws IOException {
        Path file = Files.writeString(dir.resolve("sluice.conf"), USER + "sluice.server.host = ${DB_HOST}\n");
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Optional.of(file), Map.of(), Map.of()));
        assertTrue(e.getMessage().contains("${DB_HOST}"), e.getMessage());
    }

    // ---- the file -------------------------------------------------------------------------------

    @Test
    void missingFileIsNamed() {
        Path file = dir.resolve("nope.conf");
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Optional.of(file), Map.of(), Map.of()));
        assertEquals(List.of(file + ": config file does not exist"), e.problems());
        assertTrue(e.getMessage().startsWith("Invalid Sluice configuration in " + file), e.getMessage());
    }

    @Test
    void syntaxErrorNamesFileAndLine() throws IOException {
        Path file = Files.writeString(dir.resolve("broken.conf"), USER + "sluice.pool {\n  max-per-user = 5\n");
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Optional.of(file), Map.of(), Map.of()));
        assertEquals(1, e.problems().size(), e.getMessage());
        assertTrue(e.problems().get(0).contains("broken.conf"), e.getMessage());
    }

    @Test
    void allProblemsAreReportedAtOnceOneLineEach() throws IOException {
        Path file = Files.writeString(dir.resolve("sluice.conf"), USER
                + "sluice.listen.port = 70000\n"
                + "sluice.pool { min-idle = 50, mode = statement }\n"
                + "sluice.frontend.max-clients = 0\n"
                + "sluice.server.tls.mode = verify-ca\n");
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Optional.of(file), Map.of(), Map.of()));
        assertEquals(5, e.problems().size(), e.getMessage());
        List<String> lines = e.getMessage().lines().toList();
        assertEquals("Invalid Sluice configuration in " + file + " (5 problems):", lines.get(0));
        for (String problem : e.problems()) {
            assertTrue(lines.contains("  " + problem), e.getMessage());
        }
        assertContains(e, "sluice.listen.port: must be between 0 and 65535 (got 70000)");
        assertContains(e, "sluice.pool.min-idle: must not exceed sluice.pool.max-per-user (10) (got 50)");
        assertContains(e, "sluice.pool.mode: must be one of session, transaction (got \"statement\")");
        assertContains(e, "sluice.frontend.max-clients: must be at least 1 (got 0)");
        assertContains(e, "sluice.server.tls.ca-file: required when sluice.server.tls.mode = verify-ca");
    }

    @Test
    void unknownKeyInTheFileNamesItsPath() throws IOException {
        Path file = Files.writeString(dir.resolve("sluice.conf"), USER + "sluice.server { tls { mod = required } }\n");
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Optional.of(file), Map.of(), Map.of()));
        assertContains(e, "sluice.server.tls.mod: unknown key; did you mean mode? (got \"required\")");
    }

    @Test
    void unknownOverrideKeyIsRejected() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.empty(),
                Map.of("sluice.users.app.password", "pw", "sluice.pool.max", "5"), Map.of()));
        assertContains(e, "sluice.pool.max: unknown key; known keys here:");
    }

    // ---- passwords from env and files -----------------------------------------------------------

    @Test
    void passwordEnvIsReadFromTheGivenEnv() {
        SluiceConfig config = ConfigLoader.load(Optional.empty(),
                Map.of("sluice.users.app.password-env", "APP_PW"), Map.of("APP_PW", "from-env"));
        UserConfig app = config.users().get("app");
        assertEquals(Optional.of("from-env"), app.password());
        assertEquals("from-env", app.backendPassword(), "backend password defaults to the clear password");
    }

    @Test
    void passwordEnvUnsetOrEmpty() {
        ConfigException unset = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.empty(),
                Map.of("sluice.users.app.password-env", "APP_PW"), Map.of()));
        assertContains(unset, "sluice.users.app.password-env: environment variable APP_PW is not set (got \"APP_PW\")");
        ConfigException empty = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.empty(),
                Map.of("sluice.users.app.password-env", "APP_PW"), Map.of("APP_PW", "")));
        assertContains(empty, "sluice.users.app.password-env: environment variable APP_PW is empty (got \"APP_PW\")");
    }

    @Test
    void passwordFileHasItsTrailingNewlineStripped() throws IOException {
        Path pw = Files.writeString(dir.resolve("app.pw"), "from file\n");
        Path backendPw = Files.writeString(dir.resolve("backend.pw"), "backend pw\r\n");
        SluiceConfig config = ConfigLoader.parse("sluice.users.app { password-file = \"" + hocon(pw)
                + "\", backend-password-file = \"" + hocon(backendPw) + "\", backend-user = svc }");
        UserConfig app = config.users().get("app");
        assertEquals(Optional.of("from file"), app.password());
        assertEquals("svc", app.backendUser());
        assertEquals("backend pw", app.backendPassword());
    }

    @Test
    void passwordFileMissingOrEmpty() throws IOException {
        Path missing = dir.resolve("missing.pw");
        Path empty = Files.writeString(dir.resolve("empty.pw"), "\n");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse(
                "sluice.users.a.password-file = \"" + hocon(missing) + "\"\n"
                        + "sluice.users.b.password-file = \"" + hocon(empty) + "\""));
        assertContains(e, "sluice.users.a.password-file: file does not exist (got \"" + hocon(missing) + "\")");
        assertContains(e, "sluice.users.b.password-file: file is empty (got \"" + hocon(empty) + "\")");
    }

    @Test
    void backendPasswordEnv() {
        SluiceConfig config = ConfigLoader.load(Optional.empty(), Map.of(
                "sluice.users.app.password-hash", "*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9",
                "sluice.users.app.backend-password-env", "APP_BACKEND_PW"), Map.of("APP_BACKEND_PW", "bpw"));
        assertEquals("bpw", config.users().get("app").backendPassword());
    }

    @Test
    void adminTokenEnv() {
        SluiceConfig config = ConfigLoader.load(Optional.empty(), Map.of("sluice.users.app.password", "pw",
                "sluice.admin.token-env", "ADMIN_TOKEN"), Map.of("ADMIN_TOKEN", "t0k"));
        assertEquals(Optional.of("t0k"), config.admin().token());
    }

    @Test
    void envAdminTokenReplacesFileTokenEnv() throws IOException {
        Path file = Files.writeString(dir.resolve("sluice.conf"), USER + "sluice.admin.token-env = ADMIN_TOKEN\n");
        SluiceConfig config = ConfigLoader.load(Optional.of(file), Map.of(), Map.of("SLUICE_ADMIN_TOKEN", "direct"));
        assertEquals(Optional.of("direct"), config.admin().token());
    }

    // ---- SLUICE_USER and friends ----------------------------------------------------------------

    @Test
    void envDefinesAUser() {
        SluiceConfig config = ConfigLoader.load(Optional.empty(), Map.of(), Map.of("SLUICE_USER", "web",
                "SLUICE_PASSWORD", "pw", "SLUICE_BACKEND_USER", "svc", "SLUICE_BACKEND_PASSWORD", "svc-pw"));
        assertEquals(new UserConfig("web", Optional.of("pw"), Optional.empty(), "svc", "svc-pw", Optional.empty(),
                OptionalInt.empty(), false), config.users().get("web"));
    }

    @Test
    void envPasswordReplacesTheFilePasswordSource() throws IOException {
        Path file = Files.writeString(dir.resolve("sluice.conf"), "sluice.users.web { password-hash = \"*"
                + "0".repeat(40) + "\", backend-password = file-backend, pool-max = 3 }\n");
        SluiceConfig config = ConfigLoader.load(Optional.of(file), Map.of(),
                Map.of("SLUICE_USER", "web", "SLUICE_PASSWORD", "env-pw"));
        UserConfig web = config.users().get("web");
        assertEquals(Optional.of("env-pw"), web.password());
        assertEquals(Optional.empty(), web.passwordHash());
        assertEquals("file-backend", web.backendPassword(), "the file's backend password is kept");
        assertEquals(OptionalInt.of(3), web.poolMax(), "the rest of the file's entry is kept");
    }

    @Test
    void overridePasswordReplacesTheEnvPassword() {
        SluiceConfig config = ConfigLoader.load(Optional.empty(),
                Map.of("sluice.users.web.password-env", "WEB_PW"),
                Map.of("SLUICE_USER", "web", "SLUICE_PASSWORD", "env-pw", "WEB_PW", "override-pw"));
        assertEquals(Optional.of("override-pw"), config.users().get("web").password());
    }

    @Test
    void envUserVariablesNeedSluiceUser() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.empty(),
                Map.of("sluice.users.app.password", "pw"), Map.of("SLUICE_PASSWORD", "very-secret")));
        assertContains(e, "SLUICE_PASSWORD: needs SLUICE_USER to name the user it belongs to (value hidden)");
        assertFalse(e.getMessage().contains("very-secret"), e.getMessage());
    }

    @Test
    void envPasswordEmpty() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.empty(), Map.of(),
                Map.of("SLUICE_USER", "web", "SLUICE_PASSWORD", "")));
        assertContains(e, "SLUICE_PASSWORD: must not be empty (value hidden)");
    }

    @Test
    void emptyUserName() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.parse(USER + "sluice.users.\"\".password = pw"));
        assertContains(e, "sluice.users.\"\": user name must not be empty (value hidden)");
    }

    @Test
    void envUserWithoutPassword() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Optional.empty(), Map.of(), Map.of("SLUICE_USER", "web")));
        assertContains(e, "sluice.users.web: needs exactly one of password, password-env, password-file,"
                + " password-hash (got none)");
    }

    // ---- user names with dots -------------------------------------------------------------------

    @Test
    void userNamesWithDots() throws IOException {
        Path file = Files.writeString(dir.resolve("sluice.conf"),
                "sluice.users { \"app.rw\" { password = rw-pw }, \"app.ro\" { password = ro-pw } }\n");
        SluiceConfig config = ConfigLoader.load(Optional.of(file),
                Map.of(ConfigLoader.userKey("app.ro", "pool-max"), "2"),
                Map.of("SLUICE_USER", "app.rw", "SLUICE_BACKEND_USER", "svc.rw"));
        assertEquals(List.of("app.ro", "app.rw"), List.copyOf(config.users().keySet()));
        assertEquals("app.rw", config.users().get("app.rw").name());
        assertEquals("svc.rw", config.users().get("app.rw").backendUser());
        assertEquals(Optional.of("rw-pw"), config.users().get("app.rw").password());
        assertEquals(OptionalInt.of(2), config.users().get("app.ro").poolMax());
        assertEquals("sluice.users.\"app.rw\".password", ConfigLoader.userKey("app.rw", "password"));
    }

    @Test
    void problemsNameDottedUsersAsQuotedPaths() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.parse("sluice.users.\"app.rw\".pool-max = 0"));
        assertContains(e, "sluice.users.\"app.rw\": needs exactly one of");
        assertContains(e, "sluice.users.\"app.rw\".pool-max: must be at least 1 (got 0)");
    }

    @Test
    void badOverridePath() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.empty(),
                Map.of("sluice.users.\"app.rw.password", "pw"), Map.of()));
        assertContains(e, "sluice.users.\"app.rw.password: not a valid config path");
    }

    // ---- render ---------------------------------------------------------------------------------

    @Test
    void renderRedactsEverySecret() {
        SluiceConfig config = ConfigLoader.load(Optional.empty(), Map.of(
                "sluice.users.app.password", "app-clear-pw",
                "sluice.users.\"h.user\".password-hash", "*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9",
                "sluice.users.\"h.user\".backend-password", "hash-user-backend-pw",
                "sluice.admin.token", "admin-tok"), Map.of());
        String text = ConfigLoader.render(config);
        for (String secret : List.of("app-clear-pw", "6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9",
                "hash-user-backend-pw", "admin-tok")) {
            assertFalse(text.contains(secret), text);
        }
        assertTrue(text.contains("\"token\" : \"<redacted>\""), text);
        assertTrue(text.contains("\"password-hash\" : \"<redacted>\""), text);
        assertTrue(text.contains("\"h.user\""), text);
        assertTrue(text.contains("\"idle-timeout\" : \"10m\""), text);
        assertTrue(text.contains("\"idle-timeout\" : \"0s\""), text);
        assertTrue(text.contains("\"write-buffer-high\" : \"64KiB\""), text);
        assertTrue(text.contains("\"drain-timeout\" : \"30s\""), text);
        assertTrue(text.contains("\"leak-warning-after\" : \"1m\""), text);
        assertTrue(text.contains("\"idle-in-transaction-timeout\" : \"0s\""), text);
    }

    @Test
    void renderedConfigLoadsBackToTheSameRecords() throws IOException {
        Path cert = Files.writeString(dir.resolve("cert.pem"), "pem");
        Path key = Files.writeString(dir.resolve("key.pem"), "pem");
        SluiceConfig config = ConfigLoader.parse(USER
                + "sluice.users.app { pool-mode = transaction, pool-max = 4, backend-user = svc }\n"
                + "sluice.pool { acquire-timeout = 1500ms, validate-after-idle = 0s, max-lifetime = 1h }\n"
                + "sluice.frontend { write-buffer-low = 1000, idle-timeout = 90s, drain-timeout = 1500ms }\n"
                + "sluice.frontend { leak-warning-after = 2m, idle-in-transaction-timeout = 150s }\n"
                + "sluice.frontend.tls { enabled = true, cert-file = \"" + hocon(cert) + "\", key-file = \""
                + hocon(key) + "\" }\n"
                + "sluice.server.tls.mode = preferred\n");
        String rendered = ConfigLoader.render(config).replace("\"<redacted>\"", "\"s3cret-pw\"");
        assertEquals(config, ConfigLoader.parse(rendered), rendered);
    }

    @Test
    void serverSocketIsAnAbsolutePathOrEmptyForTcp() {
        assertEquals(Optional.empty(), ConfigLoader.parse(USER).server().socket());
        SluiceConfig config = ConfigLoader.load(Optional.empty(), Map.of(),
                Map.of("SLUICE_USER", "app", "SLUICE_PASSWORD", "pw", "SLUICE_SERVER_SOCKET", "/run/mysqld/mysqld.sock"));
        assertEquals(Optional.of(Path.of("/run/mysqld/mysqld.sock")), config.server().socket());
        assertEquals("unix:/run/mysqld/mysqld.sock", config.server().address());
        String rendered = ConfigLoader.render(config).replace("\"<redacted>\"", "\"pw\"");
        assertEquals(config, ConfigLoader.parse(rendered), rendered);
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.parse(USER + "sluice.server.socket = \"mysqld.sock\"\n"));
        assertContains(e, "sluice.server.socket: must be an absolute path to the server's Unix socket, such as "
                + "/run/mysqld/mysqld.sock, or empty for TCP to host:port (got \"mysqld.sock\") [line 2]");
    }

    @Test
    void busyPollIsAutoOffOrABudget() {
        assertEquals(ListenConfig.BusyPoll.AUTO, ConfigLoader.parse(USER).listen().busyPoll());
        assertEquals(ListenConfig.BusyPoll.OFF, ConfigLoader.parse(USER + "sluice.listen.busy-poll = off\n").listen().busyPoll());
        assertEquals(ListenConfig.BusyPoll.OFF, ConfigLoader.parse(USER + "sluice.listen.busy-poll = 0\n").listen().busyPoll());
        assertEquals(ListenConfig.BusyPoll.AUTO, ConfigLoader.parse(USER + "sluice.listen.busy-poll = AUTO\n").listen().busyPoll());
        ListenConfig.BusyPoll fixed = ConfigLoader.parse(USER + "sluice.listen.busy-poll = 80us\n").listen().busyPoll();
        assertEquals(new ListenConfig.BusyPoll(Duration.ofNanos(80_000), false), fixed);
        for (String value : new String[] {"auto", "off", "80us"}) {
            SluiceConfig config = ConfigLoader.parse(USER + "sluice.listen.busy-poll = " + value + "\n");
            String rendered = ConfigLoader.render(config).replace("\"<redacted>\"", "\"s3cret-pw\"");
            assertTrue(rendered.contains("\"busy-poll\" : \"" + value + "\""), rendered);
            assertEquals(config, ConfigLoader.parse(rendered), rendered);
        }
    }

    @Test
    void recordsDoNotPrintSecrets() {
        SluiceConfig config = ConfigLoader.load(Optional.empty(),
                Map.of("sluice.users.app.password", "app-clear-pw", "sluice.admin.token", "admin-tok"), Map.of());
        assertFalse(config.toString().contains("app-clear-pw"), config.toString());
        assertFalse(config.toString().contains("admin-tok"), config.toString());
    }

    @Test
    void usersMapIsImmutable() {
        SluiceConfig config = ConfigLoader.parse(USER);
        assertThrows(UnsupportedOperationException.class, () -> config.users().clear());
    }

    /** Reads reference.conf's key list without going through the loader under test. */
    private static final class Reference {
        static boolean hasPath(String path) {
            return com.typesafe.config.ConfigFactory.parseResources("reference.conf").hasPath(path);
        }
    }

    @Test
    void fleetSizeFromTheEnvironment() {
        SluiceConfig c = ConfigLoader.load(java.util.Optional.empty(), java.util.Map.of(),
                java.util.Map.of("SLUICE_FLEET_SIZE", "3", "SLUICE_USER", "app", "SLUICE_PASSWORD", "pw"));
        assertEquals(3, c.server().fleetSize());
        assertEquals(ServerConfig.DEFAULT_HEADROOM, c.server().headroom());
        assertEquals(ServerConfig.DEFAULT_LIMITS_REFRESH, c.server().limitsRefresh());
    }
}
