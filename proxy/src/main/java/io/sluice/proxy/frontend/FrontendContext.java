package io.sluice.proxy.frontend;

import io.netty.handler.ssl.SslContext;
import io.sluice.config.SluiceConfig;
import io.sluice.proxy.backend.BackendConnector;
import io.sluice.proxy.cluster.Cluster;
import io.sluice.proxy.metrics.ProxyMetrics;
import io.sluice.proxy.pool.BackendPools;
import io.sluice.proxy.session.SessionRegistry;

import java.security.KeyPair;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the client side needs from the running proxy, built once by {@code ProxyServer} and shared
 * by every {@link FrontendHandler}: the config and user directory in effect (swapped by a reload),
 * the pools, sessions, metrics, TLS and RSA keys, and the per-user / per-host client counts.
 *
 * <p>Threading: read from every client event loop; {@link #reloaded} is called from the admin
 * (reload) thread. The swapped fields are volatile, the counts concurrent maps.
 */
public final class FrontendContext {
    private volatile SluiceConfig config;
    private volatile UserDirectory users;
    private final ProxyMetrics metrics;
    private final BackendConnector connector;
    private final BackendPools pools;
    private final SessionRegistry sessions;
    private final SslContext ssl;
    private final KeyPair rsaKeys;
    private final Cluster cluster;
    /** The server's own accounts (sluice.auth.source = server), or null. */
    private final ServerAccounts accounts;
    /** Client connections per front-end user and per client address, for the per-user/per-host limits. */
    private final ConcurrentHashMap<String, AtomicInteger> clientsByUser = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, AtomicInteger> clientsByHost = new ConcurrentHashMap<>();

    /**
     * @param ssl     the server-side TLS context, or null when frontend TLS is off
     * @param cluster the primary and its replicas, or null with one server
     */
    public FrontendContext(SluiceConfig config, ProxyMetrics metrics, BackendConnector connector, BackendPools pools,
                           SessionRegistry sessions, SslContext ssl, KeyPair rsaKeys, Cluster cluster) {
        this(config, metrics, connector, pools, sessions, ssl, rsaKeys, cluster, null);
    }

    /** @param accounts the server's own accounts for clients not in sluice.users, or null (sluice.auth.source = config) */
    public FrontendContext(SluiceConfig config, ProxyMetrics metrics, BackendConnector connector, BackendPools pools,
                           SessionRegistry sessions, SslContext ssl, KeyPair rsaKeys, Cluster cluster, ServerAccounts accounts) {
        this.accounts = accounts;
        this.cluster = cluster;
        this.config = config;
        this.users = new UserDirectory(config.users().values());
        this.metrics = metrics;
        this.connector = connector;
        this.pools = pools;
        this.sessions = sessions;
        this.ssl = ssl;
        this.rsaKeys = rsaKeys;
    }

    /** A reload applies {@code applied}: new logins see its users (before the pools are reconfigured)... */
    public void reloadedUsers(SluiceConfig applied) {
        users = new UserDirectory(applied.users().values());
    }

    /** ...and its frontend limits and timeouts (after). */
    public void reloadedConfig(SluiceConfig applied) {
        config = applied;
    }

    SluiceConfig config() {
        return config;
    }

    UserDirectory users() {
        return users;
    }

    /** The server's own accounts, or null when only sluice.users may log in. */
    ServerAccounts accounts() {
        return accounts;
    }

    ProxyMetrics metrics() {
        return metrics;
    }

    BackendConnector connector() {
        return connector;
    }

    BackendPools pools() {
        return pools;
    }

    /** The primary and its replicas, or null with one server. */
    Cluster cluster() {
        return cluster;
    }

    SessionRegistry sessions() {
        return sessions;
    }

    /** The server-side TLS context, or null when frontend TLS is off. */
    SslContext ssl() {
        return ssl;
    }

    KeyPair rsaKeys() {
        return rsaKeys;
    }

    /**
     * Counts one more client for {@code key} and returns the new count; the caller gives it back
     * with {@link #leaveClientCount}. {@code byUser} selects the per-user table, else per host.
     */
    int joinClientCount(boolean byUser, String key) {
        return (byUser ? clientsByUser : clientsByHost).computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
    }

    void leaveClientCount(boolean byUser, String key) {
        var map = byUser ? clientsByUser : clientsByHost;
        var n = map.get(key);
        if (n != null && n.decrementAndGet() <= 0) {
            map.remove(key, n);
        }
    }
}
