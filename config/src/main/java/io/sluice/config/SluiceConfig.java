package io.sluice.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The whole, validated configuration of one Sluice process. Built only by {@link ConfigLoader};
 * every other module receives these immutable records and never reads typesafe-config, system
 * properties or environment variables itself.
 *
 * @param users   front-end users by name, immutable; iterated in name order (typesafe-config does not
 *                keep the order of the file)
 * @param cluster the servers (one, or a primary and its replicas) and how they are watched and routed
 * @param digests per-statement statistics (sluice.digests)
 * @param auth    where logins are checked: configured users only, or also the server's own accounts
 */
public record SluiceConfig(
        ListenConfig listen,
        ServerConfig server,
        FrontendConfig frontend,
        PoolConfig pool,
        Map<String, UserConfig> users,
        AdminConfig admin,
        ClusterConfig cluster,
        DigestsConfig digests,
        AuthConfig auth) {

    /** Copies {@code users} into an unmodifiable map that keeps the given iteration order. */
    public SluiceConfig {
        Objects.requireNonNull(listen, "listen");
        Objects.requireNonNull(server, "server");
        Objects.requireNonNull(frontend, "frontend");
        Objects.requireNonNull(pool, "pool");
        Objects.requireNonNull(admin, "admin");
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(digests, "digests");
        Objects.requireNonNull(auth, "auth");
        users = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(users, "users")));
    }

    /** Default statistics, and logins checked against configured users only ({@link AuthConfig#DEFAULT}). */
    public SluiceConfig(ListenConfig listen, ServerConfig server, FrontendConfig frontend, PoolConfig pool,
                        Map<String, UserConfig> users, AdminConfig admin, ClusterConfig cluster) {
        this(listen, server, frontend, pool, users, admin, cluster, DigestsConfig.DEFAULT, AuthConfig.DEFAULT);
    }

    /** One server: {@code server}'s, nothing polled or routed. */
    public SluiceConfig(ListenConfig listen, ServerConfig server, FrontendConfig frontend, PoolConfig pool,
                        Map<String, UserConfig> users, AdminConfig admin) {
        this(listen, server, frontend, pool, users, admin, ClusterConfig.single(server));
    }
}
