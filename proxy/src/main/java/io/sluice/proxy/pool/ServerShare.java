package io.sluice.proxy.pool;

import io.sluice.config.PoolConfig;
import io.sluice.config.ServerConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;

/**
 * How much of the server this Sluice takes: the server's limits as last read
 * ({@link ServerLimitsProbe}), the share settings (sluice.server.headroom, fleet-size, adaptive),
 * the cap adaptive sharing allows now, and the server's load figures for /stats. It decides and
 * logs; {@link ServerCaps} closes idle connections over a lowered cap after it changed.
 *
 * <p>Threading: the volatile fields are read from any thread (admin, the open path); the rest, and
 * every method that changes state, is guarded by the {@link PoolSet} lock.
 */
final class ServerShare {
    /** The pools' one log category (operators and tests filter on it). */
    private static final Logger log = LoggerFactory.getLogger(BackendPools.class);

    /** Adaptive sharing reads Threads_connected at most this often. */
    static final long THREADS_REFRESH_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** Last limits read from the server, or null before the first successful read. */
    private volatile ServerLimits limits;
    /** sluice.server.headroom and fleet-size: how much of the server's limits this Sluice takes. */
    private volatile int headroom = ServerConfig.DEFAULT_HEADROOM;
    private volatile int fleetSize = ServerConfig.DEFAULT_FLEET_SIZE;
    private volatile boolean adaptive;
    /** max_connections - headroom - everyone else's connections, at the last read; MAX_VALUE when off. */
    private volatile int adaptiveCap = Integer.MAX_VALUE;
    private volatile long threadsConnected = -1;
    private volatile long maxUsedConnections = -1;
    private long adaptiveLoggedNanos;
    /** True once a read of the limits was tried (so a server that will not tell does not block opens). Guarded. */
    boolean tried;
    /** The first connection is reading the limits: it will serve the oldest waiter right after. Guarded. */
    boolean reading;

    ServerLimits limits() {
        return limits;
    }

    int headroom() {
        return headroom;
    }

    int fleetSize() {
        return fleetSize;
    }

    boolean adaptive() {
        return adaptive;
    }

    int adaptiveCap() {
        return adaptiveCap;
    }

    long threadsConnected() {
        return threadsConnected;
    }

    long maxUsedConnections() {
        return maxUsedConnections;
    }

    /** The most backend connections Sluice opens: {@code globalMax}, lowered to what the server allows. */
    int globalCap(int globalMax) {
        return CapPolicy.globalCap(globalMax, limits, adaptiveCap);
    }

    /** Sets the share of the server's limits to take; applies at the next read of the limits. */
    void policy(int headroom, int fleetSize, boolean adaptive) {
        this.headroom = headroom;
        this.fleetSize = fleetSize;
        this.adaptive = adaptive;
        if (!adaptive) {
            adaptiveCap = Integer.MAX_VALUE;
        }
    }

    /**
     * How long a backend may sit idle before the server's wait_timeout could close it: Sluice closes
     * it first, a tenth of wait_timeout (at least two housekeeping periods) earlier. Housekeeping
     * looks every {@code housekeepingMaxPeriodNanos} at most, so the close lands at least that long
     * before the server's. Unbounded until the limits are read.
     */
    long serverIdleLimitNanos(long housekeepingMaxPeriodNanos) {
        ServerLimits l = limits;
        if (l == null || l.waitTimeoutSeconds() <= 0) {
            return Long.MAX_VALUE;
        }
        long wait = TimeUnit.SECONDS.toNanos(l.waitTimeoutSeconds());
        return Math.max(wait / 2, wait - Math.max(2 * housekeepingMaxPeriodNanos, wait / 10));
    }

    /** A read found nothing: the configured global-max stays. Caller holds the lock. */
    void readFailed(String failure, int globalMax) {
        log.warn("could not read the server's limits ({}); keeping sluice.pool.global-max = {}", failure, globalMax);
        tried = true;
    }

