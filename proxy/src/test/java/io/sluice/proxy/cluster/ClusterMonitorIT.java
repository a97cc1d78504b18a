package io.sluice.proxy.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sluice.config.BackendTlsConfig;
import io.sluice.config.ClusterConfig;
import io.sluice.config.ListenConfig;
import io.sluice.config.ServerConfig;
import io.sluice.proxy.backend.BackendConnector;
import io.sluice.proxy.metrics.ProxyMetrics;
import io.sluice.proxy.transport.Transport;
import io.sluice.testkit.Eventually;
import io.sluice.testkit.TestCluster;
import io.sluice.testkit.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The monitor against a real MariaDB primary and two GTID replicas: roles as the servers say,
 * a replica whose SQL thread stops or whose connection is cut is excluded within the poll interval
 * and back by itself when healed, a lagging replica is measured from GTID positions, and a
 * switchover is followed without Sluice promoting anything.
 */
@Tag("slow")
class ClusterMonitorIT {
    static TestCluster cluster;
    static Transport transport;

    @BeforeAll
    static void setUp() {
        cluster = TestCluster.start(2);
        cluster.primary().createUser("mon", "mon-pw", "SELECT ON *.*");
        cluster.primary().execute("CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)");
        cluster.awaitReplicated(Duration.ofSeconds(20));
        transport = new Transport(new ListenConfig("127.0.0.1", 0, 1, ListenConfig.Transport.NIO),
                ProxyMetrics.standalone().busyPoll());
    }

    @AfterAll
    static void tearDown() {
        if (transport != null) {
            transport.shutdown();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    /** Polls the servers through relays, so a test can cut Sluice's connections to one of them. */
    static ClusterMonitor monitor(Duration maxLag) {
        List<ClusterConfig.Member> members = new ArrayList<>();
        List<BackendConnector> connectors = new ArrayList<>();
        ServerConfig shared = new ServerConfig("127.0.0.1", 3306, Duration.ofSeconds(2), new BackendTlsConfig(BackendTlsConfig.Mode.DISABLED, Optional.empty()));
        for (TestServer s : cluster.servers()) {
            ClusterConfig.Member m = new ClusterConfig.Member("127.0.0.1", cluster.relayPort(s), Optional.empty(), 1,
                    ClusterConfig.Role.AUTO);
            members.add(m);
            connectors.add(new BackendConnector(shared.at(m), transport, null));
        }
        ClusterConfig config = new ClusterConfig(members, Duration.ofMillis(200), maxLag,
                ClusterConfig.ReadYourWrites.SESSION, Duration.ZERO, ClusterConfig.NoReplica.PRIMARY, Optional.empty());
        ClusterMonitor m = new ClusterMonitor(config, connectors, "mon", "mon-pw", transport.group().next());
        m.start().syncUninterruptibly();
        return m;
    }

    static int index(TestServer s) {
        return cluster.servers().indexOf(s);
    }

    static Topology await(ClusterMonitor m, String what, Predicate<Topology> until) throws Exception {
        Eventually.until(what, Duration.ofSeconds(10), () -> until.test(m.topology()));
        return m.topology();
    }

    @Test
    void rolesComeFromTheServers() throws Exception {
        try (ClusterMonitor m = monitor(Duration.ofSeconds(2))) {
            Topology t = await(m, "primary and two readable replicas",
                    x -> x.hasPrimary() && x.server(index(cluster.replica(0))).readable() && x.server(index(cluster.replica(1))).readable());
            assertEquals(index(cluster.primary()), t.primary());
            assertEquals(ServerView.Role.REPLICA, t.server(index(cluster.replica(0))).role());
            assertEquals(0, t.server(index(cluster.replica(1))).lagNanos());
        }
    }

    @Test
    void aStoppedReplicaIsExcludedAndComesBack() throws Exception {
        TestServer replica = cluster.replica(0);
        try (ClusterMonitor m = monitor(Duration.ofSeconds(2))) {
            await(m, "replica readable", t -> t.server(index(replica)).readable());
            cluster.stopReplicaSql(replica);
            Topology t = await(m, "replica with its SQL thread stopped gets no reads", x -> !x.server(index(replica)).readable());
            assertEquals("read-only and not replicating", t.server(index(replica)).why());
            cluster.startReplicaSql(replica);
            await(m, "replica readable again", x -> x.server(index(replica)).readable());
        } finally {
            replica.execute("START SLAVE SQL_THREAD");
        }
    }

    @Test
    void aCutReplicaIsDownThenBack() throws Exception {
        TestServer replica = cluster.replica(1);
        try (ClusterMonitor m = monitor(Duration.ofSeconds(2))) {
            await(m, "replica readable", t -> t.server(index(replica)).readable());
            cluster.relay(replica).refuseNew(true);
            cluster.relay(replica).cutAll();
            Topology t = await(m, "cut replica down", x -> !x.server(index(replica)).up());
            assertTrue(t.server(index(replica)).why().startsWith("down: "), t.server(index(replica)).why());
            assertTrue(t.hasPrimary());
            cluster.relay(replica).refuseNew(false);
            await(m, "replica back", x -> x.server(index(replica)).readable());
        } finally {
            cluster.relay(replica).refuseNew(false);
        }
    }

    @Test
    void aDelayedReplicaIsHeldForLagWhileStillReplicating() throws Exception {
        TestServer replica = cluster.replica(1);
        try (ClusterMonitor m = monitor(Duration.ofMillis(600))) {
            await(m, "replica readable", t -> t.server(index(replica)).readable());
            replica.execute("STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 3", "START SLAVE");
            cluster.primary().execute("INSERT INTO app.t (v) VALUES (1)");
            Topology t = await(m, "delayed replica held for lag", x -> !x.server(index(replica)).readable());
            ServerView v = t.server(index(replica));
            assertEquals(ServerView.Role.REPLICA, v.role()); // still replicating: held, not dropped
            assertTrue(v.why().startsWith("lag "), v.why());
            t = await(m, "caught up after the delay", x -> x.server(index(replica)).readable());
            assertEquals(0, t.server(index(replica)).lagNanos());
        } finally {
            replica.execute("STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 0", "START SLAVE");
        }
    }
}
