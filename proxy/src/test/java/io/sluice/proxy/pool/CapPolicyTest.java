package io.sluice.proxy.pool;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cap and fairness policy without sockets: plain counts in, decisions out. */
class CapPolicyTest {
    /** One pool's counts: size includes opening and evicting connections. */
    record Pool(int size, int max, int evicting, int opening, int waiting) implements CapPolicy.Load {
    }

    static ServerLimits limits(int effectiveCap) {
        return new ServerLimits(151, 0, 0, 1024, 28800, 0, effectiveCap, "test");
    }

    @Test
    void theSmallestCapBinds() {
        assertEquals(100, CapPolicy.globalCap(100, null, Integer.MAX_VALUE), "before the limits are read: global-max");
        assertEquals(40, CapPolicy.globalCap(100, limits(40), Integer.MAX_VALUE), "the server allows less");
        assertEquals(30, CapPolicy.globalCap(30, limits(40), Integer.MAX_VALUE), "global-max is lower");
        assertEquals(12, CapPolicy.globalCap(100, limits(40), 12), "adaptive sharing allows less still");
    }

    @Test
    void theReserveIsKeptFromPoolsThatAreNotPriorityButLeavesThemOne() {
        assertEquals(10, CapPolicy.capFor(10, true, 3));
        assertEquals(7, CapPolicy.capFor(10, false, 3));
        assertEquals(1, CapPolicy.capFor(3, false, 5), "at least one connection is left to every pool");
    }

    @Test
    void theFairShareIsAnEvenSplitAmongPoolsThatHoldOrWant() {
        Pool busy = new Pool(6, 10, 0, 0, 4);
        Pool waiting = new Pool(0, 10, 0, 0, 2);
        Pool unused = new Pool(0, 10, 0, 0, 0);
        assertEquals(2, CapPolicy.wanting(List.of(busy, waiting, unused)), "an unused pool takes no share");
        assertEquals(4, CapPolicy.fairShare(8, 2));
        assertEquals(1, CapPolicy.fairShare(2, 5), "at least one each");
        assertEquals(8, CapPolicy.fairShare(8, 0));
    }

    @Test
    void aPoolAtItsShareYieldsToOneWaitingBelowItsShare() {
        Pool big = new Pool(6, 10, 0, 0, 3);
        Pool starved = new Pool(1, 10, 0, 0, 2);
        List<Pool> both = List.of(big, starved);
        // cap 8, two pools: a share of 4 each
        assertTrue(CapPolicy.yieldsTo(big, 0, 8, both));
        assertTrue(CapPolicy.yieldsTo(big, 1, 8, both), "6 >= 4 + 1");
        assertFalse(CapPolicy.yieldsTo(big, 3, 8, both), "6 < 4 + 3");
        assertFalse(CapPolicy.yieldsTo(starved, 0, 8, both), "below its share it never yields");
        Pool covered = new Pool(1, 10, 0, 2, 2);
        assertFalse(CapPolicy.yieldsTo(big, 0, 8, List.of(big, covered)), "opens under way already cover its waiters");
        Pool small = new Pool(1, 1, 0, 0, 2);
        assertFalse(CapPolicy.yieldsTo(big, 0, 8, List.of(big, small)), "at its own max it cannot take more anyway");
        Pool closing = new Pool(6, 10, 3, 0, 3);
        assertFalse(CapPolicy.yieldsTo(closing, 0, 8, List.of(closing, starved)), "its closing connections do not count");
    }

    @Test
    void aPoolMayOpenBelowItsMaxItsCapAndItsShare() {
        Pool p = new Pool(2, 3, 0, 0, 1);
        List<Pool> alone = List.of(p);
        assertTrue(CapPolicy.mayOpen(p, 2, 10, 10, alone));
        assertFalse(CapPolicy.mayOpen(new Pool(3, 3, 0, 0, 1), 3, 10, 10, alone), "at its max");
        assertFalse(CapPolicy.mayOpen(p, 10, 10, 10, alone), "at the cap");
        Pool big = new Pool(5, 10, 0, 0, 1);
        Pool starved = new Pool(0, 10, 0, 0, 1);
        assertFalse(CapPolicy.mayOpen(big, 5, 10, 8, List.of(big, starved)), "above its share while another waits");
        assertTrue(CapPolicy.mayOpen(starved, 5, 10, 8, List.of(big, starved)));
    }

