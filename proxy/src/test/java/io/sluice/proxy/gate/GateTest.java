package io.sluice.proxy.gate;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import io.sluice.proxy.backend.BackendKey;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/** Gate order without sockets: FIFO per key, bounded, and loop affinity only among simultaneous waiters. */
class GateTest {
    static EventLoop a;
    static EventLoop b;
    static final BackendKey K = new BackendKey("u", 0, 45, false);
    static final BackendKey OTHER = new BackendKey("u", 1, 45, false);

    @BeforeAll
    static void loops() {
        a = new DefaultEventLoop();
        b = new DefaultEventLoop();
    }

    @AfterAll
    static void stop() {
        a.shutdownGracefully();
        b.shutdownGracefully();
    }

    @Test
    void fifoPerKeyAndBounded() {
        Gate g = new Gate(3);
        Waiter w1 = new Waiter(K, a);
        Waiter w2 = new Waiter(OTHER, a);
        Waiter w3 = new Waiter(K, a);
        assertSame(true, g.offer(w1) && g.offer(w2) && g.offer(w3));
        assertFalse(g.offer(new Waiter(K, a)), "a full gate refuses");
        assertSame(w1, g.pollMatching(K::equals));
        assertSame(w3, g.pollMatching(K::equals));
        assertNull(g.pollMatching(K::equals));
        assertSame(w2, g.pollMatching(OTHER::equals));
    }

    @Test
    void prefersTheConnectionsLoopOnlyAmongSimultaneousWaiters() throws Exception {
        Gate g = new Gate(10);
        Waiter onB = new Waiter(K, b);
        Waiter onA = new Waiter(K, a);
        g.offer(onB);
        g.offer(onA);
        assertSame(onA, g.pollFair(K, a, 1_000_000_000L, 0), "same moment: the same-loop waiter");
        Gate fair = new Gate(10);
        Waiter old = new Waiter(K, b);
        fair.offer(old);
        Thread.sleep(5);
        Waiter late = new Waiter(K, a);
        fair.offer(late);
        assertSame(old, fair.pollFair(K, a, 1_000_000L, 0), "a waiter that came later does not pass the oldest");
        assertEquals(1, fair.size());

        Gate longWait = new Gate(10);
        Waiter first = new Waiter(K, b);
        longWait.offer(first);
        Thread.sleep(4);
        Waiter soonAfter = new Waiter(K, a);
        longWait.offer(soonAfter);
        Thread.sleep(40);
        Waiter muchLater = new Waiter(K, a);
        longWait.offer(muchLater);
        assertSame(soonAfter, longWait.pollFair(K, a, 1_000_000L, 0),
                "after a long wait the window is half of it: a same-loop waiter 4 ms behind the oldest goes first");
        assertSame(first, longWait.pollFair(K, a, 1_000_000L, 0),
                "but not one that came more than half the oldest's wait after it");
    }

    /** Issue #25: arrival order across keys; waiters already covered by an open are passed over; no jumping ahead. */
    @Test
    void fairAcrossKeysInArrivalOrder() throws Exception {
        Gate g = new Gate(10);
        Waiter k1 = new Waiter(K, b);
        Waiter other = new Waiter(OTHER, a);
        Waiter k2 = new Waiter(K, a);
        g.offer(k1);
        g.offer(other);
        g.offer(k2);
        assertSame(k1, g.pollFair(K, a, 1_000_000_000L, 0),
                "an earlier waiter of the key keeps priority; the same-loop one behind a waiter of another key may not pass it");
        assertSame(other, g.pollFair(K, a, 1_000_000_000L, 0), "the oldest waiter wants another key: it is named");
        assertEquals(2, g.size(), "and left in line");
        assertSame(k2, g.pollFair(K, a, 1_000_000_000L, 1), "covered by an open under way: the next of the key is served");
        assertSame(other, g.pollFair(OTHER, b, 0, 0));
        assertNull(g.pollFair(K, a, 0, 0));
    }

