package io.sluice.proxy.pool;

import io.netty.channel.EventLoop;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.BackendKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Which event loop one pool's connections live on: where those being opened will land, which
 * connections are to be swapped onto another loop when next free, and when the pool last swapped.
 * A backend on another loop than its client costs a task hand-off and a thread wake-up for every
 * command and every response; connections land on loops by chance (the loop of whoever first
 * asked), so a pool can sit lopsided while its clients are spread evenly.
 *
 * <p>One per {@link BackendPool}; guarded by the {@link PoolSet} lock like the rest of it.
 */
final class LoopAffinity {
    /** The pools' one log category (operators and tests filter on it). */
    private static final Logger log = LoggerFactory.getLogger(BackendPools.class);

    /** Waiters that arrived within this of the oldest (or half its wait, if longer) may go first for loop affinity. */
    static final long SAME_MOMENT_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

    /** At most one rebalancing swap per pool in this interval (see {@link #rebalances}). */
    static final long REBALANCE_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    /** The event loop of each connection being opened (one entry per {@code BackendPool.opening}). */
    private final List<EventLoop> openingOn = new ArrayList<>();
    /**
     * Connections to close when they are next free, each to be replaced by a new one on the event
     * loop it maps to; an entry stays until the connection closes.
     */
    private final Map<BackendConnection, EventLoop> swaps = new IdentityHashMap<>();
    /** When this pool last swapped a connection onto another event loop. */
    private long rebalancedNanos = System.nanoTime() - REBALANCE_INTERVAL_NANOS;

    /** A connection is being opened on {@code loop}. */
    void opening(EventLoop loop) {
        openingOn.add(loop);
    }

    /** The open on {@code loop} has ended (opened or failed). */
    void openEnded(EventLoop loop) {
        openingOn.remove(loop);
    }

    /** {@code c} is to close when next free and be replaced by a connection on {@code loop}. */
    void swapWhenFree(BackendConnection c, EventLoop loop) {
        swaps.put(c, loop);
    }

    /** Whether {@code c}, now free, is to close for a replacement on another loop. */
    boolean swapping(BackendConnection c) {
        return swaps.containsKey(c);
    }

    /** {@code c} has closed: the loop its replacement is to open on, or null when it was not swapped. */
    EventLoop closedSwap(BackendConnection c) {
        return swaps.remove(c);
    }

    /**
     * Whether a session-mode request that finds no idle connection on its own event loop should have
     * one opened there rather than take an idle one from another loop. A session keeps its backend
     * for life, and a backend on another loop than its client costs a task hand-off and a thread
     * wake-up for every command and every response: at one sysbench thread on two loops, half the
     * runs drew a backend from the other loop and added ~40 µs per query
     * (bench/results/run-L/README.md). One login now is cheaper, and only when {@code p} has idle
     * connections elsewhere and opens are not held back (the first read of the server's limits, a
     * backoff after failed opens) and, which the caller asks last as it costs a walk over the pools,
     * while the pool may open; a full pool lends across loops as before. Transaction mode
     * rebalances instead ({@link #rebalances}). Caller holds the lock.
     */
    static boolean opensOnOwnLoop(BackendKey key, BackendPool p, ServerShare share) {
        return !key.multiplexed() && !p.idle.isEmpty() && share.tried && !share.reading && !p.retryScheduled
                && p.failuresInARow == 0;
    }

    /**
     * Whether to swap {@code c}, which would be lent across event loops to a request from
     * {@code loop}, for a new connection on {@code loop}: {@code c} is closed when it is free, and
     * its close opens the replacement ({@link #closedSwap}). Bench: 8–30% of transaction-mode grants
     * crossed loops with 8–32 clients on 8 backends, ~4 µs of CPU per query. Swaps happen only when
     * {@code c}'s loop holds at least two more connections of {@code c}'s key than {@code loop} does
     * ({@link #evensOut}), so one swap evens the two out and can never bounce straight back, and at
     * most once per {@link #REBALANCE_INTERVAL_NANOS} per pool, which bounds the logins this costs
     * the server. The connection count does not change. Transaction mode only: in session mode a
     * backend serves one session for its life, so a swap when it comes back would cost a login to
     * help only the next session (the demo's burst of short sessions would pay a login per swap).
     * {@code all}: every open connection of the pool.
     */
    boolean rebalances(String pool, BackendConnection c, EventLoop loop, Iterable<BackendConnection> all) {
        if (!c.key().multiplexed()) {
            return false; // session mode: the swap would only serve the next session, for a login each
        }
        long now = System.nanoTime();
        if (now - rebalancedNanos < REBALANCE_INTERVAL_NANOS) {
            return false;
        }
        int donor = 0;
        int taker = 0;
        for (EventLoop at : openingOn) { // of any key: a close makes room for any
            if (at == c.loop()) {
                donor++;
            } else if (at == loop) {
                taker++;
            }
        }
        for (BackendConnection x : all) {
            if (!x.key().equals(c.key())) {
                continue;
            }
            EventLoop at = swaps.getOrDefault(x, x.evicting() ? null : x.loop()); // where it will be
            if (at == c.loop()) {
                donor++;
            } else if (at == loop) {
                taker++;
            }
        }
        if (!evensOut(donor, taker)) {
            return false;
        }
        rebalancedNanos = now;
        log.debug("pool '{}': {} closes to reopen on the loop of the clients waiting ({} vs {} connections)",
                pool, c, donor, taker);
        return true;
    }

    /**
     * Whether moving one connection from a loop holding {@code donor} of a key to one holding
     * {@code taker} evens them out without inviting a move straight back: the donor has two more.
     */
    static boolean evensOut(int donor, int taker) {
        return donor >= taker + 2;
    }
}
