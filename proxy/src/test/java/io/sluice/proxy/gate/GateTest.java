package io.sluice.proxy.gate;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import io.sluice.proxy.backend.BackendKey;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        assertSame(onA, g.pollMatchingPreferring(K::equals, a, 1_000_000_000L), "same moment: the same-loop waiter");
        Gate fair = new Gate(10);
        Waiter old = new Waiter(K, b);
        fair.offer(old);
        Thread.sleep(5);
        Waiter late = new Waiter(K, a);
        fair.offer(late);
        assertSame(old, fair.pollMatchingPreferring(K::equals, a, 1_000_000L), "a waiter that came later does not pass the oldest");
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
        assertSame(soonAfter, longWait.pollMatchingPreferring(K::equals, a, 1_000_000L),
                "after a long wait the window is half of it: a same-loop waiter 4 ms behind the oldest goes first");
        assertSame(first, longWait.pollMatchingPreferring(K::equals, a, 1_000_000L),
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
}
