package io.sluice.proxy.gate;

import io.sluice.proxy.backend.BackendKey;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The bounded FIFO of requests waiting for one pool's backend connections. The oldest waiter whose
 * key a connection fits is served first; a waiter leaves by being served, by its deadline
 * ({@link #offer(Waiter, long)} schedules it; the 9401 rejection is written here), or by its client
 * going away (cancelling its promise withdraws it). Guarded by the owning pool's lock, which the
 * gate takes itself only for the deadline and the withdrawal (they fire on the waiter's event loop);
 * every other method expects the caller to hold it.
 */
public final class Gate {
    /** What the gate asks its pool when a waiter's deadline passes. */
    public interface Owner {
        /**
         * Called with the owner's lock held, after {@code w} has left the line at its deadline:
         * counts the timeout and describes the pool for the client's message.
         */
        GateRejection.Usage timedOut(Waiter w);
    }

    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    private final Object lock;
    private final Owner owner;
    private int capacity;

    /** A gate without deadlines (tests of its order). */
    public Gate(int capacity) {
        this(capacity, new Object(), w -> {
            throw new IllegalStateException("a gate without an owner has no deadlines");
        });
    }

    /** A gate guarded by {@code lock} (the owning pool's), which tells {@code owner} of every deadline that passes. */
    public Gate(int capacity, Object lock, Owner owner) {
        this.capacity = capacity;
        this.lock = lock;
        this.owner = owner;
    }

    public void capacity(int capacity) {
        this.capacity = capacity;
    }

    public int capacity() {
        return capacity;
    }

    /** Adds a waiter at the tail; false when the queue is full. */
    public boolean offer(Waiter w) {
        if (waiters.size() >= capacity) {
            return false;
        }
        waiters.addLast(w);
        return true;
    }

    /**
     * Adds a waiter at the tail with a deadline {@code timeoutNanos} from now, on its own event loop:
     * then it leaves the line and its promise fails with a 9401 {@link GateRejection}. Cancelling its
     * promise withdraws it. False when the queue is full (nothing is scheduled then). Caller holds
     * the lock.
     */
    public boolean offer(Waiter w, long timeoutNanos) {
        if (!offer(w)) {
            return false;
        }
        w.timeout(w.loop().schedule(() -> expire(w), timeoutNanos, TimeUnit.NANOSECONDS));
        w.promise().addListener(f -> {
            if (f.isCancelled()) {
                withdraw(w);
            }
        });
        return true;
    }

    /** The deadline of {@code w} has passed: unless it was served meanwhile, it leaves with a 9401. Takes the lock. */
    private void expire(Waiter w) {
        GateRejection rejection;
        synchronized (lock) {
            if (!waiters.remove(w)) {
                return;
            }
            rejection = GateRejection.timedOut(owner.timedOut(w), w.waitedMillis());
        }
        w.promise().tryFailure(rejection);
    }

    /** The client of {@code w} went away (its promise was cancelled): it leaves the line. Takes the lock. */
    private void withdraw(Waiter w) {
        synchronized (lock) {
            waiters.remove(w);
        }
        w.cancelTimeout();
    }

    /**
     * Removes every waiter, cancels its deadline and fails it with a {@code rejection} each (shutdown).
     * Caller holds the lock; {@code failLater} collects the failures so that the caller completes
     * the promises after releasing it.
     */
    public void rejectAll(Supplier<GateRejection> rejection, List<Runnable> failLater) {
        Waiter w;
        while ((w = waiters.pollFirst()) != null) {
            reject(w, rejection, failLater);
        }
    }

    /**
     * Removes every waiter of {@code key}, and has each fail with a {@code rejection} after the
     * caller has released the lock (collected in {@code failLater}). Returns how many.
     */
    public int rejectAll(BackendKey key, Supplier<GateRejection> rejection, List<Runnable> failLater) {
        int n = 0;
        Waiter w;
        while ((w = pollMatching(key::equals)) != null) {
            n++;
            reject(w, rejection, failLater);
        }
        return n;
    }

    private static void reject(Waiter w, Supplier<GateRejection> rejection, List<Runnable> failLater) {
        failLater.add(() -> {
            w.cancelTimeout();
            w.promise().tryFailure(rejection.get());
        });
    }

    /**
     * Fair hand-off across keys of a free connection of {@code key}: the line is served in arrival
     * order whatever the key. Walks the line passing over the first {@code covered} waiters of
     * other keys (connections being opened, or closed to be reopened, are meant for them). Returns
     * <ul>
     * <li>a waiter of {@code key}, removed from the line: the oldest one, or one on {@code loop}
     * that arrived within the tolerance (below) and before any waiter of
     * another key not passed over (so a later request of {@code key} never overtakes one of another key);</li>
     * <li>a waiter of another key, left in line, when it arrived before every waiter of
     * {@code key} and is not passed over: the caller serves it first (an idle connection of its
     * key, or the free one closed and reopened for its key);</li>
     * <li>null when no waiter is left for the connection.</li>
     * </ul>
     * The tolerance: a waiter on {@code loop} (where the connection lives, so its session runs
     * without cross-thread hops) is preferred over an older one elsewhere as long as it arrived
     * within {@code toleranceNanos}, or within half of what the oldest waiter of {@code key} has
     * waited so far if that is longer, of the oldest. The window bounds the unfairness: the oldest
     * waiter can only be passed by requests that came soon after it, and the next connection freed
     * on its own loop goes to it. It grows with the wait so that long holds (read-write
     * transactions: ~25 ms each, few waiters within 2 ms of each other) still find a waiter on the
     * connection's loop.
     */
    public Waiter pollFair(BackendKey key, Object loop, long toleranceNanos, int covered) {
        Waiter oldest = null;
        for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
            Waiter w = it.next();
            if (!w.key().equals(key)) {
                if (covered > 0) {
                    covered--;
                    continue;
                }
                if (oldest == null) {
                    return w;
                }
                break; // the same-loop preference stops at a waiter of another key
            }
            if (oldest == null) {
                oldest = w;
                if (w.loop() == loop) {
                    it.remove();
                    return w;
                }
                toleranceNanos = Math.max(toleranceNanos, (System.nanoTime() - w.enqueuedNanos()) / 2);
                continue;
            }
            if (w.enqueuedNanos() - oldest.enqueuedNanos() > toleranceNanos) {
                break;
            }
            if (w.loop() == loop) {
                it.remove();
                return w;
            }
        }
        if (oldest != null) {
            waiters.remove(oldest);
        }
        return oldest;
    }

    /** Puts a waiter back at the head (its hand-off failed through no fault of its own). */
    public void pushFront(Waiter w) {
        waiters.addFirst(w);
    }

    /** Removes and returns the oldest waiter whose key matches, or null. */
    public Waiter pollMatching(Predicate<BackendKey> fits) {
        for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
            Waiter w = it.next();
            if (fits.test(w.key())) {
                it.remove();
                return w;
            }
        }
        return null;
    }

    /** The oldest waiter, or null. */
    public Waiter peek() {
        return waiters.peekFirst();
    }

    public boolean remove(Waiter w) {
        return waiters.remove(w);
    }

    public int size() {
        return waiters.size();
    }

    public boolean isEmpty() {
        return waiters.isEmpty();
    }

    /** Waiters in FIFO order (for snapshots and for matching against newly opened connections). */
    public Iterable<Waiter> inOrder() {
        return waiters;
    }

    /** Milliseconds the oldest waiter has waited, 0 when none. */
    public long oldestWaitMillis() {
        Waiter w = waiters.peekFirst();
        return w == null ? 0 : w.waitedMillis();
    }
}
