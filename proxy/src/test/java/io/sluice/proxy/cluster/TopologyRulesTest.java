package io.sluice.proxy.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sluice.config.ClusterConfig;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Roles, split brain and the lag bound with hysteresis, from polls alone. */
class TopologyRulesTest {
    static final long MS = 1_000_000L;

    static ClusterConfig config(ClusterConfig.Role... roles) {
        List<ClusterConfig.Member> members = new java.util.ArrayList<>();
        for (int i = 0; i < roles.length; i++) {
            members.add(new ClusterConfig.Member("db" + i, 3306, Optional.empty(), 1, roles[i]));
        }
        return new ClusterConfig(members, Duration.ofMillis(500), Duration.ofSeconds(2), ClusterConfig.ReadYourWrites.SESSION,
                Duration.ZERO, ClusterConfig.NoReplica.PRIMARY, Optional.empty());
    }

    static TopologyRules.Poll primary(String pos) {
        return new TopologyRules.Poll(true, true, false, GtidSet.parse(pos), "");
    }

    static TopologyRules.Poll replica(String pos) {
        return new TopologyRules.Poll(true, false, true, GtidSet.parse(pos), "");
    }

    @Test
    void theWritableUnreplicatedServerIsThePrimary() {
        TopologyRules rules = new TopologyRules(config(ClusterConfig.Role.AUTO, ClusterConfig.Role.AUTO, ClusterConfig.Role.AUTO));
        Topology t = rules.apply(List.of(replica("0-1-5"), primary("0-1-5"), TopologyRules.Poll.down("refused")), 0);
        assertEquals(1, t.primary());
        assertEquals(ServerView.Role.REPLICA, t.server(0).role());
        assertTrue(t.server(0).readable());
        assertEquals(0, t.server(0).lagNanos());
        assertFalse(t.server(2).up());
        assertEquals("down: refused", t.server(2).why());
    }

    @Test
    void aWritableReplicaIsAReplicaAndAReadOnlyIdleServerIsNothing() {
        TopologyRules rules = new TopologyRules(config(ClusterConfig.Role.AUTO, ClusterConfig.Role.AUTO, ClusterConfig.Role.AUTO));
        TopologyRules.Poll writableReplica = new TopologyRules.Poll(true, true, true, GtidSet.parse("0-1-5"), "");
        TopologyRules.Poll stopped = new TopologyRules.Poll(true, false, false, GtidSet.parse("0-1-5"), "");
        Topology t = rules.apply(List.of(primary("0-1-5"), writableReplica, stopped), 0);
        assertEquals(0, t.primary());
        assertTrue(t.server(1).readable());
        assertEquals(ServerView.Role.NONE, t.server(2).role());
        assertEquals("read-only and not replicating", t.server(2).why());
    }

    @Test
    void noPrimaryAndSplitBrain() {
        TopologyRules rules = new TopologyRules(config(ClusterConfig.Role.AUTO, ClusterConfig.Role.AUTO));
        Topology none = rules.apply(List.of(replica("0-1-5"), TopologyRules.Poll.down("refused")), 0);
        assertEquals(Topology.NO_PRIMARY, none.primary());
        assertFalse(none.server(0).readable()); // lag cannot be measured without a primary
        Topology two = rules.apply(List.of(primary("0-1-5"), primary("0-1-5")), 0);
        assertEquals(Topology.SPLIT_BRAIN, two.primary());
        assertTrue(two.why().startsWith("split brain: db0:3306 and db1:3306 are all writable"), two.why());
    }

    @Test
    void withoutAPrimaryReplicasThatTookReadsKeepTakingThem() {
        TopologyRules rules = new TopologyRules(config(ClusterConfig.Role.AUTO, ClusterConfig.Role.AUTO, ClusterConfig.Role.AUTO));
        rules.apply(List.of(primary("0-1-5"), replica("0-1-5"), replica("0-1-1")), 0); // db2 lags unknown
        Topology t = rules.apply(List.of(new TopologyRules.Poll(true, false, false, GtidSet.parse("0-1-5"), ""),
                replica("0-1-5"), replica("0-1-1")), 500 * MS); // the primary turned read-only: a switchover
        assertEquals(Topology.NO_PRIMARY, t.primary());
        assertTrue(t.server(1).readable(), "reads go on on the replica that took them");
        assertFalse(t.server(2).readable(), "but not on one that did not");
    }

    @Test
    void roleHintsNarrowWhatAServerMayDo() {
        TopologyRules rules = new TopologyRules(config(ClusterConfig.Role.REPLICA, ClusterConfig.Role.AUTO));
        Topology t = rules.apply(List.of(primary("0-1-5"), primary("0-1-5")), 0);
        assertEquals(1, t.primary()); // db0 is writable but named replica: not a second primary
        assertEquals("writable but named replica in sluice.servers", t.server(0).why());
    }

    @Test
    void lagFromPositionsWithHysteresis() {
        TopologyRules rules = new TopologyRules(config(ClusterConfig.Role.AUTO, ClusterConfig.Role.AUTO));
        assertTrue(rules.apply(List.of(primary("0-1-10"), replica("0-1-10")), 0).server(1).readable());
        // The primary moves on at 1 s; the replica stays at 10.
        Topology t = rules.apply(List.of(primary("0-1-20"), replica("0-1-10")), 1000 * MS);
        assertEquals(0, t.server(1).lagNanos()); // seen in the same round: not behind yet
        t = rules.apply(List.of(primary("0-1-30"), replica("0-1-10")), 2500 * MS);
        assertEquals(1500 * MS, t.server(1).lagNanos());
        assertTrue(t.server(1).readable());
        t = rules.apply(List.of(primary("0-1-30"), replica("0-1-10")), 3500 * MS);
        assertEquals(2500 * MS, t.server(1).lagNanos());
        assertFalse(t.server(1).readable());
        assertTrue(t.server(1).why().startsWith("lag 2500 ms > max-replica-lag 2000 ms"), t.server(1).why());
        // It applies up to 20; what it lacks (30) the primary had from 2.5 s: at 4 s that is 1.5 s,
        // under the bound but over half of it, so it stays held.
        t = rules.apply(List.of(primary("0-1-30"), replica("0-1-20")), 4000 * MS);
        assertEquals(1500 * MS, t.server(1).lagNanos());
        assertFalse(t.server(1).readable());
        assertTrue(t.server(1).why().endsWith("(back at half of it)"), t.server(1).why());
        // Back within half the bound: readable again.
        t = rules.apply(List.of(primary("0-1-30"), replica("0-1-30")), 4100 * MS);
        assertTrue(t.server(1).readable());
    }

    @Test
    void aReplicaBehindEverythingRememberedHasUnknownLag() {
        TopologyRules rules = new TopologyRules(config(ClusterConfig.Role.AUTO, ClusterConfig.Role.AUTO));
        Topology t = rules.apply(List.of(primary("0-1-1000"), replica("0-1-3")), 0);
        assertEquals(-1, t.server(1).lagNanos());
        assertFalse(t.server(1).readable());
        assertEquals("lag unknown", t.server(1).why());
    }
}
