package io.sluice.proxy.pool;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.BackendConnector;
import io.sluice.proxy.backend.BackendKey;
import io.sluice.proxy.gate.GateRejection;
import io.sluice.proxy.gate.Waiter;
import io.sluice.proxy.metrics.ProxyMetrics;
import io.sluice.proxy.pool.BackendPools.Release;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The hand-off core of one server's pools: who gets a connection. It takes requests
 * ({@link #acquire}), serves them from idle connections or opens connections for them
 * ({@link #dispatch}), gives a connection that becomes free (released clean, or newly opened)
 * straight to the oldest waiter whose key it fits, and only when nobody waits for it makes it idle
 * ({@link #offer}). {@link Opener} opens connections for it and forgets closed ones. It keeps its
 * books in the {@link PoolSet} and each {@link BackendPool}, asks {@link ServerCaps} what the caps
 * allow and {@link LoopAffinity} where a connection should live.
 *
 * <p>Threading: every method that does bookkeeping holds the {@link PoolSet} lock (or says its
 * caller does); network work (connect, reset, ping) and promise completion run after it is
 * released, collected as {@code after} actions. One instance per server: nothing here is static.
 */
final class HandOff {
    private static final String REBALANCED = "rebalanced onto the event loop of the clients waiting for it";
    /**
     * The close reason (and metric tag {@code rekeyed}) of a free backend closed so that one of the
     * oldest waiter's key opens in its slot: a login per request of a minority key under saturation.
     */
    private static final String REKEYED = "rekeyed: closed to open one of the key the oldest waiter needs";

    private static final String EVICTED = "evicted to make room for another key or pool";

    /** The pools, their counts and settings; also the lock. */
    final PoolSet set;
    /** The caps in force: global-max lowered by the server's limits and adaptive sharing. */
    final ServerCaps caps;
    /** Opens connections and forgets closed ones. */
    final Opener opener;
    final Housekeeper housekeeper;

    HandOff(PoolSet set, BackendConnector connector, EventLoopGroup group) {
        this.set = set;
        this.caps = new ServerCaps(set);
        this.opener = new Opener(this, connector, group);
        this.housekeeper = new Housekeeper(this);
    }

    /**
     * Asks for a backend connection for {@code key}. The future completes on {@code loop} with a
     * connection now owned by the caller (give it back with {@link BackendPools#release}), or fails with a
     * {@link GateRejection} whose message is what the client should read. Cancelling the future
     * withdraws the request.
     */
    Future<BackendConnection> acquire(BackendKey key, EventLoop loop) {
        Waiter w = new Waiter(key, loop);
        List<Runnable> after = new ArrayList<>(2);
        synchronized (set) {
            BackendPool p = set.get(key.backendUser());
            if (p == null) {
                w.promise().tryFailure(GateRejection.noPool(key.backendUser()));
                return w.promise();
            }
            p.lastKey = key;
            if (set.closed) {
                w.promise().tryFailure(GateRejection.shuttingDown());
                return w.promise();
            }
            boolean first = !set.paused && p.gate.isEmpty();
            boolean ownLoop = first && opensOnOwnLoop(p, key);
            BackendConnection c = first ? p.takeIdle(key, loop, ownLoop) : null;
            if (c != null) {
                grantIdle(p, c, w, after);
            } else if (!p.gate.offer(w, set.config().acquireTimeout().toNanos())) {
                p.queueFull++;
                p.meters.acquireQueueFull.increment();
                w.promise().tryFailure(GateRejection.queueFull(p.name, p.gate.size(), p.busy(), p.max));
                return w.promise();
            } else if (ownLoop) {
                opener.open(p, key, loop, after); // not dispatch: it would lend this waiter an idle one from another loop
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
        boolean atOnce = !Housekeeper.needsValidation(c, set.config());
        if (atOnce) {
            p.grantedAtOnce++;
        }
        after.add(() -> handOut(p, c, w, atOnce));
    }

    /** See {@link LoopAffinity#opensOnOwnLoop}. Caller holds the lock. */
    private boolean opensOnOwnLoop(BackendPool p, BackendKey key) {
        return LoopAffinity.opensOnOwnLoop(key, p, caps.share) && caps.roomToOpen(p);
    }

    /** The deadline of a waiter of {@code p} passed (the gate removed it): counts it, describes the pool. Lock held. */
    GateRejection.Usage timedOut(BackendPool p) {
        p.timeouts++;
        p.meters.acquireTimeout.increment();
        return new GateRejection.Usage(p.name, p.busy(), p.max, p.gate.size(), set.total, caps.globalCap(),
                p.priority ? 0 : set.config().reserve(), p.failuresInARow > 0 ? p.lastConnectError : null, set.paused,
                set.config().acquireTimeout().toMillis());
    }

    /** Serves waiters from idle connections, then opens (or frees room for) connections for the rest. Lock held. */
    void dispatch(BackendPool p, List<Runnable> after) {
        if (p.gate.isEmpty() || set.paused) {
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
        int evictions = p.size() >= p.max ? p.evicting : set.totalEvicting();
        if (caps.share.reading || !caps.share.tried && set.totalOpening() > 0) {
            return; // until the first connection has read the server's limits (and served), open one at a time
        }
        // The waiters past those an open is under way for, walked only when one can be opened: a pool
        // at its cap (the usual case under load, at every release) needs none of them.
        Iterator<Waiter> order = null;
        while (unserved > 0) {
            if (caps.roomToOpen(p)) {
                if (order == null) {
                    order = p.gate.inOrder().iterator();
                    for (int skip = 0; skip < p.opening; skip++) {
                        order.next();
                    }
                }
                Waiter w = order.next(); // there is one: unserved counts the waiters past those
                opener.open(p, w.key(), w.loop(), after);
                if (!caps.share.tried) {
                    return;
                }
                unserved--;
                continue;
            }
            if (evictions > 0) {
                break; // room is being made; the close re-runs dispatch
            }
            BackendConnection victim = caps.evictsOwnIdle(p) ? p.oldestIdle()
                    : set.oldestIdleAnywhere();
            if (victim != null) {
                set.evict(victim, after, EVICTED);
            }
            break;
        }
    }

    /** {@link #dispatch} for every pool. Lock held. */
    void dispatchAll(List<Runnable> after) {
        for (BackendPool q : set.all()) {
            dispatch(q, after);
        }
    }

    /** Gives a free connection to the oldest waiter it fits, or makes it idle. Caller holds the lock. */
    void offer(BackendPool p, BackendConnection c, List<Runnable> after) {
        if (taken(p, c, after)) {
            return;
        }
        // Prefer a waiter on the connection's own event loop among those that came at the same
        // moment as the oldest (bench: cross-loop hand-offs doubled context switches per query).
        // Waiters are served in arrival order whatever their key (fairness across drivers).
        Waiter w = set.paused ? null : p.gate.pollFair(c.key(), c.loop(), LoopAffinity.SAME_MOMENT_NANOS, p.opening + p.evicting);
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
            set.evict(c, after, REBALANCED);
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
        if (caps.overCap(p)) {
            set.evict(c, after, EVICTED); // a reload lowered the pool's max or global-max
            return true;
        }
        if (caps.owesRoom(p)) {
            set.evict(c, after, EVICTED); // another pool starves at the global cap: the close lets it open one
            return true;
        }
        if (housekeeper.readsOnRelease(c, after)) {
            return true;
        }
        if (p.affinity.swapping(c)) {
            // Before any waiter is taken from the gate: the waiters stay in line for the replacement.
            set.evict(c, after, REBALANCED); // closed() opens its replacement
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
        switch (CapPolicy.forOtherKey(own != null, own == null && caps.roomToOpen(p))) {
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
                set.evict(c, after, REKEYED);
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
        if (!atOnce && Housekeeper.needsValidation(c, set.config())) {
            c.ping(set.config().validationTimeout()).addListener(f -> {
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
        synchronized (set) {
            if (w.promise().isDone()) {
                return;
            }
            p.gate.pushFront(w);
            dispatch(p, after);
        }
        after.forEach(Runnable::run);
    }

    /** Gives a connection back. Safe from any thread; a closed connection is ignored (already accounted). */
    void release(BackendConnection c, Release how) {
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
            c.reset(set.config().resetTimeout()).addListener(f -> {
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
        synchronized (set) {
            BackendPool p = set.get(c.key().backendUser());
            if (p == null || !p.all.contains(c)) {
                return;
            }
            if (set.closed) {
                after.add(() -> c.close("shutdown"));
            } else {
                offer(p, c, after);
            }
        }
        after.forEach(Runnable::run);
    }
}
