package io.sluice.proxy.cluster;

import io.sluice.config.ClusterConfig;

/**
 * What Sluice knows of one server of the cluster at one poll; immutable, published inside a
 * {@link Topology}.
 *
 * @param index       the server's place in {@code sluice.servers}
 * @param member      its configured address, weight and role hint
 * @param up          the last poll answered
 * @param role        what the server is, from what it said
 * @param writable    read_only, super_read_only (MySQL) and innodb_read_only all off
 * @param replicating its replication threads run (MariaDB {@code Slave_running}; MySQL's applier and receiver)
 * @param position    the transactions it has (primary: its binary log; replica: what it applied)
 * @param lagNanos    how far a replica is behind the primary, from GTID positions; 0 on the
 *                    primary and on a replica that has everything; -1 when unknown
 * @param readable    a replica that takes new reads (up, replicating, within the lag bound with hysteresis)
 * @param why         why it is not readable or not the primary, for logs, /stats and /ready; "" when all is well
 */
public record ServerView(int index, ClusterConfig.Member member, boolean up, Role role, boolean writable, boolean replicating,
                         GtidSet position, long lagNanos, boolean readable, String why) {

    /** A server's role as Sluice sees it. */
    public enum Role {
        /** Writable and not replicating: takes writes. */
        PRIMARY,
        /** Replicating: may take reads. */
        REPLICA,
        /** Down, read-only without replicating, or writable next to another writable server: takes nothing. */
        NONE
    }

    /** Before the first poll: nothing known, nothing sent there. */
    static ServerView unknown(int index, ClusterConfig.Member member) {
        return new ServerView(index, member, false, Role.NONE, false, false, GtidSet.EMPTY, -1, false, "not polled yet");
    }

    public String address() {
        return member.address();
    }
}
