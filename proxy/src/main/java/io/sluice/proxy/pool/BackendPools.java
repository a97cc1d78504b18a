package io.sluice.proxy.pool;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import io.sluice.config.PoolConfig;
import io.sluice.config.UserConfig;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.BackendConnector;
import io.sluice.proxy.backend.BackendException;
import io.sluice.proxy.backend.BackendKey;
import io.sluice.proxy.gate.GateRejection;
import io.sluice.proxy.gate.Waiter;
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
 * All backend pools, one per backend user, under one global cap: the server never sees more than
 * {@code global-max} connections from this Sluice (open plus being opened). This class is the
 * registry and the public API (acquire, release, KILL QUERY, pause, reload, snapshots) and moves
 * connections between waiters, idle lists and the server; it asks {@link CapPolicy} what the caps
 * allow, {@link LoopAffinity} where a connection should live, {@link ServerShare} how much of the
 * server it may take; {@link Housekeeper} runs the periodic work, {@link BackendPool} keeps each
 * pool's books, and the gate ({@code io.sluice.proxy.gate}) its waiters, deadlines and rejections.
 *
 * <p>Threading: pool and gate state is guarded by this object's lock, held only for bookkeeping;
 * network work (connect, reset, ping) and promise completion run after the lock is released
 * (collected as {@code after} actions). A plain lock was chosen over a single pool executor because
 * acquires come from every event loop and the critical sections are a few field updates.
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

    private static final String REBALANCED = "rebalanced onto the event loop of the clients waiting for it";
    /**
     * The close reason (and metric tag {@code rekeyed}) of a free backend closed so that one of the
     * oldest waiter's key opens in its slot: a login per request of a minority key under saturation.
     */
    private static final String REKEYED = "rekeyed: closed to open one of the key the oldest waiter needs";

    private final Map<String, BackendPool> pools = new LinkedHashMap<>();
    private final BackendConnector connector;
    private final ProxyMetrics metrics;
    final EventLoopGroup group;
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
    /** The server's limits and the share of them Sluice takes. */
    final ServerShare share = new ServerShare();
    private final Housekeeper housekeeper = new Housekeeper(this);

    public BackendPools(PoolConfig config, Collection<UserConfig> users, BackendConnector connector,
                        ProxyMetrics metrics, EventLoopGroup group) {
        this.config = config;
        this.connector = connector;
        this.metrics = metrics;
        this.group = group;
        for (UserConfig u : users) {
            int max = u.poolMax().orElse(config.maxPerUser());
            BackendPool existing = pools.get(u.backendUser());
            if (existing == null) {
                existing = addPool(u.backendUser(), u.backendPassword(), max, config.maxWaiters());
            } else {
                existing.max = Math.max(existing.max, max);
            }
            existing.priority |= u.priority();
        }
    }

    private BackendPool addPool(String name, String password, int max, int maxWaiters) {
        BackendPool p = new BackendPool(name, password, max, maxWaiters, metrics.pool(name), this);
        p.meters.gauges(p, x -> snap(x).idle(), x -> snap(x).busy(), x -> snap(x).opening(),
                x -> snap(x).waiting(), x -> snap(x).max());
        pools.put(name, p);
        return p;
    }

    private PoolSnapshot snap(BackendPool p) {
        synchronized (this) {
            return p.snapshot();
        }
    }

    /** Every pool, in the order they were added. Caller holds the lock. */
    Collection<BackendPool> all() {
        return pools.values();
    }

    public BackendConnector connector() {
        return connector;
    }

    public PoolConfig config() {
        return config;
    }

    public ProxyMetrics metrics() {
        return metrics;
    }

    /** Starts housekeeping: idle timeout, max lifetime, min-idle, the limits refresh. */
    public synchronized void start() {
        housekeeper.start(group, config.idleTimeout());
    }

    /**
     * Asks for a backend connection for {@code key}. The future completes on {@code loop} with a
     * connection now owned by the caller (give it back with {@link #release}), or fails with a
     * {@link GateRejection} whose message is what the client should read. Cancelling the future
     * withdraws the request.
     */
    public Future<BackendConnection> acquire(BackendKey key, EventLoop loop) {
        Waiter w = new Waiter(key, loop);
        List<Runnable> after = new ArrayList<>(2);
        synchronized (this) {
            BackendPool p = pools.get(key.backendUser());
            if (p == null) {
                w.promise().tryFailure(GateRejection.noPool(key.backendUser()));
                return w.promise();
            }
            p.lastKey = key;
            if (closed) {
                w.promise().tryFailure(GateRejection.shuttingDown());
                return w.promise();
            }
            boolean first = !paused && p.gate.isEmpty();
            boolean ownLoop = first && opensOnOwnLoop(p, key);
            BackendConnection c = first ? p.takeIdle(key, loop, ownLoop) : null;
            if (c != null) {
                grantIdle(p, c, w, after);
            } else if (!p.gate.offer(w, config.acquireTimeout().toNanos())) {
                p.queueFull++;
                p.meters.acquireQueueFull.increment();
                w.promise().tryFailure(GateRejection.queueFull(p.name, p.gate.size(), p.busy(), p.max));
                return w.promise();
            } else if (ownLoop) {
                open(p, key, loop, after); // not dispatch: it would lend this waiter an idle one from another loop
            } else {
                dispatch(p, after);
            }
        }
        after.forEach(Runnable::run);
        return w.promise();
    }

    /** Grants {@code c}, found idle, to {@code w}, which did not wait. Caller holds the lock. */
    private void grantIdle(BackendPool p, BackendConnection c, Waiter w, List<Runnable> after) {
        if (c.loop() != w.loop() && p.affinity.rebalances(p.name, c, w.loop(), p.all)) {
            p.affinity.swapWhenFree(c, w.loop()); // lent across loops this once; swapped when it comes back
        }
        p.acquires++;
        boolean atOnce = !Housekeeper.needsValidation(c, config);
        if (atOnce) {
            p.grantedAtOnce++;
        }
        after.add(() -> handOut(p, c, w, atOnce));
    }

    /** See {@link LoopAffinity#opensOnOwnLoop}. Caller holds the lock. */
    private boolean opensOnOwnLoop(BackendPool p, BackendKey key) {
        return LoopAffinity.opensOnOwnLoop(key, p, share) && roomToOpen(p);
    }

    /** Whether {@code p} may open one more connection ({@link CapPolicy#mayOpen}). Caller holds the lock. */
    private boolean roomToOpen(BackendPool p) {
        return CapPolicy.mayOpen(p, total, capFor(p), globalCap(), pools.values());
    }

    /** The deadline of a waiter of {@code p} passed (the gate removed it): counts it, describes the pool. Lock held. */
    GateRejection.Usage timedOut(BackendPool p) {
        p.timeouts++;
        p.meters.acquireTimeout.increment();
        return new GateRejection.Usage(p.name, p.busy(), p.max, p.gate.size(), total, globalCap(),
                p.priority ? 0 : config.reserve(), p.failuresInARow > 0 ? p.lastConnectError : null, paused,
                config.acquireTimeout().toMillis());
    }

    /** Serves waiters from idle connections, then opens (or frees room for) connections for the rest. Lock held. */
    void dispatch(BackendPool p, List<Runnable> after) {
        if (p.gate.isEmpty() || paused) {
            return; // paused: resume() dispatches
        }
        serveFromIdle(p, after);
        if (!p.retryScheduled) {
            openForWaiters(p, after);
        }
    }

    /**
     * Serves the waiters of {@code p} an idle connection of their key, in order. Stops when none is
     * idle: a request that waits runs this, so with a long line (a storm: 1,000 waiters) a full walk
     * per request cost ~5% of Sluice's CPU. Caller holds the lock.
     */
    private void serveFromIdle(BackendPool p, List<Runnable> after) {
        for (var it = p.gate.inOrder().iterator(); it.hasNext() && !p.idle.isEmpty(); ) {
            Waiter w = it.next();
            BackendConnection c = p.takeIdle(w.key(), w.loop());
            if (c != null) {
                it.remove();
                p.acquires++;
                after.add(() -> handOut(p, c, w, false));
            }
        }
    }

    /** Opens connections for the waiters of {@code p} no open is under way for, or makes room for one. Lock held. */
    private void openForWaiters(BackendPool p, List<Runnable> after) {
        int unserved = p.gate.size() - p.opening;
        int evictions = p.size() >= p.max ? p.evicting : totalEvicting();
        var order = p.gate.inOrder().iterator();
        for (int skip = 0; skip < p.opening && order.hasNext(); skip++) {
            order.next();
        }
        Waiter w = order.hasNext() ? order.next() : null;
        if (share.reading || !share.tried && totalOpening() > 0) {
            return; // until the first connection has read the server's limits (and served), open one at a time
        }
        while (unserved > 0 && w != null) {
            if (roomToOpen(p)) {
                open(p, w.key(), w.loop(), after);
                if (!share.tried) {
                    return;
                }
                unserved--;
                w = order.hasNext() ? order.next() : null;
                continue;
            }
            if (evictions > 0) {
                break; // room is being made; the close re-runs dispatch
            }
            BackendConnection victim = CapPolicy.evictsOwnIdle(p, globalCap(), pools.values()) ? p.oldestIdle()
                    : oldestIdleAnywhere();
            if (victim != null) {
                evict(victim, after);
            }
            break;
        }
    }

    private BackendConnection oldestIdleAnywhere() {
        BackendConnection best = null;
        for (BackendPool q : pools.values()) {
            BackendConnection c = q.oldestIdle();
            if (c != null && (best == null || c.idleSinceNanos() < best.idleSinceNanos())) {
                best = c;
            }
        }
        return best;
    }

    private int totalOpening() {
        int n = 0;
        for (BackendPool q : pools.values()) {
            n += q.opening;
        }
        return n;
    }

    int totalEvicting() {
        int n = 0;
        for (BackendPool q : pools.values()) {
            n += q.evicting;
        }
        return n;
    }

    /** Closes an idle connection to make room; it counts against the caps until the server has closed it. */
    private void evict(BackendConnection c, List<Runnable> after) {
        evict(c, after, "evicted to make room for another key or pool");
    }

    private void evict(BackendConnection c, List<Runnable> after, String reason) {
        pools.get(c.key().backendUser()).evict(c);
        after.add(() -> c.quit(reason));
    }

    /** Opens a connection of {@code key} on {@code loop}; it counts against the caps from now. Lock held. */
    void open(BackendPool p, BackendKey key, EventLoop loop, List<Runnable> after) {
        p.opening(loop);
        total++;
        after.add(() -> connector.connect(loop, key, p.password).addListener(f -> opened(p, key, loop, f)));
    }

    private void opened(BackendPool p, BackendKey key, EventLoop loop, Future<? super BackendConnection> f) {
        List<Runnable> after = new ArrayList<>(2);
        synchronized (this) {
            p.openEnded(loop);
            if (f.isSuccess()) {
                openSucceeded(p, (BackendConnection) f.getNow(), after);
            } else {
                openFailed(p, key, f.cause(), after);
            }
            dispatchAll(after);
        }
        after.forEach(Runnable::run);
    }

    /** A new connection joins {@code p}: the first one reads the server's limits before anyone gets it. Lock held. */
    private void openSucceeded(BackendPool p, BackendConnection c, List<Runnable> after) {
        p.openSucceeded();
        c.retireAtNanos(Housekeeper.retireAtNanos(c.createdNanos(), config.maxLifetime().toNanos()));
        p.all.add(c);
        c.channel().closeFuture().addListener(x -> closed(p, c));
        if (closed) {
            after.add(() -> c.close("shutdown"));
        } else if (!share.tried) {
            share.reading = true;
            after.add(() -> housekeeper.readLimits(c, () -> {
                synchronized (this) {
                    share.reading = false;
                }
                returnIdle(c);
            }));
        } else {
            offer(p, c, after);
        }
    }

    /**
     * An open failed: unless the server was only full, the waiters of that key fail fast (9404);
     * the rest keep waiting within their deadline and opens resume after a backoff. Lock held.
     */
    private void openFailed(BackendPool p, BackendKey key, Throwable cause, List<Runnable> after) {
        total--;
        p.openFailed(cause);
        boolean full = cause instanceof BackendException be && be.isServerFull();
        if (!full) {
            // Unreachable server or refused login: fail fast the waiters this open was for.
            String address = String.valueOf(connector.address());
            int failed = p.gate.rejectAll(key, () -> GateRejection.serverUnreachable(address, p.name, cause.getMessage()), after);
            for (int i = 0; i < failed; i++) {
                p.unavailable++;
                p.meters.acquireUnavailable.increment();
            }
        }
        scheduleRetry(p);
    }

    /** After a failed open, opens of {@code p} resume after a backoff ({@link CapPolicy#retryDelayMillis}). */
    private void scheduleRetry(BackendPool p) {
        if (p.retryScheduled) {
            return;
        }
        p.retryScheduled = true;
        group.next().schedule(() -> {
            List<Runnable> after = new ArrayList<>(2);
            synchronized (this) {
                p.retryScheduled = false;
                dispatch(p, after);
            }
            after.forEach(Runnable::run);
        }, CapPolicy.retryDelayMillis(p.failuresInARow), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    void dispatchAll(List<Runnable> after) {
        for (BackendPool q : pools.values()) {
            dispatch(q, after);
        }
    }

    private void closed(BackendPool p, BackendConnection c) {
        List<Runnable> after = new ArrayList<>(2);
        synchronized (this) {
            if (p.forget(c)) {
                total--;
            }
            EventLoop swapTo = p.affinity.closedSwap(c);
            if (swapTo != null && !closed && roomToOpen(p)) {
                open(p, c.key(), swapTo, after); // before dispatch, which counts it as opening for the first waiter
            }
            dispatchAll(after);
        }
        after.forEach(Runnable::run);
    }

    /** Gives a free connection to the oldest waiter it fits, or makes it idle. Caller holds the lock. */
    private void offer(BackendPool p, BackendConnection c, List<Runnable> after) {
        if (taken(p, c, after)) {
            return;
        }
        // Prefer a waiter on the connection's own event loop among those that came at the same
        // moment as the oldest (bench: cross-loop hand-offs doubled context switches per query).
        // Waiters are served in arrival order whatever their key (fairness across drivers).
        Waiter w = paused ? null : p.gate.pollFair(c.key(), c.loop(), LoopAffinity.SAME_MOMENT_NANOS, p.opening + p.evicting);
        if (w != null && !w.key().equals(c.key())) {
            if (servedOtherKey(p, c, w, after)) {
                return;
            }
            w = p.gate.pollFair(c.key(), c.loop(), LoopAffinity.SAME_MOMENT_NANOS, p.opening + p.evicting);
            if (w != null && !w.key().equals(c.key())) {
                w = null;
            }
        }
        if (w != null && w.loop() != c.loop() && p.affinity.rebalances(p.name, c, w.loop(), p.all)) {
            p.gate.pushFront(w); // first in line for the replacement
            p.affinity.swapWhenFree(c, w.loop());
            evict(c, after, REBALANCED);
            return;
        }
        if (w != null) {
            p.acquires++;
            Waiter next = w;
            after.add(() -> handOut(p, c, next, false));
        } else {
            c.idleSinceNanos(System.nanoTime());
            p.idle.addFirst(c);
            dispatch(p, after);
        }
    }

    /**
     * Whether free {@code c} serves no waiter now: it closes over a cap or for another pool's fair
     * share or for a swap onto another loop, or it reads the server's limits first. Caller holds the lock.
     */
    private boolean taken(BackendPool p, BackendConnection c, List<Runnable> after) {
        if (overCap(p)) {
            evict(c, after); // a reload lowered the pool's max or global-max
            return true;
        }
        if (owesRoom(p)) {
            evict(c, after); // another pool starves at the global cap: the close lets it open one
            return true;
        }
        if (housekeeper.readsOnRelease(c, after)) {
            return true;
        }
        if (p.affinity.swapping(c)) {
            // Before any waiter is taken from the gate: the waiters stay in line for the replacement.
            evict(c, after, REBALANCED); // closed() opens its replacement
            return true;
        }
        return false;
    }

    /**
     * The oldest waiter, {@code w}, wants another key than free {@code c}, and no open or close under
     * way is for it ({@link CapPolicy#forOtherKey}). Returns true when {@code c} is dealt with; false
     * when a connection is being opened for {@code w} and {@code c} serves the next request of its
     * own key. Caller holds the lock.
     */
    private boolean servedOtherKey(BackendPool p, BackendConnection c, Waiter w, List<Runnable> after) {
        BackendConnection own = p.takeIdle(w.key(), w.loop());
        switch (CapPolicy.forOtherKey(own != null, own == null && roomToOpen(p))) {
            case SERVE_FROM_IDLE -> {
                p.gate.remove(w);
                p.acquires++;
                after.add(() -> handOut(p, own, w, false));
                offer(p, c, after); // c goes on to the next in line
                return true;
            }
            case REKEY -> {
                // At the cap: c closes and its slot reopens for the oldest waiter's key (closed() ->
                // dispatch), rather than serve a later request of c's key or idle while it waits.
                evict(c, after, REKEYED);
                return true;
            }
            default -> {
                dispatch(p, after); // below the cap: opens one for w
                return false;
            }
        }
    }

    /**
     * Completes a waiter with a connection, validating it first if it sat idle a while. Runs unlocked.
     * {@code atOnce}: the request found {@code c} idle and fresh when it asked, so it did not wait,
     * and it is counted in {@code BackendPool.grantedAtOnce} instead of timed ({@link #flushMeters}).
     */
    private void handOut(BackendPool p, BackendConnection c, Waiter w, boolean atOnce) {
        if (!atOnce && Housekeeper.needsValidation(c, config)) {
            c.ping(config.validationTimeout()).addListener(f -> {
                if (f.isSuccess() && ((BackendConnection.Reply) f.getNow()).ok()) {
                    complete(p, c, w, false);
                } else {
                    c.close("validation failed: " + (f.cause() != null ? f.cause().getMessage() : "ping returned an error"));
                    requeue(p, w);
                }
            });
            return;
        }
        complete(p, c, w, atOnce);
    }

    private void complete(BackendPool p, BackendConnection c, Waiter w, boolean atOnce) {
        w.cancelTimeout();
        if (!w.promise().trySuccess(c)) {
            release(c, Release.CLEAN);
        } else if (!atOnce) {
            ProxyMetrics.record(p.meters.acquireGranted, w.enqueuedNanos());
        }
    }

    private void requeue(BackendPool p, Waiter w) {
        List<Runnable> after = new ArrayList<>(2);
        synchronized (this) {
            if (w.promise().isDone()) {
                return;
            }
            p.gate.pushFront(w);
            dispatch(p, after);
        }
        after.forEach(Runnable::run);
    }

    /** Gives a connection back. Safe from any thread; a closed connection is ignored (already accounted). */
    public void release(BackendConnection c, Release how) {
        if (!c.isOpen()) {
            return;
        }
        c.listener(null);
        if (how == Release.DISCARD) {
            c.close("discarded: its protocol state is unknown");
            return;
        }
        if (System.nanoTime() >= c.retireAtNanos()) {
            c.close("max lifetime reached");
            return;
        }
        if (how == Release.RESET) {
            c.reset(config.resetTimeout()).addListener(f -> {
                if (f.isSuccess() && ((BackendConnection.Reply) f.getNow()).ok()) {
                    returnIdle(c);
                } else {
                    c.close("reset failed: " + (f.cause() != null ? f.cause().getMessage() : "error"));
                }
            });
            return;
        }
        returnIdle(c);
    }

    /** Takes {@code c} back into its pool ({@link #offer}), unless it was forgotten or Sluice is closing. */
    void returnIdle(BackendConnection c) {
        List<Runnable> after = new ArrayList<>(2);
        synchronized (this) {
            BackendPool p = pools.get(c.key().backendUser());
            if (p == null || !p.all.contains(c)) {
                return;
            }
            if (closed) {
                after.add(() -> c.close("shutdown"));
            } else {
                offer(p, c, after);
            }
        }
        after.forEach(Runnable::run);
    }

    /**
     * Adds the requests granted at once since the last call to each pool's acquire timer, as waits
     * of 0 s (see {@link Housekeeper#flushMeters}). The admin endpoint calls this before it reads the timer.
     */
    public void flushMeters() {
        housekeeper.flushMeters();
    }

    /**
     * Sends KILL QUERY for {@code target}'s server thread on a short-lived connection of the same
     * account (outside the pools and their cap: the server's headroom makes room for it), then runs
     * {@code done}, whether or not the kill went through.
     */
    public void killQuery(BackendConnection target, Runnable done) {
        BackendPool p;
        synchronized (this) {
            p = pools.get(target.key().backendUser());
        }
        if (p == null) {
            done.run();
            return;
        }
        connector.connect(target.loop(), target.key(), p.password).addListener(f -> {
            if (!f.isSuccess()) {
                log.warn("could not open a connection to KILL QUERY {}: {}", target.threadId(), f.cause().getMessage());
                done.run();
                return;
            }
            BackendConnection killer = (BackendConnection) f.getNow();
            killer.execute(io.sluice.proxy.protocol.Packets.query(killer.channel().alloc(), "KILL QUERY " + target.threadId()),
                    io.sluice.proxy.protocol.CommandType.COM_QUERY, config.validationTimeout()).addListener(r -> {
                killer.quit("KILL QUERY sent");
                done.run();
            });
        });
    }

    // ---- pause and resume (admin actions) ------------------------------------------------------

    /** Stops handing out backends: new requests wait in the gate until {@link #resume}. Idempotent. */
    public synchronized void pause() {
        if (!paused) {
            paused = true;
            log.info("pools paused: requests wait until resumed");
        }
    }

    /** Hands out backends again, serving the waiters in order. Idempotent. */
    public void resume() {
        List<Runnable> after = new ArrayList<>();
        synchronized (this) {
            if (!paused) {
                return;
            }
            paused = false;
            log.info("pools resumed");
            dispatchAll(after);
        }
        after.forEach(Runnable::run);
    }

    public synchronized boolean paused() {
        return paused;
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
        synchronized (this) {
            this.config = next;
            applyUsers(next, users);
            for (BackendPool p : pools.values()) {
                p.gate.capacity(next.maxWaiters());
                evictOverCap(p, after);
            }
            dispatchAll(after);
        }
        after.forEach(Runnable::run);
    }

    /** Each backend user's pool max, password and priority from the users that log in as it. Lock held. */
    private void applyUsers(PoolConfig next, Collection<UserConfig> users) {
        Map<String, Integer> maxima = new LinkedHashMap<>();
        Map<String, String> passwords = new LinkedHashMap<>();
        Map<String, Boolean> priority = new LinkedHashMap<>();
        for (UserConfig u : users) {
            maxima.merge(u.backendUser(), u.poolMax().orElse(next.maxPerUser()), Math::max);
            passwords.putIfAbsent(u.backendUser(), u.backendPassword());
            priority.merge(u.backendUser(), u.priority(), Boolean::logicalOr);
        }
        for (var e : maxima.entrySet()) {
            BackendPool p = pools.get(e.getKey());
            if (p == null) {
                p = addPool(e.getKey(), passwords.get(e.getKey()), e.getValue(), next.maxWaiters());
            } else {
                p.max = e.getValue();
                p.password = passwords.get(e.getKey());
            }
            p.priority = priority.get(e.getKey());
        }
    }

    /** Closes idle connections of {@code p} while it is over a (lowered) cap. Caller holds the lock. */
    private void evictOverCap(BackendPool p, List<Runnable> after) {
        BackendConnection c;
        while (overCap(p) && (c = p.oldestIdle()) != null) {
            evict(c, after);
        }
    }

    /** {@link CapPolicy#owesRoom}. Caller holds the lock. */
    private boolean owesRoom(BackendPool p) {
        return CapPolicy.owesRoom(p, total, totalEvicting(), globalCap(), pools.values());
    }

    /** {@link CapPolicy#capFor} of {@code p}. */
    int capFor(BackendPool p) {
        return CapPolicy.capFor(globalCap(), p.priority, config.reserve());
    }

    /** {@link CapPolicy#overCap}. Caller holds the lock. */
    private boolean overCap(BackendPool p) {
        return CapPolicy.overCap(p, total, totalEvicting(), globalCap());
    }

    // ---- the server's real limits (read by the Housekeeper through ServerLimitsProbe, applied here) ----

    /** The most backend connections Sluice opens: global-max, lowered to what the server allows. */
    int globalCap() {
        return share.globalCap(config.globalMax());
    }

    /** What adaptive sharing allows now (sluice.server.adaptive), or Integer.MAX_VALUE when off or not yet read. */
    public int adaptiveCap() {
        return share.adaptiveCap();
    }

    public ServerLimits limits() {
        return share.limits();
    }

    /**
     * Sets the share of the server's limits to take, applied at the next read of the limits, and how
     * often they are read again (sluice.server.limits-refresh).
     */
    public void limitsPolicy(int headroom, int fleetSize, boolean adaptive, Duration limitsRefresh) {
        housekeeper.limitsRefresh(limitsRefresh);
        limitsPolicy(headroom, fleetSize, adaptive);
    }

    /** Sets the share of the server's limits to take; applies at the next read of the limits. */
    public void limitsPolicy(int headroom, int fleetSize, boolean adaptive) {
        share.policy(headroom, fleetSize, adaptive);
    }

    /** The server's Threads_connected at the last read (every minute, every second with adaptive sharing), or -1. */
    public long threadsConnected() {
        return share.threadsConnected();
    }

    /** The server's Max_used_connections at the last read of the limits, or -1. */
    public long maxUsedConnections() {
        return share.maxUsedConnections();
    }

    /**
     * Applies a read of the server's limits: the derived cap closes idle connections over it (busy
     * ones as they come back, with a WARN when the cap fell below them) or serves waiters.
     */
    void applyReading(ServerLimitsProbe.Reading r) {
        List<Runnable> after = new ArrayList<>();
        synchronized (this) {
            housekeeper.limitsRead(System.nanoTime());
            if (r.limits() == null) {
                share.readFailed(r.failure(), config.globalMax());
                return;
            }
            ServerLimits before = share.apply(r, config);
            ServerLimits l = r.limits();
            for (BackendPool p : pools.values()) {
                evictOverCap(p, after);
            }
            int above = total - totalEvicting() - (housekeeper.limitsConnection ? 1 : 0) - globalCap(); // busy: idle ones are closing
            if (before != null && l.effectiveCap() < before.effectiveCap() && above > 0) {
                log.warn("server limits lowered the backend cap from {} to {} with {} backends busy above it: "
                        + "they close as they come back until Sluice is under the cap ({})", before.effectiveCap(),
                        globalCap(), above, l.reasoning());
            }
            dispatchAll(after);
        }
        after.forEach(Runnable::run);
    }

    /**
     * Applies a read of Threads_connected (-1: none) for adaptive sharing: a lowered cap closes idle
     * backends first (busy ones as they come back); a raised one serves waiters.
     */
    void adapt(long threads) {
        List<Runnable> after = new ArrayList<>();
        synchronized (this) {
            housekeeper.threadsRead();
            if (share.adapt(threads, total - totalOpening())) {
                for (BackendPool p : pools.values()) {
                    evictOverCap(p, after);
                }
                dispatchAll(after);
            }
        }
        after.forEach(Runnable::run);
    }

    /** Backend connections open or being opened, across all pools. */
    public synchronized int total() {
        return total;
    }

    public synchronized List<PoolSnapshot> snapshot() {
        List<PoolSnapshot> out = new ArrayList<>(pools.size());
        for (BackendPool p : pools.values()) {
            out.add(p.snapshot());
        }
        return out;
    }

    /** Closes every connection and fails every waiter; later acquires fail at once. */
    @Override
    public void close() {
        List<Runnable> after = new ArrayList<>();
        synchronized (this) {
            closed = true;
            housekeeper.stop();
            for (BackendPool p : pools.values()) {
                p.gate.rejectAll(GateRejection::shuttingDown, after);
                for (BackendConnection c : new ArrayList<>(p.all)) {
                    after.add(() -> c.quit("shutdown"));
                }
            }
        }
        after.forEach(Runnable::run);
    }
}