    static boolean sleep(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static GateRejection.Usage usage(String pool, int moreWaiting) {
        return new GateRejection.Usage(pool, 2, 2, moreWaiting, 5, 10, 0, null, false, 50);
    }

    /** A deadline removes the waiter under the owner's lock, asks it for the pool's usage, and fails the waiter with 9401. */
    @Test
    void aDeadlineRemovesTheWaiterAndFailsItWithTheTimeoutText() throws Exception {
        Object lock = new Object();
        java.util.List<Waiter> told = new java.util.ArrayList<>();
        Gate[] gate = new Gate[1];
        gate[0] = new Gate(10, lock, w -> {
            assertTrue(Thread.holdsLock(lock), "the owner counts the timeout under its lock");
            told.add(w);
            return usage("app", gate[0].size());
        });
        Waiter late = new Waiter(K, a);
        Waiter patient = new Waiter(K, a);
        synchronized (lock) {
            assertTrue(gate[0].offer(late, java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(50)));
            assertTrue(gate[0].offer(patient, java.util.concurrent.TimeUnit.SECONDS.toNanos(30)));
        }
        Throwable cause = late.promise().await(5, java.util.concurrent.TimeUnit.SECONDS) ? late.promise().cause() : null;
        GateRejection r = assertInstanceOf(GateRejection.class, cause);
        assertEquals(io.sluice.proxy.protocol.SluiceError.POOL_TIMEOUT, r.error());
        assertTrue(r.getMessage().startsWith("Sluice: no backend connection free in pool 'app' after waiting "), r.getMessage());
        assertTrue(r.getMessage().contains("(busy 2/2, 1 more waiting, 5/10 server connections from Sluice); raise "
                + "sluice.pool.max-per-user if the server has room, raise sluice.pool.acquire-timeout (50 ms)"), r.getMessage());
        assertEquals(java.util.List.of(late), told);
        synchronized (lock) {
            assertEquals(1, gate[0].size());
            assertSame(patient, gate[0].peek());
        }
        patient.cancelTimeout();
    }

    /** A client that goes away (its promise cancelled) leaves the line, and its deadline is stopped. */
    @Test
    void aCancelledWaiterLeavesTheLine() throws Exception {
        Object lock = new Object();
        Gate g = new Gate(10, lock, w -> {
            throw new AssertionError("a withdrawn waiter has no deadline left");
        });
        Waiter w = new Waiter(K, a);
        synchronized (lock) {
            assertTrue(g.offer(w, java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(100)));
        }
        assertTrue(w.promise().cancel(false)); // the listener runs on the waiter's loop
        long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
        int left;
        do {
            synchronized (lock) {
                left = g.size();
            }
        } while (left > 0 && System.nanoTime() < until && sleep(5));
        assertEquals(0, left);
        Thread.sleep(200); // past the deadline: the owner must not be asked
        Gate full = new Gate(1, lock, x -> usage("app", 0));
        synchronized (lock) {
            assertTrue(full.offer(new Waiter(K, a), java.util.concurrent.TimeUnit.SECONDS.toNanos(30)));
            Waiter refused = new Waiter(K, a);
            assertFalse(full.offer(refused, java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(1)), "a full gate refuses");
            assertFalse(refused.promise().isDone(), "the pool writes the 9402 refusal, not the gate's deadline");
            full.rejectAll(GateRejection::shuttingDown, new java.util.ArrayList<>());
        }
    }

    /** The rejection texts name what is full and the key to change. */
    @Test
    void rejectionTextsNameTheKeyToChange() {
        GateRejection full = GateRejection.queueFull("app", 8, 4, 4);
        assertEquals(io.sluice.proxy.protocol.SluiceError.QUEUE_FULL, full.error());
        assertEquals("Sluice: the wait queue of pool 'app' is full (8 requests waiting, busy 4/4); raise "
                + "sluice.pool.max-waiters, give the pool more connections (sluice.pool.max-per-user), or send fewer "
                + "concurrent requests", full.getMessage());
        String reserved = GateRejection.timedOut(new GateRejection.Usage("app", 3, 4, 0, 9, 10, 2, "Connection refused",
                true, 1000), 1001).getMessage();
        assertTrue(reserved.contains(", of which sluice.pool.reserve keeps 2 for priority users; last connect error: "
                + "Connection refused; Sluice is paused by an operator and hands out no backends until resumed); "), reserved);
        GateRejection down = GateRejection.serverUnreachable("db:3306", "app", "Connection refused");
        assertEquals(io.sluice.proxy.protocol.SluiceError.SERVER_UNAVAILABLE, down.error());
        assertEquals("Sluice cannot open a connection to the server db:3306 for pool 'app': Connection refused (check "
                + "sluice.server.host/port and the backend credentials of users on pool 'app')", down.getMessage());
    }
}
