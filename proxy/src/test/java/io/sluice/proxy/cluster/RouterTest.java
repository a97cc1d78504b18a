package io.sluice.proxy.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sluice.config.ClusterConfig;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The routing decisions of rules 4 and 5, on hand-made topologies. */
class RouterTest {

    static ServerView server(int i, ServerView.Role role, boolean readable, String pos, int weight) {
        return new ServerView(i, new ClusterConfig.Member("db" + i, 3306, Optional.empty(), weight, ClusterConfig.Role.AUTO),
                true, role, role == ServerView.Role.PRIMARY, role == ServerView.Role.REPLICA, GtidSet.parse(pos), 0, readable, "");
    }

    static ClusterConfig config(ClusterConfig.NoReplica noReplica) {
        List<ClusterConfig.Member> m = List.of(new ClusterConfig.Member("db0", 3306, Optional.empty(), 1, ClusterConfig.Role.AUTO),
                new ClusterConfig.Member("db1", 3306, Optional.empty(), 1, ClusterConfig.Role.AUTO),
                new ClusterConfig.Member("db2", 3306, Optional.empty(), 3, ClusterConfig.Role.AUTO));
        return new ClusterConfig(m, Duration.ofMillis(500), Duration.ofSeconds(2), ClusterConfig.ReadYourWrites.SESSION,
                Duration.ZERO, noReplica, Optional.empty());
    }

    static final Topology HEALTHY = new Topology(List.of(server(0, ServerView.Role.PRIMARY, false, "0-1-10", 1),
            server(1, ServerView.Role.REPLICA, true, "0-1-10", 1), server(2, ServerView.Role.REPLICA, true, "0-1-8", 3)), 0, "");

    @Test
    void writesGoToThePrimaryReadsSpreadByWeight() {
        Router r = new Router(config(ClusterConfig.NoReplica.PRIMARY));
        assertEquals(new Router.Decision(0, Router.Reason.WRITE),
                r.route(HEALTHY, Router.Work.PRIMARY, Router.Reason.WRITE, false, GtidSet.EMPTY, 0));
        Map<Integer, Integer> served = new HashMap<>();
        for (int i = 0; i < 400; i++) {
            Router.Decision d = r.route(HEALTHY, Router.Work.READ, Router.Reason.READ, false, GtidSet.EMPTY, 0);
            assertEquals(Router.Reason.READ, d.reason());
            served.merge(d.server(), 1, Integer::sum);
        }
        assertEquals(Map.of(1, 100, 2, 300), served);
    }

    @Test
    void aReaderGoesOnlyWhereItsWriteIs() {
        Router r = new Router(config(ClusterConfig.NoReplica.PRIMARY));
        for (int i = 0; i < 10; i++) {
            assertEquals(1, r.route(HEALTHY, Router.Work.READ, Router.Reason.READ, false, GtidSet.parse("0-1-9"), 0).server());
        }
        assertEquals(new Router.Decision(0, Router.Reason.READ_YOUR_WRITES),
                r.route(HEALTHY, Router.Work.READ, Router.Reason.READ, false, GtidSet.parse("0-1-11"), 0));
        assertEquals(new Router.Decision(0, Router.Reason.READ_YOUR_WRITES), r.route(HEALTHY, Router.Work.READ,
                Router.Reason.READ, false, GtidSet.EMPTY, System.nanoTime() + 1_000_000_000L));
    }

    @Test
    void withoutReplicasOrPrimary() {
        Topology noReplica = new Topology(List.of(server(0, ServerView.Role.PRIMARY, false, "0-1-10", 1),
                server(1, ServerView.Role.REPLICA, false, "0-1-1", 1)), 0, "");
        assertEquals(new Router.Decision(0, Router.Reason.NO_REPLICA), new Router(config(ClusterConfig.NoReplica.PRIMARY))
                .route(noReplica, Router.Work.READ, Router.Reason.READ, false, GtidSet.EMPTY, 0));
        assertEquals(new Router.Decision(Router.WAIT, Router.Reason.NO_REPLICA), new Router(config(ClusterConfig.NoReplica.WAIT))
                .route(noReplica, Router.Work.READ, Router.Reason.READ, false, GtidSet.EMPTY, 0));
        assertEquals(new Router.Decision(Router.FAIL, Router.Reason.NO_REPLICA), new Router(config(ClusterConfig.NoReplica.FAIL))
                .route(noReplica, Router.Work.READ, Router.Reason.READ, false, GtidSet.EMPTY, 0));
        Topology noPrimary = new Topology(List.of(server(0, ServerView.Role.NONE, false, "", 1),
                server(1, ServerView.Role.REPLICA, true, "0-1-1", 1)), Topology.NO_PRIMARY, "none");
        Router r = new Router(config(ClusterConfig.NoReplica.PRIMARY));
        assertEquals(new Router.Decision(Router.WAIT, Router.Reason.NO_PRIMARY),
                r.route(noPrimary, Router.Work.PRIMARY, Router.Reason.WRITE, false, GtidSet.EMPTY, 0));
        assertEquals(new Router.Decision(1, Router.Reason.READ),
                r.route(noPrimary, Router.Work.READ, Router.Reason.READ, false, GtidSet.EMPTY, 0)); // reads go on
        Topology split = new Topology(noPrimary.servers(), Topology.SPLIT_BRAIN, "split");
        assertEquals(new Router.Decision(Router.WAIT, Router.Reason.SPLIT_BRAIN),
                r.route(split, Router.Work.PRIMARY, Router.Reason.WRITE, false, GtidSet.EMPTY, 0));
    }

    @Test
    void replicasOnlyUsersNeverReachThePrimary() {
        Router r = new Router(config(ClusterConfig.NoReplica.PRIMARY));
        assertEquals(Router.Reason.REPLICAS_ONLY,
                r.route(HEALTHY, Router.Work.PRIMARY, Router.Reason.WRITE, true, GtidSet.EMPTY, 0).reason());
        Topology noReplica = new Topology(List.of(server(0, ServerView.Role.PRIMARY, false, "0-1-10", 1)), 0, "");
        assertEquals(new Router.Decision(Router.WAIT, Router.Reason.NO_REPLICA),
                r.route(noReplica, Router.Work.READ, Router.Reason.READ, true, GtidSet.EMPTY, 0));
    }
}