    @Test
    void overCapCountsNeitherThePoolsNorTheServersClosingConnections() {
        assertTrue(CapPolicy.overCap(new Pool(5, 4, 0, 0, 0), 5, 0, 10), "a reload lowered the pool's max");
        assertFalse(CapPolicy.overCap(new Pool(5, 4, 1, 0, 0), 5, 1, 10), "the extra one is closing");
        assertTrue(CapPolicy.overCap(new Pool(5, 10, 0, 0, 0), 12, 1, 10), "the global cap was lowered");
        assertFalse(CapPolicy.overCap(new Pool(5, 10, 0, 0, 0), 12, 2, 10));
    }

    @Test
    void aReleaseGoesToAnotherPoolOnlyAtTheGlobalCapAndAboveTheShare() {
        Pool big = new Pool(7, 10, 0, 0, 3);
        Pool starved = new Pool(1, 10, 0, 0, 2);
        List<Pool> both = List.of(big, starved);
        assertTrue(CapPolicy.owesRoom(big, 8, 0, 8, both));
        assertFalse(CapPolicy.owesRoom(big, 7, 0, 8, both), "below the cap the starved pool opens its own");
        assertFalse(CapPolicy.owesRoom(big, 8, 1, 8, both), "room is being made already");
        assertFalse(CapPolicy.owesRoom(new Pool(4, 10, 0, 0, 3), 8, 0, 8, List.of(new Pool(4, 10, 0, 0, 3), starved)),
                "at its share exactly it keeps its connection");
    }

    @Test
    void roomComesFromTheOwnPoolWhenItsOwnLimitBindsElseFromAnyPool() {
        Pool atMax = new Pool(3, 3, 0, 0, 2);
        assertTrue(CapPolicy.evictsOwnIdle(atMax, 10, List.of(atMax)));
        Pool belowMax = new Pool(2, 3, 0, 0, 2);
        assertFalse(CapPolicy.evictsOwnIdle(belowMax, 2, List.of(belowMax)), "the global cap binds: any pool's idle one");
        Pool big = new Pool(5, 10, 0, 0, 1);
        Pool starved = new Pool(0, 10, 0, 0, 1);
        assertTrue(CapPolicy.evictsOwnIdle(big, 8, List.of(big, starved)), "its fair share binds");
    }

    @Test
    void aFreeConnectionServesAnotherKeysWaiterFromIdleElseOpensElseRekeys() {
        assertEquals(CapPolicy.OtherKey.SERVE_FROM_IDLE, CapPolicy.forOtherKey(true, false));
        assertEquals(CapPolicy.OtherKey.SERVE_FROM_IDLE, CapPolicy.forOtherKey(true, true));
        assertEquals(CapPolicy.OtherKey.OPEN_FOR_IT, CapPolicy.forOtherKey(false, true));
        assertEquals(CapPolicy.OtherKey.REKEY, CapPolicy.forOtherKey(false, false));
    }

    @Test
    void adaptiveSharingFallsAtOnceAndGrowsOneAtATimeWithTwoToSpare() {
        // max_connections 100, headroom 2, 50 others: 48 left
        assertEquals(48, CapPolicy.nextAdaptiveCap(Integer.MAX_VALUE, 5, 50, 100, 2), "the first read sets it");
        assertEquals(48, CapPolicy.nextAdaptiveCap(60, 5, 50, 100, 2), "down at once");
        assertEquals(21, CapPolicy.nextAdaptiveCap(20, 5, 50, 100, 2), "up by one");
        assertEquals(31, CapPolicy.nextAdaptiveCap(20, 30, 50, 100, 2), "up by one from what Sluice holds");
        assertEquals(47, CapPolicy.nextAdaptiveCap(47, 5, 50, 100, 2), "one to spare is not enough");
        assertEquals(1, CapPolicy.nextAdaptiveCap(Integer.MAX_VALUE, 5, 500, 100, 2), "never below one");
        assertEquals(45, CapPolicy.others(50, 5));
        assertEquals(0, CapPolicy.others(3, 5), "Sluice's own opening connections are not others");
    }

    @Test
    void opensBackOffFrom100MsTo2s() {
        assertEquals(100, CapPolicy.retryDelayMillis(1));
        assertEquals(200, CapPolicy.retryDelayMillis(2));
        assertEquals(1600, CapPolicy.retryDelayMillis(5));
        assertEquals(1600, CapPolicy.retryDelayMillis(50));
    }
}
