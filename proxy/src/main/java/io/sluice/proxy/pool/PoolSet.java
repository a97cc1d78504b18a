package io.sluice.proxy.pool;

import io.sluice.config.PoolConfig;
import io.sluice.proxy.backend.BackendConnection;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One server's pools, by backend user, with what they count together: the connections open or
 * being opened across them ({@link #total}, against the global cap), how many are being opened or
 * closed to make room, the settings in force, and whether the pools are paused or closed. The
 * units that act on them ({@link BackendPools}, {@link HandOff}, {@link Opener},
 * {@link ServerCaps}, {@link Housekeeper}) read and change them here; a process fronting several
 * servers would hold one set per server, so nothing here is static.
 *
 * <p>Threading: this object is the pools' one lock. Every field here, every {@link BackendPool}
 * field and gate, and the state of {@link ServerCaps} and {@link Housekeeper} are guarded by it,
 * taken from any event loop (acquire, release), the housekeeping loop and the admin thread; it is
 * held only for bookkeeping, and network work and promise completion run after it is released
 * (collected as {@code after} actions). A plain lock was chosen over a single pool executor
 * because acquires come from every event loop and the critical sections are a few field updates.
 */
final class PoolSet {
    private final Map<String, BackendPool> pools = new LinkedHashMap<>();
    /** The pool settings in force; a reload replaces them (read without the lock). */
    private volatile PoolConfig config;
    /** Backend connections open or being opened, across all pools (and the limits refresh's own). Guarded by this. */
    int total;
    /** Guarded by this. */
    boolean closed;
    /**
     * While paused, acquire() queues every request (timeouts still apply) and nothing is handed out
     * or opened; connections already lent out stay with their sessions, so open work can finish.
     * The hooks are the {@code paused} checks in acquire, dispatch, offer and housekeeping. Guarded by this.
     */
    boolean paused;

    /** Told the backend user of a login the server refused (1045), outside the lock; null = nobody listens. */
    volatile java.util.function.Consumer<String> loginRefused;

    PoolSet(PoolConfig config) {
        this.config = config;
    }

    PoolConfig config() {
        return config;
    }

    /** A reload's settings, for new work. Caller holds the lock. */
    void config(PoolConfig next) {
        this.config = next;
    }

    /** Every pool, in the order they were added. Caller holds the lock. */
    Collection<BackendPool> all() {
        return pools.values();
    }

    /** The pool of backend user {@code name}, or null. Caller holds the lock. */
    BackendPool get(String name) {
        return pools.get(name);
    }

    /** Adds a pool (a backend user seen for the first time). Caller holds the lock. */
    void add(BackendPool p) {
        pools.put(p.name, p);
    }

    /** The idle connection returned longest ago in any pool, or null. Caller holds the lock. */
    BackendConnection oldestIdleAnywhere() {
        BackendConnection best = null;
        for (BackendPool q : pools.values()) {
            BackendConnection c = q.oldestIdle();
            if (c != null && (best == null || c.idleSinceNanos() < best.idleSinceNanos())) {
                best = c;
            }
        }
        return best;
    }

    /** Connections being opened, across all pools. Caller holds the lock. */
    int totalOpening() {
        int n = 0;
        for (BackendPool q : pools.values()) {
            n += q.opening;
        }
        return n;
    }

    /** Connections closed to make room and not yet gone, across all pools. Caller holds the lock. */
    int totalEvicting() {
        int n = 0;
        for (BackendPool q : pools.values()) {
            n += q.evicting;
        }
        return n;
    }

    /**
     * Closes idle {@code c} to make room; it counts against the caps until the server has closed it.
     * Caller holds the lock; the close runs in {@code after}.
     */
    void evict(BackendConnection c, List<Runnable> after, String reason) {
        pools.get(c.key().backendUser()).evict(c);
        after.add(() -> c.quit(reason));
    }

    /** Every pool's books now. Caller holds the lock. */
    List<PoolSnapshot> snapshot() {
        List<PoolSnapshot> out = new ArrayList<>(pools.size());
        for (BackendPool p : pools.values()) {
            out.add(p.snapshot());
        }
        return out;
    }
}
