package io.sluice.proxy.gate;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.BackendKey;

/**
 * One request waiting in the gate for a backend connection. The promise completes on the waiter's
 * own event loop with the connection it was handed, or fails with a {@link GateRejection}.
 */
public final class Waiter {
    private final BackendKey key;
    private final EventLoop loop;
    private final Promise<BackendConnection> promise;
    private final long enqueuedNanos = System.nanoTime();
    private ScheduledFuture<?> timeout;

    public Waiter(BackendKey key, EventLoop loop) {
        this.key = key;
        this.loop = loop;
        this.promise = loop.newPromise();
    }

    public BackendKey key() {
        return key;
    }

    public EventLoop loop() {
        return loop;
    }

    public Promise<BackendConnection> promise() {
        return promise;
    }

    public long enqueuedNanos() {
        return enqueuedNanos;
    }

    public long waitedMillis() {
        return (System.nanoTime() - enqueuedNanos) / 1_000_000;
    }

    public void timeout(ScheduledFuture<?> timeout) {
        this.timeout = timeout;
    }

    /** Stops the deadline timer (the waiter was served or removed). */
    public void cancelTimeout() {
        if (timeout != null) {
            timeout.cancel(false);
        }
    }
}
