package io.sluice.config;

import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValueFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Writes a {@link SluiceConfig} back in reference.conf's shape and units, so the output of
 * {@code GET /config} reads like the file and, secrets aside, loads back to the same records.
 */
final class ConfigRenderer {

    static final String REDACTED = "<redacted>";

    private static final long KIB = 1024;
    private static final long MIB = 1024 * KIB;

    private ConfigRenderer() {
    }

    /** Formatted JSON (which is also HOCON) under a {@code sluice} root; every secret is "<redacted>". */
    static String render(SluiceConfig config) {
        Map<String, Object> sluice = new LinkedHashMap<>();
        sluice.put("listen", listen(config.listen()));
        sluice.put("server", server(config.server()));
        sluice.put("frontend", frontend(config.frontend()));
        sluice.put("pool", pool(config.pool()));
        sluice.put("auth", auth(config.auth()));
        Map<String, Object> users = new LinkedHashMap<>();
        config.users().forEach((name, user) -> users.put(name, user(user)));
        sluice.put("users", users);
        sluice.put("admin", admin(config.admin()));
        sluice.put("digests", Map.of("enabled", config.digests().enabled(), "max-digests", config.digests().maxDigests(),
                "max-text-length", config.digests().maxTextLength()));
        return ConfigValueFactory.fromMap(Map.of("sluice", sluice))
                .render(ConfigRenderOptions.concise().setFormatted(true).setJson(true));
    }

