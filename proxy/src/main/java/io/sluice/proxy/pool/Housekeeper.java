package io.sluice.proxy.pool;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.config.PoolConfig;
import io.sluice.config.ServerConfig;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.BackendKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The pools' periodic work, as HikariCP's HouseKeeper: closes idle connections past the idle
 * timeout, the server's wait_timeout or their lifetime; opens min-idle ones; reads the server's
 * limits again every sluice.server.limits-refresh (over an idle backend, a short-lived connection
 * of its own, or the next backend given back) and Threads_connected every second for adaptive
 * sharing; adds the batched grants to the acquire timers. Also the rules a connection lives by:
 * its lifetime with jitter, and when it must answer a ping before it is handed out.
 *
 * <p>Threading: the pass runs on one event loop of the group; its state is guarded by the
 * {@link PoolSet} lock, which it takes like any other caller; network work runs after.
 */
final class Housekeeper {
    /** The pools' one log category (operators and tests filter on it). */
    private static final Logger log = LoggerFactory.getLogger(BackendPools.class);

    /** The longest gap between passes (idle timeout, max lifetime, min-idle); idle-timeout / 4 if shorter. */
    static final long MAX_PERIOD_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final HandOff handOff;
    /** The pools and their counts; also the lock. */
    private final PoolSet pools;
    private final ServerCaps caps;
    private ScheduledFuture<?> task;
    /** sluice.server.limits-refresh: how often the limits are read again, whatever the pools' state. */
    private volatile long limitsRefreshNanos = ServerConfig.DEFAULT_LIMITS_REFRESH.toNanos();
    /** When the limits were last read (or a read started: one refresh in flight at a time). */
    private long limitsReadNanos;
    /** A refresh is due and every backend is busy at the cap: the next one given back reads the limits. */
    private boolean limitsOnRelease;
    /** The short-lived connection of {@link #refreshLimitsWithoutIdle} is open (counted in the pools' total). */
    private boolean limitsConnection;
    private boolean threadsReading;
    private long threadsReadNanos;

    Housekeeper(HandOff handOff) {
        this.handOff = handOff;
        this.pools = handOff.set;
        this.caps = handOff.caps;
    }

    /** Starts the passes on one loop of {@code group}. Caller holds the lock. */
    void start(EventLoopGroup group, Duration idleTimeout) {
        long period = Math.max(100, Math.min(TimeUnit.NANOSECONDS.toMillis(MAX_PERIOD_NANOS), idleTimeout.toMillis() / 4));
        task = group.next().scheduleWithFixedDelay(this::run, period, period, TimeUnit.MILLISECONDS);
    }

    /** Stops the passes. Caller holds the lock. */
    void stop() {
        if (task != null) {
            task.cancel(false);
        }
    }

    void limitsRefresh(Duration every) {
        limitsRefreshNanos = every.toNanos();
    }

    /** One pass over every pool. */
    private void run() {
        List<Runnable> after = new ArrayList<>();
        synchronized (pools) {
            if (pools.closed) {
                return;
            }
            long now = System.nanoTime();
            long serverIdleLimit = caps.share.serverIdleLimitNanos(MAX_PERIOD_NANOS);
            for (BackendPool p : pools.all()) {
                closeExpired(p, now, serverIdleLimit, after);
                readOnIdle(p, now, after);
                openMinIdle(p, after);
                handOff.dispatch(p, after);
            }
            if (limitsRefreshDue(now)) {
                refreshLimitsWithoutIdle(now, after); // every backend is busy (or none is open)
            }
        }
        after.forEach(Runnable::run);
        flushMeters();
    }

    /** Closes the idle connections of {@code p} past their lifetime or idle too long. Caller holds the lock. */
    private void closeExpired(BackendPool p, long now, long serverIdleLimit, List<Runnable> after) {
        PoolConfig config = pools.config();
        long idleTimeout = config.idleTimeout().toNanos();
        for (var it = p.idle.descendingIterator(); it.hasNext(); ) {
            BackendConnection c = it.next();
            boolean retire = now >= c.retireAtNanos();
            long idle = now - c.idleSinceNanos();
            // min-idle connections too: the server would close them at wait_timeout, maybe
            // just as one is handed out; min-idle opens a fresh one.
            boolean idleTooLong = idle >= idleTimeout && p.all.size() > config.minIdle() || idle >= serverIdleLimit;
            if (retire || idleTooLong) {
                // Counted until the server has closed it (see HandOff.closed).
                it.remove();
                String reason = retire ? "max lifetime reached" : "idle timeout";
                after.add(() -> c.quit(reason));
            }
        }
    }

