package io.sluice.config;

import java.time.Duration;
import java.util.Objects;

/**
 * Backend pools: one pool per backend user, all under {@code globalMax}.
 *
 * @param mode              default pool mode (a user may override it)
 * @param maxPerUser        backend connections one backend user's pool may hold (a user may override it)
 * @param minIdle           idle connections each pool keeps open (&lt;= maxPerUser)
 * @param globalMax         backend connections across all pools; the server never sees more from Sluice
 * @param idleTimeout       an idle backend above minIdle is closed after this long
 * @param maxLifetime       a backend is retired after this long (with up to 10% random jitter subtracted)
 * @param validateAfterIdle an idle backend older than this is pinged before it is handed out
 * @param validationTimeout how long that ping may take before the backend is discarded
 * @param acquireTimeout    how long a request may wait in the queue for a backend
 * @param maxWaiters        requests that may wait in one pool's queue; more are refused at once
 * @param statementCache    server-side prepared statements each backend connection keeps for reuse
 *                          (transaction mode); the least recently used is closed beyond it
 * @param maxClientStatements prepared statements one client may hold open at once (transaction mode)
 * @param reserve           backend connections of the global cap only pools of priority users may use
 * @param resetTimeout      how long a backend reset (COM_CHANGE_USER) or a session-state restore may take
 * @param globalMaxSet      global-max was set (file, environment, override or code), not reference.conf's
 *                          default: only then is a global-max above what the server allows worth a warning
 */
public record PoolConfig(
        PoolMode mode,
        int maxPerUser,
        int minIdle,
        int globalMax,
        Duration idleTimeout,
        Duration maxLifetime,
        Duration validateAfterIdle,
        Duration validationTimeout,
        Duration acquireTimeout,
        int maxWaiters,
        int statementCache,
        int maxClientStatements,
        int reserve,
        Duration resetTimeout,
        boolean globalMaxSet) {

    /** The reference default reset timeout: no longer than the default connect and acquire timeouts. */
    public static final Duration DEFAULT_RESET_TIMEOUT = Duration.ofSeconds(5);

    /** A pool config built in code: the default reset timeout, and its global-max counts as set. */
    public PoolConfig(PoolMode mode, int maxPerUser, int minIdle, int globalMax, Duration idleTimeout, Duration maxLifetime,
                      Duration validateAfterIdle, Duration validationTimeout, Duration acquireTimeout, int maxWaiters,
                      int statementCache, int maxClientStatements, int reserve) {
        this(mode, maxPerUser, minIdle, globalMax, idleTimeout, maxLifetime, validateAfterIdle, validationTimeout,
                acquireTimeout, maxWaiters, statementCache, maxClientStatements, reserve, DEFAULT_RESET_TIMEOUT, true);
    }

    /**
     * Equal when every value is: {@code globalMaxSet} says where a value came from, not what it is,
     * so a config rendered ({@code GET /config}) and read back equals the one it came from.
     */
    @Override
    public boolean equals(Object o) {
        return o instanceof PoolConfig p && mode == p.mode && maxPerUser == p.maxPerUser && minIdle == p.minIdle
                && globalMax == p.globalMax && idleTimeout.equals(p.idleTimeout) && maxLifetime.equals(p.maxLifetime)
                && validateAfterIdle.equals(p.validateAfterIdle) && validationTimeout.equals(p.validationTimeout)
                && acquireTimeout.equals(p.acquireTimeout) && maxWaiters == p.maxWaiters && statementCache == p.statementCache
                && maxClientStatements == p.maxClientStatements && reserve == p.reserve && resetTimeout.equals(p.resetTimeout);
    }

    @Override
    public int hashCode() {
        return Objects.hash(mode, maxPerUser, minIdle, globalMax, idleTimeout, maxLifetime, validateAfterIdle,
                validationTimeout, acquireTimeout, maxWaiters, statementCache, maxClientStatements, reserve, resetTimeout);
    }

    public PoolConfig {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        Objects.requireNonNull(maxLifetime, "maxLifetime");
        Objects.requireNonNull(validateAfterIdle, "validateAfterIdle");
        Objects.requireNonNull(validationTimeout, "validationTimeout");
        Objects.requireNonNull(acquireTimeout, "acquireTimeout");
        Objects.requireNonNull(resetTimeout, "resetTimeout");
    }
}
