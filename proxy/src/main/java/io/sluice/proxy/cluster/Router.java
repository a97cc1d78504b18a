package io.sluice.proxy.cluster;

import io.sluice.config.ClusterConfig;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Picks the server for one unit of work (an autocommit statement, a transaction, a session in
 * session mode) from the current {@link Topology}: rule 4 (read/write split) and rule 5
 * (read-your-writes) of the cluster issue, in one place. Decides only; the session then acquires a
 * backend of that server. Thread-safe (a counter spreads reads over replicas by weight); no
 * allocation per decision.
 */
public final class Router {
    /** {@link Decision#server()} when the work must wait for a server to qualify (a primary, or a replica). */
    public static final int WAIT = -1;
    /** {@link Decision#server()} when the work is refused at once. */
    public static final int FAIL = -2;

    /** Why work went where it went: the {@code reason} label of {@code sluice_route_total} and /sessions. */
    public enum Reason {
        WRITE("write"), COMMAND("command"), TRANSACTION("transaction"), PINNED("pinned"), HINT("hint"), SPLIT_OFF("split_off"),
        SESSION_MODE("session_mode"), READ("read"), READ_ONLY_TRANSACTION("read_only_transaction"),
        READ_YOUR_WRITES("read_your_writes"), NO_REPLICA("no_replica"), REPLICAS_ONLY("replicas_only"),
        NO_PRIMARY("no_primary"), SPLIT_BRAIN("split_brain");

        private final String label;

        Reason(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** Where to, and why. Constant instances for the fixed outcomes keep decisions allocation-free. */
    public record Decision(int server, Reason reason) {
    }

    /** What routing needs to know of the work and its session. */
    public enum Work {
        /** Must run on the primary: a write, a transaction, autocommit off, a pin, the hint, split off for the user. */
        PRIMARY,
        /** An autocommit read, a read-only transaction, or a replicas-only user's work: any qualifying replica. */
        READ
    }

    private final ClusterConfig config;
    private final AtomicLong spread = new AtomicLong();
    private final Decision[][] decisions;
    private final Decision waitPrimary = new Decision(WAIT, Reason.NO_PRIMARY);
    private final Decision waitSplit = new Decision(WAIT, Reason.SPLIT_BRAIN);

    public Router(ClusterConfig config) {
        this.config = config;
        int n = config.servers().size();
        Reason[] reasons = Reason.values();
        decisions = new Decision[n][reasons.length];
        for (int i = 0; i < n; i++) {
            for (Reason r : reasons) {
                decisions[i][r.ordinal()] = new Decision(i, r);
            }
        }
    }

    private Decision at(int server, Reason reason) {
        return decisions[server][reason.ordinal()];
    }

    /**
     * @param why          the reason to record when the work goes to the primary (WRITE, TRANSACTION, ...)
     * @param replicasOnly the user's work goes to replicas only (and waits or fails without one)
     * @param mustCover    the position the reader's own writes reached (read-your-writes), or {@link GtidSet#EMPTY}
     * @param primaryOnlyUntilNanos without GTIDs: reads go to the primary until this {@code System.nanoTime()}, or 0
     */
    public Decision route(Topology t, Work work, Reason why, boolean replicasOnly, GtidSet mustCover, long primaryOnlyUntilNanos) {
        if (replicasOnly) {
            int r = pickReplica(t, GtidSet.EMPTY);
            return r >= 0 ? at(r, Reason.REPLICAS_ONLY) : noReplica(t, true);
        }
        if (work == Work.PRIMARY) {
            return primary(t, why);
        }
        if (primaryOnlyUntilNanos != 0 && System.nanoTime() - primaryOnlyUntilNanos < 0) {
            return primary(t, Reason.READ_YOUR_WRITES);
        }
        int r = pickReplica(t, mustCover);
        if (r >= 0) {
            return at(r, why == Reason.READ_ONLY_TRANSACTION ? why : Reason.READ);
        }
        if (!mustCover.isEmpty() && pickReplica(t, GtidSet.EMPTY) >= 0) {
            return primary(t, Reason.READ_YOUR_WRITES); // replicas qualify, but none has the reader's write yet
        }
        return noReplica(t, false);
    }

    private Decision primary(Topology t, Reason why) {
        if (t.primary() >= 0) {
            return at(t.primary(), why);
        }
        return t.primary() == Topology.SPLIT_BRAIN ? waitSplit : waitPrimary;
    }

    private Decision noReplica(Topology t, boolean replicasOnly) {
        ClusterConfig.NoReplica rule = replicasOnly ? ClusterConfig.NoReplica.WAIT : config.readsWithoutReplica();
        return switch (rule) {
            case PRIMARY -> primary(t, Reason.NO_REPLICA);
            case WAIT -> new Decision(WAIT, Reason.NO_REPLICA);
            case FAIL -> new Decision(FAIL, Reason.NO_REPLICA);
        };
    }

    /** A readable replica that has {@code mustCover}, spread by weight; -1 when none. */
    private int pickReplica(Topology t, GtidSet mustCover) {
        int total = 0;
        List<ServerView> servers = t.servers();
        for (int i = 0; i < servers.size(); i++) { // indexed: no iterator per decision
            ServerView s = servers.get(i);
            if (s.readable() && s.position().covers(mustCover)) {
                total += s.member().weight();
            }
        }
        if (total == 0) {
            return -1;
        }
        long ticket = Math.floorMod(spread.getAndIncrement(), (long) total);
        for (int i = 0; i < servers.size(); i++) {
            ServerView s = servers.get(i);
            if (s.readable() && s.position().covers(mustCover)) {
                ticket -= s.member().weight();
                if (ticket < 0) {
                    return s.index();
                }
            }
        }
        return -1; // not reached
    }
}
