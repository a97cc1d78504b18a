package io.sluice.config;

import static io.sluice.config.ValidationTest.USER;
import static io.sluice.config.ValidationTest.assertProblem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@code sluice.servers} and {@code sluice.cluster}: a primary and its replicas. */
class ClusterConfigTest {

    @Test
    void withoutServersTheOneServerIsTheCluster() {
        SluiceConfig c = ConfigLoader.parse(USER + "sluice.server { host = db1, port = 3307 }");
        assertFalse(c.cluster().isCluster());
        assertEquals(List.of(new ClusterConfig.Member("db1", 3307, Optional.empty(), 1, ClusterConfig.Role.AUTO)),
                c.cluster().servers());
        assertEquals(Duration.ofMillis(500), c.cluster().pollInterval());
        assertEquals(ClusterConfig.ReadYourWrites.SESSION, c.cluster().readYourWrites());
        assertTrue(c.users().get("app").readWriteSplit());
        assertFalse(c.users().get("app").replicasOnly());
    }

    @Test
    void serversAsStringsAndObjects() {
        SluiceConfig c = ConfigLoader.parse(USER + "sluice.servers = [\"db1:3306\", \"db2\", "
                + "{ host = db3, port = 3310, weight = 3, role = replica }, \"/run/mysqld/mysqld.sock\"]\n"
                + "sluice.cluster { poll-interval = 200ms, max-replica-lag = 500ms, read-your-writes = user,"
                + " read-your-writes-wait = 100ms, reads-without-replica = wait, monitor-user = app }");
        ClusterConfig cluster = c.cluster();
        assertTrue(cluster.isCluster());
        assertEquals(List.of(
                new ClusterConfig.Member("db1", 3306, Optional.empty(), 1, ClusterConfig.Role.AUTO),
                new ClusterConfig.Member("db2", 3306, Optional.empty(), 1, ClusterConfig.Role.AUTO),
                new ClusterConfig.Member("db3", 3310, Optional.empty(), 3, ClusterConfig.Role.REPLICA),
                new ClusterConfig.Member("localhost", 3306, Optional.of(Path.of("/run/mysqld/mysqld.sock")), 1,
                        ClusterConfig.Role.AUTO)), cluster.servers());
        assertEquals(Duration.ofMillis(200), cluster.pollInterval());
        assertEquals(Duration.ofMillis(500), cluster.maxReplicaLag());
        assertEquals(ClusterConfig.ReadYourWrites.USER, cluster.readYourWrites());
        assertEquals(Duration.ofMillis(100), cluster.readYourWritesWait());
        assertEquals(ClusterConfig.NoReplica.WAIT, cluster.readsWithoutReplica());
        assertEquals(Optional.of("app"), cluster.monitorUser());
        assertEquals("db3:3310", c.server().at(cluster.servers().get(2)).address());
    }

    @Test
    void envAndFlagsTakeACommaSeparatedList() {
        SluiceConfig c = ConfigLoader.load(Optional.empty(), Map.of("sluice.users.app.password", "pw"),
                Map.of("SLUICE_SERVERS", "db1:3306, db2:3307"));
        assertEquals(List.of("db1:3306", "db2:3307"), c.cluster().servers().stream().map(ClusterConfig.Member::address).toList());
        SluiceConfig o = ConfigLoader.load(Optional.empty(), Map.of("sluice.users.app.password", "pw",
                "sluice.servers", "db1,db2:3307"), Map.of());
        assertEquals(List.of("db1:3306", "db2:3307"), o.cluster().servers().stream().map(ClusterConfig.Member::address).toList());
    }

    @Test
    void userRoutingKeys() {
        SluiceConfig c = ConfigLoader.parse("sluice.users.app { password = pw, read-write-split = false }\n"
                + "sluice.users.report { password = pw, replicas-only = true }");
        assertFalse(c.users().get("app").readWriteSplit());
        assertTrue(c.users().get("report").replicasOnly());
    }

    @Test
    void badEntriesSayWhatIsWrong() {
        assertProblem("sluice.servers = [\"db1:99999\"]", "sluice.servers[0]: must be \"host:port\" (port 1..65535)");
        assertProblem("sluice.servers = [{ host = db1, rol = replica }]", "sluice.servers[0].rol: unknown key");
        assertProblem("sluice.servers = [{ host = db1, role = leader }]", "sluice.servers[0].role: must be one of auto, primary, replica");
        assertProblem("sluice.servers = [\"db1:3306\", \"db1:3306\"]", "sluice.servers: names db1:3306 twice");
        assertProblem("sluice.servers = 5", "sluice.servers: must be a list of servers");
        assertProblem("sluice.servers = [\"db1\", \"db2\"]\nsluice.server.host = db3",
                "sluice.server.host: cannot be set together with sluice.servers");
        assertProblem("sluice.cluster.poll-interval = 5s", "sluice.cluster.poll-interval: must be at most 1s");
        assertProblem("sluice.cluster.read-your-writes = always", "sluice.cluster.read-your-writes: must be one of off, session, user");
        assertProblem("sluice.cluster.monitor-user = nobody", "sluice.cluster.monitor-user: must name a user of sluice.users");
        assertProblem("sluice.users.r { password = pw, replicas-only = true, read-write-split = false }",
                "sluice.users.r.replicas-only: cannot be true with read-write-split = false");
    }
}
