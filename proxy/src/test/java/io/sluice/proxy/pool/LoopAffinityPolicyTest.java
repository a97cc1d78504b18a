package io.sluice.proxy.pool;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sluice.proxy.backend.BackendKey;
import io.sluice.proxy.metrics.ProxyMetrics;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loop affinity's decisions without sockets. */
class LoopAffinityPolicyTest {
    static final BackendKey SESSION = new BackendKey("u", 0, 45, false);
    static final BackendKey TRANSACTION = new BackendKey("u", 0, 45, true);

    @Test
    void aSwapNeedsTheDonorLoopToHoldTwoMoreSoItCannotBounceBack() {
        assertTrue(LoopAffinity.evensOut(2, 0));
        assertTrue(LoopAffinity.evensOut(5, 3));
        assertFalse(LoopAffinity.evensOut(1, 0), "1 vs 0 would become 0 vs 1");
        assertFalse(LoopAffinity.evensOut(3, 3));
    }

    /**
     * Without an idle connection on another loop there is nothing to lend, so the gate's dispatch
     * opens one (and counts opens under way for earlier waiters); in transaction mode connections
     * are rebalanced instead. The cases with an idle connection need a real one:
     * PoolIT.aSessionGetsABackendOnItsOwnEventLoopWhileThePoolHasRoom runs them.
     */
    @Test
    void opensOnItsOwnLoopOnlyInSessionModeWithSomethingIdleToNotLend() {
        BackendPool p = new BackendPool("u", "pw", 4, 10, new ProxyMetrics(new SimpleMeterRegistry()).pool("u"), null);
        ServerShare share = new ServerShare();
        share.tried = true;
        assertFalse(LoopAffinity.opensOnOwnLoop(SESSION, p, share), "nothing idle on another loop to lend");
        assertFalse(LoopAffinity.opensOnOwnLoop(TRANSACTION, p, share), "transaction mode rebalances instead");
    }
}