    /** Reads the limits or Threads_connected, when due, over an idle connection of {@code p}. Caller holds the lock. */
    private void readOnIdle(BackendPool p, long now, List<Runnable> after) {
        if (limitsRefreshDue(now) && !p.idle.isEmpty()) {
            BackendConnection c = p.idle.pollLast();
            limitsReadNanos = now; // one refresh in flight at a time
            limitsOnRelease = false;
            after.add(() -> readLimits(c, () -> handOff.returnIdle(c)));
        }
        if (threadsReadDue(now) && !p.idle.isEmpty()) {
            BackendConnection c = p.idle.pollLast();
            threadsReading = true;
            threadsReadNanos = now;
            after.add(() -> readThreadsConnected(c, () -> handOff.returnIdle(c)));
        }
    }

    /** Opens connections of {@code p} up to sluice.pool.min-idle while nobody waits. Caller holds the lock. */
    private void openMinIdle(BackendPool p, List<Runnable> after) {
        if (p.lastKey != null && p.gate.isEmpty() && !pools.paused) {
            int minIdle = pools.config().minIdle();
            while (p.idle.size() + p.opening < minIdle && p.size() < p.max && pools.total < caps.capFor(p)) {
                handOff.opener.open(p, p.lastKey, handOff.opener.group.next(), after);
            }
        }
    }

    /** Whether the server's limits are due to be read again (sluice.server.limits-refresh). Caller holds the lock. */
    private boolean limitsRefreshDue(long now) {
        return caps.share.tried && !pools.paused && !pools.closed && now - limitsReadNanos > limitsRefreshNanos;
    }

    /** Whether adaptive sharing should read Threads_connected now. Caller holds the lock. */
    private boolean threadsReadDue(long now) {
        return !threadsReading && !pools.paused && !pools.closed && caps.share.threadsReadDue(now, threadsReadNanos);
    }

    /**
     * On its way back to the pool, {@code c} reads what is due and nobody could read on an idle
     * connection: under load none is ever idle. Returns whether it took {@code c} (it is returned
     * to the pool after the read). Caller holds the lock.
     */
    boolean readsOnRelease(BackendConnection c, List<Runnable> after) {
        if (threadsReadDue(System.nanoTime())) {
            threadsReading = true;
            threadsReadNanos = System.nanoTime();
            after.add(() -> readThreadsConnected(c, () -> handOff.returnIdle(c)));
            return true;
        }
        if (limitsOnRelease) {
            // Limits refresh due while at the cap with nothing idle: read them on this one on its way back.
            limitsOnRelease = false;
            limitsReadNanos = System.nanoTime();
            after.add(() -> readLimits(c, () -> handOff.returnIdle(c)));
            return true;
        }
        return false;
    }

    /**
     * Reads the limits when no backend is idle: over a short-lived connection of its own, counted
     * in the pools' total against the cap while it lives, when the cap has room; at the cap, over
     * the next backend given back ({@link #readsOnRelease}), since a pool at its cap gives one back
     * with every finished transaction (session mode: every session that ends). Caller holds the lock.
     */
    private void refreshLimitsWithoutIdle(long now, List<Runnable> after) {
        BackendPool p = null;
        for (BackendPool q : pools.all()) {
            if (q.lastKey != null && (p == null || q.all.size() > p.all.size())) {
                p = q;
            }
        }
        if (p == null || limitsConnection) {
            return; // no client has asked for a backend yet, or the last refresh's connection is still at it
        }
        limitsReadNanos = now; // one refresh in flight at a time
        if (pools.total - pools.totalEvicting() >= caps.globalCap()) {
            limitsOnRelease = true;
            return;
        }
        pools.total++;
        limitsConnection = true;
        BackendPool pool = p;
        BackendKey key = p.lastKey;
        EventLoop loop = handOff.opener.group.next();
        after.add(() -> handOff.opener.connector().connect(loop, key, pool.password).addListener(f -> {
            if (!f.isSuccess()) {
                // The server may be full of Sluice's busy backends (max_connections lowered below them):
                // read on the next one given back instead, which then closes if it is over the new cap.
                log.debug("could not open a connection to read the server's limits ({}); reading them on the next "
                        + "backend given back", f.cause().getMessage());
                synchronized (pools) {
                    limitsOnRelease = true;
                }
                limitsConnectionGone();
                return;
            }
            BackendConnection c = (BackendConnection) f.getNow();
            c.channel().closeFuture().addListener(x -> limitsConnectionGone());
            readLimits(c, () -> c.quit("server limits read"));
        }));
    }

