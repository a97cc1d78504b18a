package io.sluice.config;

import java.time.Duration;
import java.util.Objects;

/**
 * Limits and protocol options toward clients.
 *
 * @param maxClients          client connections accepted at once; the next one is refused at connect
 * @param authTimeout         a connection that has not finished logging in by then is closed
 * @param idleTimeout         a logged-in client silent for this long is closed; {@link Duration#ZERO} = never
 * @param writeBufferLow      client channel low water mark in bytes (resume reading its backend)
 * @param writeBufferHigh     client channel high water mark in bytes (stop reading its backend)
 * @param tls                 TLS toward clients
 * @param rsa                 RSA key pair for caching_sha2_password full auth without TLS
 * @param serverVersion       version string shown to clients instead of the server's own, if given
 * @param drainTimeout        on shutdown, how long busy sessions may finish after accepting stops;
 *                            {@link Duration#ZERO} = close at once
 * @param leakWarningAfter    a session idle (no command in flight) inside a transaction, or idle while
 *                            pinned to its backend, this long is logged once and counted as a likely
 *                            leak; {@link Duration#ZERO} = never
 * @param idleInTransactionTimeout a session idle inside a transaction this long is closed (error 9410),
 *                            which rolls the transaction back; {@link Duration#ZERO} = never; when both
 *                            are set, longer than {@code leakWarningAfter}
 * @param maxQueryTime        a statement running longer than this is stopped on the server (KILL QUERY);
 *                            {@link Duration#ZERO} = never
 * @param maxTransactionTime  a transaction open longer than this ends: its statement is killed, the
 *                            session closed (error 9411), the transaction rolled back; {@link Duration#ZERO} = never
 */
public record FrontendConfig(
        int maxClients,
        Duration authTimeout,
        Duration idleTimeout,
        int writeBufferLow,
        int writeBufferHigh,
        FrontendTlsConfig tls,
        RsaKeyConfig rsa,
        java.util.Optional<String> serverVersion,
        Duration drainTimeout,
        Duration leakWarningAfter,
        Duration idleInTransactionTimeout,
        int maxClientsPerUser,
        int maxClientsPerHost,
        Duration maxQueryTime,
        Duration maxTransactionTime) {

    /** Without per-user and per-host client limits (0 = none). */
    public FrontendConfig(int maxClients, Duration authTimeout, Duration idleTimeout, int writeBufferLow, int writeBufferHigh,
                          FrontendTlsConfig tls, RsaKeyConfig rsa, java.util.Optional<String> serverVersion,
                          Duration drainTimeout, Duration leakWarningAfter, Duration idleInTransactionTimeout) {
        this(maxClients, authTimeout, idleTimeout, writeBufferLow, writeBufferHigh, tls, rsa, serverVersion, drainTimeout,
                leakWarningAfter, idleInTransactionTimeout, 0, 0, Duration.ZERO, Duration.ZERO);
    }

    public FrontendConfig {
        Objects.requireNonNull(authTimeout, "authTimeout");
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(rsa, "rsa");
        Objects.requireNonNull(drainTimeout, "drainTimeout");
        Objects.requireNonNull(leakWarningAfter, "leakWarningAfter");
        Objects.requireNonNull(idleInTransactionTimeout, "idleInTransactionTimeout");
        Objects.requireNonNull(maxQueryTime, "maxQueryTime");
        Objects.requireNonNull(maxTransactionTime, "maxTransactionTime");
    }
}
