package io.sluice.proxy.pool;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.BackendConnector;
import io.sluice.proxy.backend.BackendException;
import io.sluice.proxy.backend.BackendKey;
import io.sluice.proxy.gate.GateRejection;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Opens the pools' connections to one server and forgets them when they close: each open counts
 * against the caps from the moment it starts ({@link PoolSet#total}); a new connection reads the
 * server's limits first if nobody has yet, then goes to the {@link HandOff}; a failed open fails
 * the waiters of its key fast (unless the server was only full) and opens of that pool resume
 * after a backoff; a closed connection frees its slot (or opens its replacement on the loop it
 * moves to) and the waiters are served.
 *
 * <p>Threading: bookkeeping under the {@link PoolSet} lock; the connects run after it is released
 * (as {@code after} actions), and their results come back on the connection's event loop.
 */
final class Opener {
    private final HandOff handOff;
    private final PoolSet set;
    private final ServerCaps caps;
    private final BackendConnector connector;
    /** The event loops connections open on, and where a failed pool's retry is scheduled. */
    final EventLoopGroup group;

    Opener(HandOff handOff, BackendConnector connector, EventLoopGroup group) {
        this.handOff = handOff;
        this.set = handOff.set;
        this.caps = handOff.caps;
        this.connector = connector;
        this.group = group;
    }

    BackendConnector connector() {
        return connector;
    }

    /** Opens a connection of {@code key} on {@code loop}; it counts against the caps from now. Lock held. */
    void open(BackendPool p, BackendKey key, EventLoop loop, List<Runnable> after) {
        p.opening(loop);
        set.total++;
        after.add(() -> connector.connect(loop, key, p.password).addListener(f -> opened(p, key, loop, f)));
    }

    private void opened(BackendPool p, BackendKey key, EventLoop loop, Future<? super BackendConnection> f) {
        List<Runnable> after = new ArrayList<>(2);
        synchronized (set) {
            p.openEnded(loop);
            if (f.isSuccess()) {
                openSucceeded(p, (BackendConnection) f.getNow(), after);
            } else {
                openFailed(p, key, f.cause(), after);
            }
            handOff.dispatchAll(after);
        }
        after.forEach(Runnable::run);
    }

    /** A new connection joins {@code p}: the first one reads the server's limits before anyone gets it. Lock held. */
    private void openSucceeded(BackendPool p, BackendConnection c, List<Runnable> after) {
        p.openSucceeded();
        c.retireAtNanos(Housekeeper.retireAtNanos(c.createdNanos(), set.config().maxLifetime().toNanos()));
        p.all.add(c);
        c.channel().closeFuture().addListener(x -> closed(p, c));
        if (set.closed) {
            after.add(() -> c.close("shutdown"));
        } else if (!caps.share.tried) {
            caps.share.reading = true;
            after.add(() -> handOff.housekeeper.readLimits(c, () -> {
                synchronized (set) {
                    caps.share.reading = false;
                }
                handOff.returnIdle(c);
            }));
        } else {
            handOff.offer(p, c, after);
        }
    }

    /**
     * An open failed: unless the server was only full, the waiters of that key fail fast (9404);
     * the rest keep waiting within their deadline and opens resume after a backoff. Lock held.
     */
    private void openFailed(BackendPool p, BackendKey key, Throwable cause, List<Runnable> after) {
        set.total--;
        p.openFailed(cause);
        boolean full = cause instanceof BackendException be && be.isServerFull();
        var refused = set.loginRefused;
        if (refused != null && cause instanceof BackendException be && be.serverError() != null && be.serverError().code() == 1045) {
            after.add(() -> refused.accept(p.name)); // a server account whose password changed: read it again
        }
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
            synchronized (set) {
                p.retryScheduled = false;
                handOff.dispatch(p, after);
            }
            after.forEach(Runnable::run);
        }, CapPolicy.retryDelayMillis(p.failuresInARow), TimeUnit.MILLISECONDS);
    }

    /** {@code c} of {@code p} has closed: its slot is free, or opens its replacement on the loop it moves to. */
    private void closed(BackendPool p, BackendConnection c) {
        List<Runnable> after = new ArrayList<>(2);
        synchronized (set) {
            if (p.forget(c)) {
                set.total--;
            }
            EventLoop swapTo = p.affinity.closedSwap(c);
            if (swapTo != null && !set.closed && caps.roomToOpen(p)) {
                open(p, c.key(), swapTo, after); // before dispatch, which counts it as opening for the first waiter
            }
            handOff.dispatchAll(after);
        }
        after.forEach(Runnable::run);
    }
}