    private static Map<String, Object> listen(ListenConfig listen) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("host", listen.host());
        m.put("port", listen.port());
        m.put("io-threads", listen.ioThreads());
        m.put("transport", enumName(listen.transport()));
        m.put("busy-poll", listen.busyPoll().configName());
        return m;
    }

    private static Map<String, Object> server(ServerConfig server) {
        Map<String, Object> tls = new LinkedHashMap<>();
        tls.put("mode", enumName(server.tls().mode()));
        tls.put("ca-file", path(server.tls().caFile()));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("host", server.host());
        m.put("port", server.port());
        m.put("socket", path(server.socket()));
        m.put("connect-timeout", duration(server.connectTimeout()));
        m.put("headroom", server.headroom());
        m.put("fleet-size", server.fleetSize());
        m.put("adaptive", server.adaptive());
        m.put("limits-refresh", duration(server.limitsRefresh()));
        m.put("tls", tls);
        return m;
    }

    private static Map<String, Object> frontend(FrontendConfig frontend) {
        Map<String, Object> tls = new LinkedHashMap<>();
        tls.put("enabled", frontend.tls().enabled());
        tls.put("cert-file", path(frontend.tls().certFile()));
        tls.put("key-file", path(frontend.tls().keyFile()));
        tls.put("required", frontend.tls().required());
        Map<String, Object> rsa = new LinkedHashMap<>();
        rsa.put("private-key-file", path(frontend.rsa().privateKeyFile()));
        rsa.put("public-key-file", path(frontend.rsa().publicKeyFile()));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("max-clients", frontend.maxClients());
        m.put("max-clients-per-user", frontend.maxClientsPerUser());
        m.put("max-clients-per-host", frontend.maxClientsPerHost());
        m.put("auth-timeout", duration(frontend.authTimeout()));
        m.put("idle-timeout", duration(frontend.idleTimeout()));
        m.put("write-buffer-low", bytes(frontend.writeBufferLow()));
        m.put("write-buffer-high", bytes(frontend.writeBufferHigh()));
        m.put("tls", tls);
        m.put("rsa", rsa);
        m.put("server-version", frontend.serverVersion().orElse(""));
        m.put("drain-timeout", duration(frontend.drainTimeout()));
        m.put("leak-warning-after", duration(frontend.leakWarningAfter()));
        m.put("idle-in-transaction-timeout", duration(frontend.idleInTransactionTimeout()));
        m.put("max-query-time", duration(frontend.maxQueryTime()));
        m.put("max-transaction-time", duration(frontend.maxTransactionTime()));
        return m;
    }

    private static Map<String, Object> pool(PoolConfig pool) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mode", enumName(pool.mode()));
        m.put("max-per-user", pool.maxPerUser());
        m.put("min-idle", pool.minIdle());
        m.put("global-max", pool.globalMax());
        m.put("idle-timeout", duration(pool.idleTimeout()));
        m.put("max-lifetime", duration(pool.maxLifetime()));
        m.put("validate-after-idle", duration(pool.validateAfterIdle()));
        m.put("validation-timeout", duration(pool.validationTimeout()));
        m.put("reset-timeout", duration(pool.resetTimeout()));
        m.put("acquire-timeout", duration(pool.acquireTimeout()));
        m.put("max-waiters", pool.maxWaiters());
        m.put("statement-cache", pool.statementCache());
        m.put("max-client-statements", pool.maxClientStatements());
        m.put("reserve", pool.reserve());
        return m;
    }

    /** The lookup password shows as {@code lookup-password}, wherever it came from. */
    private static Map<String, Object> auth(AuthConfig auth) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("source", enumName(auth.source()));
        m.put("lookup-user", auth.lookupUser().orElse(""));
        m.put("lookup-password", auth.lookupPassword().isPresent() ? REDACTED : "");
        m.put("lookup-pool-max", auth.lookupPoolMax());
        m.put("cache-ttl", duration(auth.cacheTtl()));
        m.put("negative-cache-ttl", duration(auth.negativeCacheTtl()));
        m.put("max-lookups-per-second", auth.maxLookupsPerSecond());
        m.put("max-cached-accounts", auth.maxCachedAccounts());
        return m;
    }

    /** Where a password came from (inline, env, file) is not kept; it shows as {@code password}. */
    private static Map<String, Object> user(UserConfig user) {
        Map<String, Object> m = new LinkedHashMap<>();
        user.password().ifPresent(p -> m.put("password", REDACTED));
        user.passwordHash().ifPresent(h -> m.put("password-hash", REDACTED));
        if (!user.settingsOnly()) {
            m.put("backend-user", user.backendUser());
            m.put("backend-password", REDACTED);
        }
        user.poolMode().ifPresent(mode -> m.put("pool-mode", enumName(mode)));
        user.poolMax().ifPresent(max -> m.put("pool-max", max));
        if (user.priority()) {
            m.put("priority", true);
        }
        return m;
    }

    private static Map<String, Object> admin(AdminConfig admin) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("enabled", admin.enabled());
        m.put("host", admin.host());
        m.put("port", admin.port());
        m.put("token", admin.token().isPresent() ? REDACTED : "");
        m.put("allow-no-token", admin.allowNoToken());
        return m;
    }

    /** The spelling reference.conf uses: VERIFY_CA is "verify-ca". */
    static String enumName(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The largest HOCON unit that states {@code d} exactly: 600s is "10m", 1500ms stays "1500ms". */
    static String duration(Duration d) {
        if (d.isZero()) {
            return "0s";
        }
        if (d.getNano() == 0) {
            long seconds = d.getSeconds();
            long[] unitSeconds = {86_400, 3_600, 60};
            String[] names = {"d", "h", "m"};
            for (int i = 0; i < unitSeconds.length; i++) {
                if (seconds % unitSeconds[i] == 0) {
                    return seconds / unitSeconds[i] + names[i];
                }
            }
            return seconds + "s";
        }
        if (d.getSeconds() >= Long.MAX_VALUE / 1_000_000_000L) {
            return d.getSeconds() + "s"; // typesafe-config durations fit in long nanos; records built by hand may not
        }
        long nanos = d.toNanos();
        if (nanos % 1_000_000 == 0) {
            return nanos / 1_000_000 + "ms";
        }
        if (nanos % 1_000 == 0) {
            return nanos / 1_000 + "us";
        }
        return nanos + "ns";
    }

    private static Object bytes(long bytes) {
        if (bytes != 0 && bytes % MIB == 0) {
            return bytes / MIB + "MiB";
        }
        if (bytes != 0 && bytes % KIB == 0) {
            return bytes / KIB + "KiB";
        }
        return bytes;
    }

    private static String path(Optional<Path> path) {
        return path.map(Path::toString).orElse("");
    }
}