    /** The connection of {@link #refreshLimitsWithoutIdle} has closed: its slot is free. */
    private void limitsConnectionGone() {
        List<Runnable> after = new ArrayList<>(2);
        synchronized (pools) {
            pools.total--;
            limitsConnection = false;
            handOff.dispatchAll(after);
        }
        after.forEach(Runnable::run);
    }

    /**
     * Reads the server's limits on connection {@code c} (fresh, or taken idle; nobody else uses it
     * meanwhile), applies them, then runs {@code then}. Never fails: without an answer
     * the configured global-max stays.
     */
    void readLimits(BackendConnection c, Runnable then) {
        PoolConfig config = pools.config();
        ServerShare share = caps.share;
        ServerLimitsProbe.read(c, config.validationTimeout().plusSeconds(3), config.globalMax(), share.headroom(),
                share.fleetSize()).addListener(f -> {
            applyReading((ServerLimitsProbe.Reading) f.getNow());
            then.run();
        });
    }

    /**
     * Applies a read of the server's limits ({@link ServerCaps#applyReading}), then serves waiters;
     * the next refresh is due from now, whether or not the server told.
     */
    private void applyReading(ServerLimitsProbe.Reading r) {
        List<Runnable> after = new ArrayList<>();
        synchronized (pools) {
            limitsReadNanos = System.nanoTime();
            if (caps.applyReading(r, limitsConnection ? 1 : 0, after)) {
                handOff.dispatchAll(after);
            }
        }
        after.forEach(Runnable::run);
    }

    /**
     * Reads the server's Threads_connected on idle connection {@code c} (nobody else uses it
     * meanwhile) for adaptive sharing, applies it, then runs {@code then}.
     */
    private void readThreadsConnected(BackendConnection c, Runnable then) {
        ServerLimitsProbe.threadsConnected(c, pools.config().validationTimeout()).addListener(f -> {
            adapt((Long) f.getNow());
            then.run();
        });
    }

    /** Applies a read of Threads_connected for adaptive sharing ({@link ServerCaps#adapt}); a changed cap serves waiters. */
    private void adapt(long threads) {
        List<Runnable> after = new ArrayList<>();
        synchronized (pools) {
            threadsReading = false;
            if (caps.adapt(threads, after)) {
                handOff.dispatchAll(after);
            }
        }
        after.forEach(Runnable::run);
    }

    /**
     * Adds the requests granted at once since the last call to each pool's acquire timer, as waits
     * of 0 s. Timing each of them on the spot cost ~2% of Sluice's CPU in transaction mode, where
     * every query takes a connection: both event loops wrote to the same percentile histogram.
     * Every pass calls this (at least once a second), and the admin endpoint before it reads the timer.
     */
    void flushMeters() {
        List<Runnable> after = new ArrayList<>();
        synchronized (pools) {
            for (BackendPool p : pools.all()) {
                long n = p.grantedAtOnce;
                after.add(() -> p.meters.grantedAtOnce(n));
            }
        }
        after.forEach(Runnable::run);
    }

    /** When a connection created at {@code createdNanos} retires: its lifetime less up to 10% jitter, so they do not all retire at once. */
    static long retireAtNanos(long createdNanos, long lifetimeNanos) {
        return createdNanos + lifetimeNanos - (long) (lifetimeNanos * 0.1 * ThreadLocalRandom.current().nextDouble());
    }

    /** Whether {@code c}, idle until now, has to answer a ping before it is handed out. */
    static boolean needsValidation(BackendConnection c, PoolConfig config) {
        return c.listener() == null && System.nanoTime() - c.idleSinceNanos() > config.validateAfterIdle().toNanos()
                && c.tracker().idle();
    }
}