    /**
     * Takes a reading's limits and load figures, logging what changed. Returns the limits it
     * replaces (null on the first read). Caller holds the lock.
     */
    ServerLimits apply(ServerLimitsProbe.Reading r, PoolConfig config) {
        ServerLimits before = limits;
        ServerLimits l = r.limits();
        limits = l;
        tried = true;
        maxUsedConnections = r.maxUsedConnections();
        threadsConnected = r.threadsConnected();
        if (before == null || before.effectiveCap() != l.effectiveCap()) {
            logApplied(l, before, config, serverIdleLimitNanos(Housekeeper.MAX_PERIOD_NANOS));
        }
        return before;
    }

    private static void logApplied(ServerLimits l, ServerLimits before, PoolConfig config, long idleLimitNanos) {
        log.info("server limits: max_connections={}, max_user_connections={}, account limit={}, open_files_limit={}, "
                        + "wait_timeout={}s; backend cap {}", l.maxConnections(), l.maxUserConnections(),
                l.accountLimit() < 0 ? "not visible" : l.accountLimit(), l.openFilesLimit(), l.waitTimeoutSeconds(), l.reasoning());
        if (config.globalMax() > l.effectiveCap() && config.globalMaxSet()) {
            log.warn("sluice.pool.global-max ({}) is above what the server allows this Sluice ({}); using {}",
                    config.globalMax(), l.effectiveCap(), l.effectiveCap());
        } else if (config.globalMax() > l.effectiveCap() && before == null) {
            // reference.conf's default, not the user's choice: nothing to warn about.
            log.info("sluice.pool.global-max is not set: using the cap derived from the server, {} (the default {} "
                    + "is above it)", l.effectiveCap(), config.globalMax());
        }
        long idleLimitMs = TimeUnit.NANOSECONDS.toMillis(idleLimitNanos);
        if (config.idleTimeout().toMillis() > idleLimitMs) {
            log.warn("sluice.pool.idle-timeout ({}) is not below the server's wait_timeout ({}s): idle backends, "
                    + "min-idle ones included, are closed after {} ms instead, before the server would close them",
                    config.idleTimeout(), l.waitTimeoutSeconds(), idleLimitMs);
        }
    }

    /**
     * Whether adaptive sharing should read Threads_connected now (with the pools neither paused nor
     * closed, and no read under way since {@code lastReadNanos}). Caller holds the lock.
     */
    boolean threadsReadDue(long now, long lastReadNanos) {
        return adaptive && limits != null && now - lastReadNanos > THREADS_REFRESH_NANOS;
    }

    /**
     * Adaptive sharing: keeps Sluice to what every other client leaves free below max_connections -
     * headroom, given the server's Threads_connected ({@code threads}) and Sluice's own open
     * connections ({@code ours}). Returns whether the cap changed (then the caller closes idle
     * connections over it, or serves waiters). Caller holds the lock.
     */
    boolean adapt(long threads, long ours) {
        if (threads > 0) {
            threadsConnected = threads;
        }
        ServerLimits l = limits;
        if (threads <= 0 || l == null || !adaptive) {
            return false;
        }
        long others = CapPolicy.others(threads, ours);
        int next = CapPolicy.nextAdaptiveCap(adaptiveCap, ours, others, l.maxConnections(), headroom);
        if (next == adaptiveCap) {
            return false;
        }
        long now = System.nanoTime();
        boolean loud = now - adaptiveLoggedNanos > TimeUnit.SECONDS.toNanos(30);
        if (loud) {
            adaptiveLoggedNanos = now;
        }
        String line = "adaptive sharing: Threads_connected {} of which {} are Sluice's; {} left for Sluice "
                + "(max_connections {} - headroom {} - {} others; was {})";
        Object[] args = {threads, threads - others, next, l.maxConnections(), headroom, others,
                adaptiveCap == Integer.MAX_VALUE ? "unset" : adaptiveCap};
        if (loud) {
            log.info(line, args);
        } else {
            log.debug(line, args);
        }
        adaptiveCap = next;
        return true;
    }
}
