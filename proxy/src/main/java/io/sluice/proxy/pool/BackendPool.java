package io.sluice.proxy.pool;

import io.netty.channel.EventLoop;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.BackendKey;
import io.sluice.proxy.gate.Gate;
import io.sluice.proxy.gate.GateRejection;
import io.sluice.proxy.gate.Waiter;
import io.sluice.proxy.metrics.ProxyMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Set;

/**
 * The connections of one backend user, its gate, where its connections live
 * ({@link LoopAffinity}), and what it counts: acquires, timeouts, opens and failed opens (with the
 * rate-limited WARN). All fields are guarded by the {@link PoolSet} lock.
 * {@code busy = all - idle}: a connection being reset or validated is busy.
 */
final class BackendPool implements CapPolicy.Load, Gate.Owner {
    /** The pools' one log category (operators and tests filter on it). */
    private static final Logger log = LoggerFactory.getLogger(BackendPools.class);

    final String name;
    /** Volatile: a reload may change it while an open (run outside the lock) reads it. */
    volatile String password;
    int max;
    /** A learned server account's pool: the most its max may be (MAX_USER_CONNECTIONS, pool-max); else unused. */
    int accountLimit = Integer.MAX_VALUE;
    /** A pool of a priority user: it may use the connections sluice.pool.reserve keeps back. */
    boolean priority;
    final Gate gate;
    /** Every open connection of this pool, idle or busy. */
    final Set<BackendConnection> all = new HashSet<>();
    /** Idle connections, most recently returned first. */
    final ArrayDeque<BackendConnection> idle = new ArrayDeque<>();
    /** Connections being opened (count against max and the global cap). */
    int opening;
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
    /** Where this pool's connections live and which are to move ({@link LoopAffinity}). */
    final LoopAffinity affinity = new LoopAffinity();
    final ProxyMetrics.PoolMeters meters;
    /** The hand-off that counts this pool's timeouts; its {@link PoolSet} is the lock guarding this pool and its gate. */
    private final HandOff owner;

    BackendPool(String name, String password, int max, int maxWaiters, ProxyMetrics.PoolMeters meters, HandOff owner) {
        this.name = name;
        this.password = password;
        this.max = max;
        this.owner = owner;
        this.gate = new Gate(maxWaiters, owner == null ? null : owner.set, this); // null: tests of the books, no deadlines
        this.meters = meters;
    }

    /** The gate removed {@code w} at its deadline (the lock is held): the hand-off counts it and describes the pool. */
    @Override
    public GateRejection.Usage timedOut(Waiter w) {
        return owner.timedOut(this);
    }

    @Override
    public int size() {
        return all.size() + opening;
    }

    @Override
    public int max() {
        return max;
    }

    @Override
    public int evicting() {
        return evicting;
    }

    @Override
    public int opening() {
        return opening;
    }

    @Override
    public int waiting() {
        return gate.size();
    }

    /** A connection is being opened on {@code loop}: it counts against the caps from now. */
    void opening(EventLoop loop) {
        opening++;
        affinity.opening(loop);
    }

    /** An open on {@code loop} has ended, opened or failed. */
    void openEnded(EventLoop loop) {
        opening--;
        affinity.openEnded(loop);
    }

    /** An open worked: counts it, and says so once at INFO if opens had been failing. */
    void openSucceeded() {
        connects++;
        if (failuresInARow > 0) {
            int held = connectFailureLog.drain();
            log.info("pool '{}': a backend connection opened again after {} failed opens{}", name, failuresInARow,
                    held > 0 ? " (" + held + " of their WARN lines were held back)" : "");
        }
        failuresInARow = 0;
        meters.connectOk.increment();
    }

    /** An open failed: counts it, keeps its error for /stats and the 9401 text, and WARNs at most once per 10 s. */
    void openFailed(Throwable cause) {
        connectFailures++;
        failuresInARow++;
        meters.connectFailed.increment();
        lastConnectError = cause.getMessage();
        lastConnectFailureMillis = System.currentTimeMillis();
        int held = connectFailureLog.admit(System.nanoTime());
        if (held >= 0) {
            log.warn("pool '{}': opening a backend connection failed ({} in a row): {}{}", name, failuresInARow,
                    cause.getMessage(), connectFailureLog.suffix(held));
        }
    }

    /**
     * Takes idle {@code c} out to be closed to make room: it keeps counting (in {@link #all}) until
     * the server has closed it ({@link #forget}), so the server never sees the new connection and
     * the old one at the same time.
     */
    void evict(BackendConnection c) {
        idle.remove(c);
        evicting++;
        c.markEvicting();
    }

    /** {@code c} has closed: false when it was forgotten already. */
    boolean forget(BackendConnection c) {
        if (!all.remove(c)) {
            return false;
        }
        idle.remove(c);
        if (c.evicting()) {
            evicting--;
        }
        meters.backendClosed(c.closeReason());
        log.debug("pool '{}': {} closed: {}", name, c, c.closeReason());
        return true;
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
