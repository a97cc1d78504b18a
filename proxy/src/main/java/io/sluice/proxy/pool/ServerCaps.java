package io.sluice.proxy.pool;

import io.sluice.proxy.backend.BackendConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * The caps one server's pools live under, applied: global-max lowered to the server's limits and
 * to adaptive sharing ({@link ServerShare} holds those), each pool's cap with the reserve kept
 * back, and the questions the hand-off asks before it opens or hands out a connection (answered by
 * {@link CapPolicy} from the counts of the {@link PoolSet}). A new reading of the limits or of
 * Threads_connected is applied here: idle connections over a lowered cap are closed now (busy ones
 * as they come back); the caller then serves waiters ({@link HandOff#dispatchAll}).
 *
 * <p>Threading: guarded by the {@link PoolSet} lock, except the volatile figures of
 * {@link ServerShare} read from any thread; the per-release questions ({@link #overCap},
 * {@link #owesRoom}) allocate nothing.
 */
final class ServerCaps {
    /** The pools' one log category (operators and tests filter on it). */
    private static final Logger log = LoggerFactory.getLogger(BackendPools.class);
    private static final String EVICTED = "evicted to make room for another key or pool";

    /** The server's limits and the share of them Sluice takes. */
    final ServerShare share = new ServerShare();
    private final PoolSet set;

    ServerCaps(PoolSet set) {
        this.set = set;
    }

    /** The most backend connections Sluice opens: global-max, lowered to what the server allows. */
    int globalCap() {
        return share.globalCap(set.config().globalMax());
    }

    /** {@link CapPolicy#capFor} of {@code p}. */
    int capFor(BackendPool p) {
        return CapPolicy.capFor(globalCap(), p.priority, set.config().reserve());
    }

    /** Whether {@code p} may open one more connection ({@link CapPolicy#mayOpen}). Caller holds the lock. */
    boolean roomToOpen(BackendPool p) {
        return CapPolicy.mayOpen(p, set.total, capFor(p), globalCap(), set.all());
    }

    /** {@link CapPolicy#overCap}. Caller holds the lock. */
    boolean overCap(BackendPool p) {
        return CapPolicy.overCap(p, set.total, set.totalEvicting(), globalCap());
    }

    /** {@link CapPolicy#owesRoom}. Caller holds the lock. */
    boolean owesRoom(BackendPool p) {
        return CapPolicy.owesRoom(p, set.total, set.totalEvicting(), globalCap(), set.all());
    }

    /** {@link CapPolicy#evictsOwnIdle}. Caller holds the lock. */
    boolean evictsOwnIdle(BackendPool p) {
        return CapPolicy.evictsOwnIdle(p, globalCap(), set.all());
    }

    /** Closes idle connections of {@code p} while it is over a (lowered) cap. Caller holds the lock. */
    void evictOverCap(BackendPool p, List<Runnable> after) {
        BackendConnection c;
        while (overCap(p) && (c = p.oldestIdle()) != null) {
            set.evict(c, after, EVICTED);
        }
    }

    /** {@link #evictOverCap} for every pool. Caller holds the lock. */
    void evictOverCap(List<Runnable> after) {
        for (BackendPool p : set.all()) {
            evictOverCap(p, after);
        }
    }

    /**
     * Applies a read of the server's limits: the derived cap closes idle connections over it (busy
     * ones as they come back, with a WARN when the cap fell below them). Returns whether limits
     * were read (then the caller serves waiters). {@code ownConnections}: connections open to read
     * the limits, counted in the total but no backend of a pool. Caller holds the lock.
     */
    boolean applyReading(ServerLimitsProbe.Reading r, int ownConnections, List<Runnable> after) {
        if (r.limits() == null) {
            share.readFailed(r.failure(), set.config().globalMax());
            return false;
        }
        ServerLimits before = share.apply(r, set.config());
        ServerLimits l = r.limits();
        evictOverCap(after);
        int above = set.total - set.totalEvicting() - ownConnections - globalCap(); // busy: idle ones are closing
        if (before != null && l.effectiveCap() < before.effectiveCap() && above > 0) {
            log.warn("server limits lowered the backend cap from {} to {} with {} backends busy above it: "
                    + "they close as they come back until Sluice is under the cap ({})", before.effectiveCap(),
                    globalCap(), above, l.reasoning());
        }
        return true;
    }

    /**
     * Applies a read of Threads_connected (-1: none) for adaptive sharing: a lowered cap closes idle
     * backends first (busy ones as they come back). Returns whether the cap changed (then the
     * caller serves waiters). Caller holds the lock.
     */
    boolean adapt(long threads, List<Runnable> after) {
        if (!share.adapt(threads, set.total - set.totalOpening())) {
            return false;
        }
        evictOverCap(after);
        return true;
    }
}
