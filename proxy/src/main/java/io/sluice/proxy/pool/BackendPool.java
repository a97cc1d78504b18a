package io.sluice.proxy.pool;

import io.netty.channel.EventLoop;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.BackendKey;
import io.sluice.proxy.gate.Gate;
import io.sluice.proxy.gate.GateRejection;
import io.sluice.proxy.gate.Waiter;
import io.sluice.proxy.metrics.ProxyMetrics;

import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Set;

/**
 * The connections of one backend user, and its gate. All fields are guarded by the owning
 * {@link BackendPools}' lock. {@code busy = all - idle}: a connection being reset or validated is busy.
 */
final class BackendPool implements Gate.Owner {
    final String name;
    /** Volatile: a reload may change it while an open (run outside the lock) reads it. */
    volatile String password;
    int max;
    /** A pool of a priority user: it may use the connections sluice.pool.reserve keeps back. */
    boolean priority;
    final Gate gate;
    /** Every open connection of this pool, idle or busy. */
    final Set<BackendConnection> all = new HashSet<>();
    /** Idle connections, most recently returned first. */
    final ArrayDeque<BackendConnection> idle = new ArrayDeque<>();
    /** Connections being opened (count against max and the global cap). */
    int opening;
    /** The event loop of each connection being opened (one entry per {@link #opening}). */
    final java.util.List<EventLoop> openingOn = new java.util.ArrayList<>();
    /**
     * Idle connections closed to make room and not yet gone: they still count (they are in
     * {@code all}) until the server has closed them, so the cap holds on the server's side too.
     */
    int evicting;
    /** Key of the most recent request, used to open min-idle connections ahead of demand. */
    BackendKey lastKey;
    long acquires;
    /** Of {@link #acquires}, those that found a fresh idle connection at once: not timed one by one. */
    long grantedAtOnce;
    long timeouts;
    long queueFull;
    long unavailable;
    long connects;
    long connectFailures;
    String lastConnectError;
    /** Wall-clock time of the last failed open, 0 = never. */
    long lastConnectFailureMillis;
    /** Consecutive failed opens, for backoff. */
    int failuresInARow;
    /** At most one WARN per 10 s for failed opens; sluice_backend_connects_total{result="failed"} counts each. */
    final LogLimiter connectFailureLog = new LogLimiter(java.time.Duration.ofSeconds(10));
    boolean retryScheduled;
    /**
     * Connections to close when they are next free, each to be replaced by a new one on the event
     * loop it maps to ({@code BackendPools.rebalances}); an entry stays until the connection closes.
     */
    final java.util.Map<BackendConnection, EventLoop> swaps = new java.util.IdentityHashMap<>();
    /** When this pool last swapped a connection onto another event loop ({@code BackendPools.rebalances}). */
    long rebalancedNanos = System.nanoTime() - BackendPools.REBALANCE_INTERVAL_NANOS;
    final ProxyMetrics.PoolMeters meters;
    /** The registry whose lock guards this pool and its gate. */
    private final BackendPools owner;

    BackendPool(String name, String password, int max, int maxWaiters, ProxyMetrics.PoolMeters meters, BackendPools owner) {
        this.name = name;
        this.password = password;
        this.max = max;
        this.owner = owner;
        this.gate = new Gate(maxWaiters, owner, this);
        this.meters = meters;
    }

    /** The gate removed {@code w} at its deadline (the lock is held): the registry counts it and describes the pool. */
    @Override
    public GateRejection.Usage timedOut(Waiter w) {
        return owner.timedOut(this);
    }

    int size() {
        return all.size() + opening;
    }

    int busy() {
        return all.size() - idle.size();
    }

    /** Takes the idle connection for {@code key}, preferring one on {@code loop}; null when none fits. */
    BackendConnection takeIdle(BackendKey key, EventLoop loop) {
        return takeIdle(key, loop, false);
    }

    /**
     * Takes the idle connection for {@code key} on {@code loop}, or when {@code ownLoopOnly} is false
     * and there is none there, on any loop; null when none fits.
     */
    BackendConnection takeIdle(BackendKey key, EventLoop loop, boolean ownLoopOnly) {
        BackendConnection fallback = null;
        for (Iterator<BackendConnection> it = idle.iterator(); it.hasNext(); ) {
            BackendConnection c = it.next();
            if (!c.key().equals(key)) {
                continue;
            }
            if (c.loop() == loop) {
                it.remove();
                return c;
            }
            if (fallback == null) {
                fallback = c;
            }
        }
        if (fallback != null && !ownLoopOnly) {
            idle.remove(fallback);
            return fallback;
        }
        return null;
    }

    /** The idle connection returned longest ago, or null. */
    BackendConnection oldestIdle() {
        return idle.peekLast();
    }

    PoolSnapshot snapshot() {
        return new PoolSnapshot(name, max, busy(), idle.size(), opening, gate.size(), gate.oldestWaitMillis(), acquires,
                timeouts, queueFull, unavailable, connects, connectFailures, lastConnectError, failuresInARow,
                lastConnectFailureMillis);
    }
}
