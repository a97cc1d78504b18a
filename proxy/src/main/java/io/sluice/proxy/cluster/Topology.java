package io.sluice.proxy.cluster;

import java.util.List;

/**
 * The cluster as of one round of polls: every server's view and which one is the primary.
 * Immutable; the monitor publishes a new one when anything that routing reads changes, and a
 * session reads the current one once per routing decision.
 *
 * @param servers  in the order of {@code sluice.servers}
 * @param primary  the primary's index; {@link #NO_PRIMARY} when no server is writable and
 *                 unreplicated, {@link #SPLIT_BRAIN} when more than one is
 * @param why      when there is no usable primary: what Sluice saw, for errors, logs and /ready
 */
public record Topology(List<ServerView> servers, int primary, String why) {
    public static final int NO_PRIMARY = -1;
    public static final int SPLIT_BRAIN = -2;

    public Topology {
        servers = List.copyOf(servers);
    }

    public boolean hasPrimary() {
        return primary >= 0;
    }

    public ServerView server(int index) {
        return servers.get(index);
    }

    /** One line naming the primary and the readable replicas, for logs. */
    public String describe() {
        StringBuilder b = new StringBuilder();
        b.append(hasPrimary() ? "primary " + servers.get(primary).address() : "no primary (" + why + ")");
        for (ServerView s : servers) {
            if (s.index() == primary) {
                continue;
            }
            b.append("; ").append(s.address()).append(' ');
            if (s.readable()) {
                b.append("replica");
            } else {
                b.append(s.role() == ServerView.Role.REPLICA ? "replica, no reads: " : "unused: ").append(s.why());
            }
        }
        return b.toString();
    }
}
