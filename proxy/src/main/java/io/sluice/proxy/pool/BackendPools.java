package io.sluice.proxy.pool;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import io.sluice.config.PoolConfig;
import io.sluice.config.UserConfig;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.BackendConnector;
import io.sluice.proxy.backend.BackendKey;
import io.sluice.proxy.gate.GateRejection;
import io.sluice.proxy.metrics.ProxyMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * All backend pools of one server, one per backend user, under one global cap: the server never
 * sees more than {@code global-max} connections from this Sluice (open plus being opened). This
 * class is the registry and the public API (acquire, release, KILL QUERY, pause, reload, limits,
 * snapshots); the {@link PoolSet} holds the pools and their counts, {@link HandOff} moves
 * connections between waiters, idle lists and the server, {@link ServerCaps} applies the caps
 * ({@link CapPolicy} decides them), {@link Housekeeper} runs the periodic work, {@link BackendPool}
 * keeps each pool's books, and the gate ({@code io.sluice.proxy.gate}) its waiters, deadlines and
 * rejections. Nothing is static: a process could hold one per server.
 *
 * <p>Threading: pool and gate state is guarded by the {@link PoolSet}'s lock, held only for
 * bookkeeping; network work (connect, reset, ping) and promise completion run after it is released
 * (collected as {@code after} actions). Every public method is safe from any thread.
 *
 * <p>Hand-off: a connection that becomes free (released clean, or newly opened) goes straight to
 * the oldest waiter whose key it fits; only when nobody waits for it does it become idle.
 */
