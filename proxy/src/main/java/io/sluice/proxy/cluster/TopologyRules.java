package io.sluice.proxy.cluster;

import io.sluice.config.ClusterConfig;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Turns one round of polls into a {@link Topology}: roles from what each server said (rule 2 of
 * the cluster issue), lag from GTID positions against the primary's recent history, and the lag
 * bound with hysteresis. Holds the little state that needs memory (the primary's history, which
 * replicas are held off for lag); used only by the monitor's thread. Unit-tested without servers.
 */
final class TopologyRules {
    /** What one poll of one server found. */
    record Poll(boolean up, boolean writable, boolean replicating, GtidSet position, String error) {
        static Poll down(String error) {
            return new Poll(false, false, false, GtidSet.EMPTY, error);
        }
    }

    private static final int HISTORY = 4096;
    private static final long HISTORY_NANOS = 600_000_000_000L;

    private final ClusterConfig config;
    /** The primary's positions as first seen, oldest first: (nanos, position). */
    private final ArrayDeque<Object[]> history = new ArrayDeque<>();
    private final boolean[] heldForLag;
    /** Which replicas took reads after the last round: without a primary to measure against, they keep doing so. */
    private final boolean[] wasReadable;
    private int lastPrimary = Topology.NO_PRIMARY;

    TopologyRules(ClusterConfig config) {
        this.config = config;
        this.heldForLag = new boolean[config.servers().size()];
        this.wasReadable = new boolean[config.servers().size()];
    }

    Topology apply(List<Poll> polls, long now) {
        List<ClusterConfig.Member> members = config.servers();
        List<Integer> writable = new ArrayList<>();
        for (int i = 0; i < polls.size(); i++) {
            Poll p = polls.get(i);
            if (p.up() && p.writable() && !p.replicating() && members.get(i).role() != ClusterConfig.Role.REPLICA) {
                writable.add(i);
            }
        }
        int primary;
        String why = "";
        if (writable.size() == 1) {
            primary = writable.get(0);
        } else if (writable.isEmpty()) {
            primary = Topology.NO_PRIMARY;
            why = "no server is writable and not replicating";
        } else {
            primary = Topology.SPLIT_BRAIN;
            List<String> names = new ArrayList<>();
            writable.forEach(i -> names.add(members.get(i).address()));
            why = "split brain: " + String.join(" and ", names) + " are all writable; no writes until one is read-only";
        }
        if (primary != lastPrimary) {
            history.clear(); // positions of another primary say nothing about lag from this one
            lastPrimary = primary;
        }
        GtidSet primaryPosition = primary >= 0 ? polls.get(primary).position() : GtidSet.EMPTY;
        if (primary >= 0) {
            remember(primaryPosition, now);
        }
        List<ServerView> views = new ArrayList<>();
        for (int i = 0; i < polls.size(); i++) {
            ServerView v = view(i, members.get(i), polls.get(i), primary, primaryPosition, now);
            wasReadable[i] = v.readable();
            views.add(v);
        }
        return new Topology(views, primary, why);
    }

    private ServerView view(int i, ClusterConfig.Member m, Poll p, int primary, GtidSet primaryPosition, long now) {
        if (!p.up()) {
            heldForLag[i] = false;
            return new ServerView(i, m, false, ServerView.Role.NONE, false, false, GtidSet.EMPTY, -1, false, "down: " + p.error());
        }
        if (i == primary) {
            return new ServerView(i, m, true, ServerView.Role.PRIMARY, true, false, p.position(), 0, false, "");
        }
        if (!p.replicating()) {
            String why = p.writable() ? (primary == Topology.SPLIT_BRAIN ? "writable next to another writable server"
                    : "writable but named replica in sluice.servers") : "read-only and not replicating";
            return new ServerView(i, m, true, ServerView.Role.NONE, p.writable(), false, p.position(), -1, false, why);
        }
        long lag = primary >= 0 ? lag(p.position(), primaryPosition, now) : -1;
        long max = config.maxReplicaLag().toNanos();
        boolean readable;
        String why = "";
        if (m.role() == ClusterConfig.Role.PRIMARY) {
            readable = false;
            why = "named primary in sluice.servers";
        } else if (primary >= 0 && primaryPosition.isEmpty()) {
            readable = false; // nothing to compare: neither lag nor read-your-writes can be known
            why = "the primary reports no GTID position (binary log off, or gtid_mode off)";
            heldForLag[i] = true;
        } else if (primary < 0 && wasReadable[i]) {
            // A switchover (or split brain) under way: nothing to measure lag against, but this
            // replica was within the bound and still replicates, so reads go on.
            readable = true;
        } else if (lag < 0) {
            readable = false;
            why = primary >= 0 ? "lag unknown" : "no primary to measure lag against";
            heldForLag[i] = true;
        } else if (heldForLag[i] ? lag > max / 2 : lag > max) {
            heldForLag[i] = true;
            readable = false;
            why = "lag " + millis(lag) + " > max-replica-lag " + millis(max) + (lag <= max ? " (back at half of it)" : "");
        } else {
            heldForLag[i] = false;
            readable = true;
        }
        return new ServerView(i, m, true, ServerView.Role.REPLICA, p.writable(), true, p.position(), lag, readable, why);
    }

    private void remember(GtidSet position, long now) {
        Object[] last = history.peekLast();
        if (last == null || !((GtidSet) last[1]).equals(position)) {
            history.addLast(new Object[] {now, position});
        }
        while (history.size() > HISTORY || history.size() > 1 && now - (long) history.peekFirst()[0] > HISTORY_NANOS) {
            history.removeFirst();
        }
    }

    /**
     * How long ago the primary first had a transaction this replica still lacks: 0 when it has
     * everything the primary has; -1 when it lacks even the oldest position remembered (at start,
     * or further behind than the history reaches): unknown, so no reads until it catches up.
     */
    private long lag(GtidSet replica, GtidSet primaryNow, long now) {
        if (replica.covers(primaryNow)) {
            return 0;
        }
        // Newest first: the position right after the newest one the replica has is where it stands.
        Iterator<Object[]> it = history.descendingIterator();
        long firstMissing = -1;
        while (it.hasNext()) {
            Object[] h = it.next();
            if (replica.covers((GtidSet) h[1])) {
                break;
            }
            firstMissing = (long) h[0];
        }
        if (firstMissing < 0) {
            return 0;
        }
        boolean coversAny = false;
        for (Object[] h : history) {
            if (replica.covers((GtidSet) h[1])) {
                coversAny = true;
                break;
            }
        }
        return coversAny ? Math.max(0, now - firstMissing) : -1;
    }

    private static String millis(long nanos) {
        return nanos / 1_000_000 + " ms";
    }
}
