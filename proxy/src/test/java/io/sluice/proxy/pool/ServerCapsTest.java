package io.sluice.proxy.pool;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sluice.config.PoolConfig;
import io.sluice.config.PoolMode;
import io.sluice.proxy.metrics.ProxyMetrics;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The caps one server's pools live under, applied to the counts of a {@link PoolSet} without
 * sockets: readings of the server's limits and of Threads_connected in, caps and decisions out.
 * Evicting idle connections needs real ones (ServerLimitsIT, FairnessIT).
 */
class ServerCapsTest {
    static PoolConfig config(int globalMax, int reserve) {
        Duration s = Duration.ofSeconds(1);
        return new PoolConfig(PoolMode.TRANSACTION, 4, 0, globalMax, Duration.ofMinutes(10), Duration.ofHours(1), s, s, s,
                100, 32, 100, reserve);
    }

    static PoolSet set(int globalMax, int reserve, BackendPool... pools) {
        PoolSet set = new PoolSet(config(globalMax, reserve));
        for (BackendPool p : pools) {
            set.add(p);
        }
        return set;
    }

    static BackendPool pool(String name, int max, boolean priority) {
        BackendPool p = new BackendPool(name, "pw", max, 10, new ProxyMetrics(new SimpleMeterRegistry()).pool(name), null);
        p.priority = priority;
        return p;
    }

    static ServerLimitsProbe.Reading reading(int maxConnections, int effectiveCap) {
        return new ServerLimitsProbe.Reading(new ServerLimits(maxConnections, 0, 0, 1024, 28800, 0, effectiveCap, "test"),
                null, 5, 5);
    }

    @Test
    void aReadingOfTheLimitsLowersTheCapsAndAFailedOneKeepsGlobalMax() {
        BackendPool app = pool("app", 4, false);
        BackendPool ops = pool("ops", 4, true);
        ServerCaps caps = new ServerCaps(set(100, 3, app, ops));
        List<Runnable> after = new ArrayList<>();
        assertEquals(100, caps.globalCap(), "before any reading: global-max");
        assertFalse(caps.applyReading(new ServerLimitsProbe.Reading(null, "denied", -1, -1), 0, after),
                "nothing read: no waiters to serve anew");
        assertTrue(caps.share.tried, "a server that will not tell does not block opens");
        assertEquals(100, caps.globalCap());
        assertTrue(caps.applyReading(reading(151, 10), 0, after));
        assertEquals(10, caps.globalCap());
        assertEquals(7, caps.capFor(app), "the reserve is kept from pools of users that are not priority");
        assertEquals(10, caps.capFor(ops));
        assertTrue(after.isEmpty(), "no idle connection to close");
    }

    @Test
    void roomToOpenCountsEveryPoolAgainstThePoolsCap() {
        BackendPool app = pool("app", 4, false);
        PoolSet set = set(10, 3, app);
        ServerCaps caps = new ServerCaps(set);
        set.total = 6;
        assertTrue(caps.roomToOpen(app), "6 of the 7 left to it after the reserve");
        set.total = 7;
        assertFalse(caps.roomToOpen(app), "the reserve is for priority users");
        set.total = 0;
        app.opening = 4;
        assertFalse(caps.roomToOpen(app), "at its own max, opens under way included");
    }

    @Test
    void overCapDoesNotCountConnectionsAlreadyClosing() {
        BackendPool app = pool("app", 4, false);
        PoolSet set = set(10, 0, app);
        ServerCaps caps = new ServerCaps(set);
        app.opening = 5;
        set.total = 5;
        assertTrue(caps.overCap(app), "a reload lowered the pool's max below what it holds");
        app.evicting = 1;
        assertFalse(caps.overCap(app), "the one closing is on its way out");
        app.evicting = 0;
        app.max = 10;
        set.total = 11;
        assertTrue(caps.overCap(app), "over the global cap");
    }

    @Test
    void adaptiveSharingLowersTheCapAtOnceAndOnlyReportsAChange() {
        BackendPool app = pool("app", 50, false);
        PoolSet set = set(100, 0, app);
        ServerCaps caps = new ServerCaps(set);
        List<Runnable> after = new ArrayList<>();
        caps.share.policy(2, 1, true);
        assertFalse(caps.adapt(15, after), "no limits read yet");
        caps.applyReading(reading(20, 18), 0, after);
        set.total = 5;
        assertTrue(caps.adapt(15, after), "10 others of 20 - headroom 2: 8 left for Sluice");
        assertEquals(8, caps.globalCap());
        assertFalse(caps.adapt(15, after), "the same reading: no change, nothing to serve anew");
        assertFalse(caps.adapt(-1, after), "no reading");
        assertEquals(8, caps.globalCap());
    }
}
