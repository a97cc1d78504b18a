package io.sluice.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The servers Sluice fronts when there is more than one: a primary and its replicas
 * ({@code sluice.servers}), and how Sluice watches them and routes between them
 * ({@code sluice.cluster}). With one server (the {@code sluice.server} shorthand) {@link #servers()}
 * holds just that one and nothing is polled or routed.
 *
 * @param servers             every server, in the order given; at least one
 * @param pollInterval        how often each server's role, health and replication position are read
 * @param maxReplicaLag       a replica further behind than this gets no new reads; it gets them back
 *                            once it is within half of it (hysteresis)
 * @param readYourWrites      where a write's position is remembered, so later reads see it
 * @param readYourWritesWait  how long a read may wait for a replica to apply the reader's last write
 *                            before it goes to the primary instead; 0 = never wait
 * @param readsWithoutReplica what a read does when no replica qualifies
 * @param monitorUser         the front-end user whose server account polls the servers; empty = the
 *                            first user by name
 */
public record ClusterConfig(List<Member> servers, Duration pollInterval, Duration maxReplicaLag,
                            ReadYourWrites readYourWrites, Duration readYourWritesWait,
                            NoReplica readsWithoutReplica, Optional<String> monitorUser) {

    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofMillis(500);
    public static final Duration DEFAULT_MAX_REPLICA_LAG = Duration.ofSeconds(2);

    public ClusterConfig {
        servers = List.copyOf(Objects.requireNonNull(servers, "servers"));
        if (servers.isEmpty()) {
            throw new IllegalArgumentException("at least one server");
        }
        Objects.requireNonNull(pollInterval, "pollInterval");
        Objects.requireNonNull(maxReplicaLag, "maxReplicaLag");
        Objects.requireNonNull(readYourWrites, "readYourWrites");
        Objects.requireNonNull(readYourWritesWait, "readYourWritesWait");
        Objects.requireNonNull(readsWithoutReplica, "readsWithoutReplica");
        Objects.requireNonNull(monitorUser, "monitorUser");
    }

    /** The one server of {@code server}, nothing polled: what a config without {@code sluice.servers} means. */
    public static ClusterConfig single(ServerConfig server) {
        return new ClusterConfig(List.of(new Member(server.host(), server.port(), server.socket(), 1, Role.AUTO)),
                DEFAULT_POLL_INTERVAL, DEFAULT_MAX_REPLICA_LAG, ReadYourWrites.SESSION, Duration.ZERO, NoReplica.PRIMARY,
                Optional.empty());
    }

    /** More than one server: roles are polled and statements routed. */
    public boolean isCluster() {
        return servers.size() > 1;
    }

    /**
     * One server of the cluster.
     *
     * @param weight its share of reads among replicas that qualify (1 = equal)
     * @param role   a hint that narrows what Sluice may decide: a server named replica never takes
     *               writes even when it looks writable; one named primary never serves reads as a
     *               replica; auto = as polled
     */
    public record Member(String host, int port, Optional<Path> socket, int weight, Role role) {
        public Member {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(socket, "socket");
            Objects.requireNonNull(role, "role");
        }

        /** {@code unix:/path} or {@code host:port}, for messages, logs and metrics labels. */
        public String address() {
            return socket.map(p -> "unix:" + p).orElse(host + ":" + port);
        }
    }

    /** The role hint of a server. */
    public enum Role { AUTO, PRIMARY, REPLICA }

    /** Where a write's position is kept for read-your-writes. */
    public enum ReadYourWrites {
        /** Reads may see a replica that has not applied the reader's own writes yet. */
        OFF,
        /** Each client connection reads its own writes. */
        SESSION,
        /** Every connection of the same front-end user reads that user's writes. */
        USER
    }

    /** What a read does when no replica qualifies. */
    public enum NoReplica {
        /** Runs on the primary. */
        PRIMARY,
        /** Waits in the queue (up to the acquire timeout) for a replica to qualify. */
        WAIT,
        /** Fails at once with a documented error. */
        FAIL
    }
}