public final class BackendPools implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BackendPools.class);

    /** How a client gives a connection back. */
    public enum Release {
        /** Sluice knows the session state is what the next user expects. */
        CLEAN,
        /** Session state may be dirty: reset it (COM_CHANGE_USER) before reuse. */
        RESET,
        /** The connection's protocol state is unknown (a response was cut off): close it. */
        DISCARD
    }

    private final ProxyMetrics metrics;
    /** The pools, their counts and settings; also the lock. */
    private final PoolSet set;
    private final HandOff handOff;
    /** Appended to pool names in metrics ({@code app@db2:3306}) when one Sluice fronts several servers; null with one. */
    private final String serverLabel;

    public BackendPools(PoolConfig config, Collection<UserConfig> users, BackendConnector connector,
                        ProxyMetrics metrics, EventLoopGroup group) {
        this(config, users, connector, metrics, group, null);
    }

    /** @param serverLabel the server's address for the {@code pool} tag of its pools' metrics, or null with one server */
    public BackendPools(PoolConfig config, Collection<UserConfig> users, BackendConnector connector,
                        ProxyMetrics metrics, EventLoopGroup group, String serverLabel) {
        this.metrics = metrics;
        this.serverLabel = serverLabel;
        this.set = new PoolSet(config);
        this.handOff = new HandOff(set, connector, group);
        for (UserConfig u : users) {
            if (u.settingsOnly()) {
                continue; // pool settings of a server account: its pool comes with its first login (learnedAccount)
            }
            int max = u.poolMax().orElse(config.maxPerUser());
            BackendPool existing = set.get(u.backendUser());
            if (existing == null) {
                existing = addPool(u.backendUser(), u.backendPassword(), max, config.maxWaiters());
            } else {
                existing.max = Math.max(existing.max, max);
            }
            existing.priority |= u.priority();
        }
    }

    private BackendPool addPool(String name, String password, int max, int maxWaiters) {
        BackendPool p = new BackendPool(name, password, max, maxWaiters, metrics.pool(serverLabel == null ? name : name + "@" + serverLabel), handOff);
        p.meters.gauges(p, x -> snap(x).idle(), x -> snap(x).busy(), x -> snap(x).opening(),
                x -> snap(x).waiting(), x -> snap(x).max());
        set.add(p);
        return p;
    }

    private PoolSnapshot snap(BackendPool p) {
        synchronized (set) {
            return p.snapshot();
        }
    }

    public BackendConnector connector() {
        return handOff.opener.connector();
    }

    public PoolConfig config() {
        return set.config();
    }

    public ProxyMetrics metrics() {
        return metrics;
    }

    /** Starts housekeeping: idle timeout, max lifetime, min-idle, the limits refresh. */
    public void start() {
        synchronized (set) {
            handOff.housekeeper.start(handOff.opener.group, set.config().idleTimeout());
        }
    }

    /**
     * Asks for a backend connection for {@code key}. The future completes on {@code loop} with a
     * connection now owned by the caller (give it back with {@link #release}), or fails with a
     * {@link GateRejection} whose message is what the client should read. Cancelling the future
     * withdraws the request.
     */
    public Future<BackendConnection> acquire(BackendKey key, EventLoop loop) {
        return handOff.acquire(key, loop);
    }

    /** Gives a connection back. Safe from any thread; a closed connection is ignored (already accounted). */
    public void release(BackendConnection c, Release how) {
        handOff.release(c, how);
    }

    /**
     * Adds the requests granted at once since the last call to each pool's acquire timer, as waits
     * of 0 s (see {@link Housekeeper#flushMeters}). The admin endpoint calls this before it reads the timer.
     */
    public void flushMeters() {
        handOff.housekeeper.flushMeters();
    }

    /**
     * Sends KILL QUERY for {@code target}'s server thread on a short-lived connection of the same
     * account (outside the pools and their cap: the server's headroom makes room for it), then runs
     * {@code done}, whether or not the kill went through.
     */
    public void killQuery(BackendConnection target, Runnable done) {
        kill(target, true, done);
    }

    /** {@code KILL QUERY} ({@code query}) or {@code KILL CONNECTION} of {@code target}'s thread, as {@link #killQuery}. */
    public void kill(BackendConnection target, boolean query, Runnable done) {
        BackendPool p;
        synchronized (set) {
            p = set.get(target.key().backendUser());
        }
        if (p == null) {
            done.run();
            return;
        }
        handOff.opener.connector().connect(target.loop(), target.key(), p.password).addListener(f -> {
            if (!f.isSuccess()) {
                log.warn("could not open a connection to KILL QUERY {}: {}", target.threadId(), f.cause().getMessage());
                done.run();
                return;
            }
            BackendConnection killer = (BackendConnection) f.getNow();
            killer.execute(io.sluice.proxy.protocol.Packets.query(killer.channel().alloc(),
                    (query ? "KILL QUERY " : "KILL CONNECTION ") + target.threadId()),
                    io.sluice.proxy.protocol.CommandType.COM_QUERY, set.config().validationTimeout()).addListener(r -> {
                killer.quit(query ? "KILL QUERY sent" : "KILL CONNECTION sent");
                done.run();
            });
        });
    }

    // ---- pause and resume (admin actions) ------------------------------------------------------

    /** Stops handing out backends: new requests wait in the gate until {@link #resume}. Idempotent. */
    public void pause() {
        synchronized (set) {
            if (!set.paused) {
                set.paused = true;
                log.info("pools paused: requests wait until resumed");
            }
        }
    }

    /** Hands out backends again, serving the waiters in order. Idempotent. */
    public void resume() {
        List<Runnable> after = new ArrayList<>();
        synchronized (set) {
            if (!set.paused) {
                return;
            }
            set.paused = false;
            log.info("pools resumed");
            handOff.dispatchAll(after);
        }
        after.forEach(Runnable::run);
    }

    public boolean paused() {
        synchronized (set) {
            return set.paused;
        }
    }

    // ---- reconfigure (admin reload) -----------------------------------------------------------

    /**
     * Applies reloaded pool settings and users: timeouts and limits take effect for new work, pool
     * maxima are recomputed per backend user, a new backend user gets a pool, a changed backend
     * password is used for new connections. Idle connections above a lowered cap are closed now,
     * busy ones when they come back. Pools of backend users no longer configured stay (their
     * sessions keep working) with their last max.
     */
    public void reconfigure(PoolConfig next, Collection<UserConfig> users) {
        List<Runnable> after = new ArrayList<>();
        synchronized (set) {
            set.config(next);
            applyUsers(next, users);
            for (BackendPool p : set.all()) {
                p.gate.capacity(next.maxWaiters());
                handOff.caps.evictOverCap(p, after);
            }
            handOff.dispatchAll(after);
        }
        after.forEach(Runnable::run);
    }

    /** Each backend user's pool max, password and priority from the users that log in as it. Lock held. */
    private void applyUsers(PoolConfig next, Collection<UserConfig> users) {
        Map<String, Integer> maxima = new LinkedHashMap<>();
        Map<String, String> passwords = new LinkedHashMap<>();
        Map<String, Boolean> priority = new LinkedHashMap<>();
        for (UserConfig u : users) {
            if (u.settingsOnly()) {
                BackendPool learned = learnedPools.contains(u.backendUser()) ? set.get(u.backendUser()) : null;
                if (learned != null) { // a server account's pool: new settings, its learned secret stays
                    learned.max = Math.min(u.poolMax().orElse(next.maxPerUser()), learned.accountLimit);
                    learned.priority = u.priority();
                }
                continue;
            }
            maxima.merge(u.backendUser(), u.poolMax().orElse(next.maxPerUser()), Math::max);
            passwords.putIfAbsent(u.backendUser(), u.backendPassword());
            priority.merge(u.backendUser(), u.priority(), Boolean::logicalOr);
        }
        for (var e : maxima.entrySet()) {
            BackendPool p = set.get(e.getKey());
            if (p == null) {
                p = addPool(e.getKey(), passwords.get(e.getKey()), e.getValue(), next.maxWaiters());
            } else {
                p.max = e.getValue();
                p.password = passwords.get(e.getKey());
            }
            p.priority = priority.get(e.getKey());
        }
    }

    // ---- server accounts (sluice.auth.source = server) -----------------------------------------

    /** Pools created by {@link #learnedAccount}, whose secret a later login may replace. Guarded by {@link #set}. */
    private final java.util.Set<String> learnedPools = new java.util.HashSet<>();

    /**
     * A pool of Sluice's own account (the account lookup's) with {@code max} connections, under the
     * global cap like every pool; a configured user of the same backend account keeps its pool.
     */
    public void fixedPool(String backendUser, String password, int max) {
        synchronized (set) {
            if (set.get(backendUser) == null) {
                addPool(backendUser, password, max, set.config().maxWaiters());
            }
        }
    }

    /**
     * A client logged in as server account {@code backendUser} (not in sluice.users), proving
     * {@code secret}: creates its pool, or gives the pool it got at an earlier login the new secret
     * (a changed password), max and priority. The pool of a configured backend user of that name
     * is left as configured.
     *
     * @param poolMax      the account's pool-max (its settings entry, else pool.max-per-user)
     * @param accountLimit the account's MAX_USER_CONNECTIONS on the server, 0 = none: the pool never holds more
     */
    public void learnedAccount(String backendUser, String secret, int poolMax, int accountLimit, boolean priority) {
        int limit = accountLimit > 0 ? accountLimit : Integer.MAX_VALUE;
        int max = Math.min(poolMax, limit);
        List<Runnable> after = new ArrayList<>();
        synchronized (set) {
            BackendPool p = set.get(backendUser);
            if (p == null) {
                p = addPool(backendUser, secret, max, set.config().maxWaiters());
                learnedPools.add(backendUser);
            } else if (!learnedPools.contains(backendUser)) {
                return;
            }
            p.password = secret;
            p.accountLimit = limit;
            p.max = max;
            p.priority = priority;
            handOff.caps.evictOverCap(p, after);
        }
        after.forEach(Runnable::run);
    }

    /** Called (outside the lock) with the backend user whose login the server refused with 1045 (wrong password). */
    public void onLoginRefused(java.util.function.Consumer<String> listener) {
        set.loginRefused = listener;
    }

    // ---- the server's real limits (read by the Housekeeper, applied by ServerCaps) --------------

    /** What adaptive sharing allows now (sluice.server.adaptive), or Integer.MAX_VALUE when off or not yet read. */
    public int adaptiveCap() {
        return handOff.caps.share.adaptiveCap();
    }

    public ServerLimits limits() {
        return handOff.caps.share.limits();
    }

    /**
     * Sets the share of the server's limits to take, applied at the next read of the limits, and how
     * often they are read again (sluice.server.limits-refresh).
     */
    public void limitsPolicy(int headroom, int fleetSize, boolean adaptive, Duration limitsRefresh) {
        handOff.housekeeper.limitsRefresh(limitsRefresh);
        limitsPolicy(headroom, fleetSize, adaptive);
    }

    /** Sets the share of the server's limits to take; applies at the next read of the limits. */
    public void limitsPolicy(int headroom, int fleetSize, boolean adaptive) {
        handOff.caps.share.policy(headroom, fleetSize, adaptive);
    }

    /** The server's Threads_connected at the last read (every minute, every second with adaptive sharing), or -1. */
    public long threadsConnected() {
        return handOff.caps.share.threadsConnected();
    }

    /** The server's Max_used_connections at the last read of the limits, or -1. */
    public long maxUsedConnections() {
        return handOff.caps.share.maxUsedConnections();
    }

    /** Backend connections open or being opened, across all pools. */
    public int total() {
        synchronized (set) {
            return set.total;
        }
    }

    public List<PoolSnapshot> snapshot() {
        synchronized (set) {
            return set.snapshot();
        }
    }

    /** Closes every connection and fails every waiter; later acquires fail at once. */
    @Override
    public void close() {
        List<Runnable> after = new ArrayList<>();
        synchronized (set) {
            set.closed = true;
            handOff.housekeeper.stop();
            for (BackendPool p : set.all()) {
                p.gate.rejectAll(GateRejection::shuttingDown, after);
                for (BackendConnection c : new ArrayList<>(p.all)) {
                    after.add(() -> c.quit("shutdown"));
                }
            }
        }
        after.forEach(Runnable::run);
    }
}
