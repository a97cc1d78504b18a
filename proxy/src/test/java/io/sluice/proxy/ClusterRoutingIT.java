package io.sluice.proxy;

import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.ExternalClient;
import io.sluice.testkit.TestCluster;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Read/write split and read-your-writes through Sluice in front of a real MariaDB primary and two
 * GTID replicas. Where a statement ran is read from the server itself ({@code @@server_id} in the
 * statement, {@code Com_select}/{@code Com_insert} on each server), never from Sluice's own
 * counters. The application user has no READ ONLY ADMIN privilege, so a write that reached a
 * replica would fail with 1290 instead of passing unseen.
 */
@Tag("slow")
@ExtendWith(LeakCheckExtension.class)
class ClusterRoutingIT {
    static TestCluster cluster;
    static final String USERS = "sluice.users.app.password = \"app-pw\"\n"
            + "sluice.users.mon { password = \"mon-pw\" }\n"
            + "sluice.cluster.monitor-user = mon\n"
            + "sluice.pool { mode = transaction, max-per-user = 8, acquire-timeout = 10s }\n";

    @BeforeAll
    static void setUp() {
        cluster = TestCluster.start(2);
        TestServer p = cluster.primary();
        p.createUser("app", "app-pw", "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, CREATE TEMPORARY TABLES, LOCK TABLES ON app.*");
        p.createUser("mon", "mon-pw", "SELECT ON app.*");
        p.createUser("report", "report-pw", "SELECT ON app.*");
        p.execute("CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, v INT NOT NULL)",
                "INSERT INTO app.t VALUES (1, 1)");
        cluster.awaitReplicated(Duration.ofSeconds(20));
    }

    @AfterAll
    static void tearDown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    static long status(TestServer s, String name) {
        return Long.parseLong(s.queryString("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = '"
                + name.toUpperCase() + "'"));
    }

    static long one(Statement s, String sql) throws SQLException {
        try (ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getLong(1);
        }
    }

    long primaryId() {
        return cluster.serverId(cluster.primary());
    }

    @Test
    void readsSpreadOverTheReplicasAndWritesLandOnlyOnThePrimary() throws Exception {
        try (Sluice sluice = Sluice.startCluster(cluster, false, USERS);
             Connection c = sluice.connect("app", "app-pw", "app", "");
             Statement s = c.createStatement()) {
            long[] selectsBefore = new long[3];
            for (int i = 0; i < 3; i++) {
                selectsBefore[i] = status(cluster.servers().get(i), "Com_select");
            }
            long insertsBefore = status(cluster.primary(), "Com_insert");
            for (int i = 0; i < 200; i++) {
                assertEquals(1, one(s, "SELECT v FROM t WHERE id = 1"));
            }
            for (int i = 0; i < 20; i++) {
                s.executeUpdate("INSERT INTO t VALUES (" + (1000 + i) + ", 0)");
            }
            long primarySelects = status(cluster.primary(), "Com_select") - selectsBefore[0];
            long r1 = status(cluster.replica(0), "Com_select") - selectsBefore[1];
            long r2 = status(cluster.replica(1), "Com_select") - selectsBefore[2];
            assertTrue(r1 >= 60 && r2 >= 60, "reads spread: replica selects " + r1 + " and " + r2);
            // The primary ran only Sluice's own reads (the monitor's polls, the replayed state): not the 200.
            assertTrue(primarySelects < 50, "primary ran " + primarySelects + " selects");
            assertEquals(20, status(cluster.primary(), "Com_insert") - insertsBefore);
            // What Sluice says of it: the session's last unit of work, and the route counters.
            var route = sluice.proxy.sessions().all().iterator().next().snapshot().route();
            assertEquals(new io.sluice.proxy.session.SessionSnapshot.Route(cluster.primary().host() + ":" + cluster.primary().port(),
                    "write"), route);
            double reads = sluice.proxy.metrics().registry().find("sluice_route").tag("reason", "read").counters().stream()
                    .mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
            assertTrue(reads >= 200, "sluice_route_total{reason=read} = " + reads);
        }
    }

    @Test
    void eachKindOfStatementLandsWhereTheRulesSay() throws Exception {
        long primary = primaryId();
        try (Sluice sluice = Sluice.startCluster(cluster, false, USERS);
             Connection c = sluice.connect("app", "app-pw", "app", "");
             Statement s = c.createStatement()) {
            assertNotEquals(primary, one(s, "SELECT @@server_id"), "an autocommit read goes to a replica");
            assertEquals(primary, one(s, "/* sluice:primary */ SELECT @@server_id"), "the hint");
            assertEquals(primary, one(s, "SELECT @@server_id FROM t WHERE id = 1 FOR UPDATE"), "FOR UPDATE");
            assertEquals(primary, one(s, "SELECT @@server_id FROM t WHERE id = 1 LOCK IN SHARE MODE"), "LOCK IN SHARE MODE");
            s.execute("SET @a = 41");
            assertNotEquals(primary, one(s, "SELECT @a + 1 + 0 * @@server_id"), "a read of a user variable set by SET");
            assertEquals(42, one(s, "SELECT @a + 1"), "the user variable followed the read to the replica");

            s.execute("START TRANSACTION");
            assertEquals(primary, one(s, "SELECT @@server_id"), "inside START TRANSACTION");
            s.execute("COMMIT");
            s.execute("START TRANSACTION READ ONLY");
            assertNotEquals(primary, one(s, "SELECT @@server_id"), "inside START TRANSACTION READ ONLY");
            s.execute("COMMIT");

            c.setAutoCommit(false);
            assertEquals(primary, one(s, "SELECT @@server_id"), "autocommit = 0");
            c.commit();
            c.setAutoCommit(true);
            assertNotEquals(primary, one(s, "SELECT @@server_id"), "autocommit back on");
        }
        try (Sluice sluice = Sluice.startCluster(cluster, false, USERS);
             Connection c = sluice.connect("app", "app-pw", "app", "");
             Statement s = c.createStatement()) {
            assertEquals(1, one(s, "SELECT GET_LOCK('cluster-it', 5)"));
            assertEquals(primary, one(s, "SELECT @@server_id"), "a session holding a lock stays on the primary");
            assertEquals(1, one(s, "SELECT RELEASE_LOCK('cluster-it')"));
        }
        try (Sluice sluice = Sluice.startCluster(cluster, false, USERS);
             Connection c = sluice.connect("app", "app-pw", "app", "");
             Statement s = c.createStatement()) {
            s.execute("CREATE TEMPORARY TABLE tmp (a INT)");
            assertEquals(primary, one(s, "SELECT @@server_id FROM (SELECT 1) x LEFT JOIN tmp ON 1"), "temporary table");
        }
        try (Sluice sluice = Sluice.startCluster(cluster, false, USERS);
             Connection c = sluice.connect("app", "app-pw", "app", "");
             Statement s = c.createStatement()) {
            s.execute("PREPARE p FROM 'SELECT @@server_id'");
            assertEquals(primary, one(s, "SELECT @@server_id"), "after SQL PREPARE the session is pinned");
            s.execute("DEALLOCATE PREPARE p");
        }
        try (Sluice sluice = Sluice.startCluster(cluster, false, USERS);
             Connection c = sluice.connect("app", "app-pw", "app", "useServerPrepStmts=true&cachePrepStmts=false");
             PreparedStatement read = c.prepareStatement("SELECT @@server_id + 0 * ?");
             PreparedStatement lock = c.prepareStatement("SELECT @@server_id + 0 * ? FROM t WHERE id = 1 FOR UPDATE")) {
            read.setInt(1, 1);
            lock.setInt(1, 1);
            try (ResultSet r = read.executeQuery()) {
                r.next();
                assertNotEquals(primary, r.getLong(1), "a server-side prepared read");
            }
            try (ResultSet r = lock.executeQuery()) {
                r.next();
                assertEquals(primary, r.getLong(1), "a server-side prepared FOR UPDATE");
            }
        }
    }

    @Test
    void readYourWritesWithAReplicaHeldBehind() throws Exception {
        TestServer slow = cluster.replica(1);
        slow.execute("STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 3", "START SLAVE");
        AtomicInteger stale = new AtomicInteger();
        AtomicInteger onReplica = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(12);
        try (Sluice sluice = Sluice.startCluster(cluster, false, USERS + "sluice.cluster.max-replica-lag = 60s\n")) {
            List<Future<?>> all = new ArrayList<>();
            for (int w = 0; w < 12; w++) {
                int worker = w;
                all.add(pool.submit(() -> {
                    try (Connection c = sluice.connect("app", "app-pw", "app", "");
                         Statement s = c.createStatement()) {
                        for (int i = 0; i < 25; i++) {
                            int id = 100_000 + worker * 1000 + i;
                            s.executeUpdate("INSERT INTO t VALUES (" + id + ", " + i + ")");
                            if (i % 10 == 9) {
                                // Now and then the read waits for two polls, by which the undelayed replica
                                // has applied the write and said so: that read must go to it (how soon
                                // it can otherwise depends on the machine's speed, not on Sluice).
                                Thread.sleep(1200);
                            }
                            try (ResultSet r = s.executeQuery("SELECT COUNT(*), @@server_id FROM t WHERE id = " + id)) {
                                r.next();
                                if (r.getInt(1) != 1) {
                                    stale.incrementAndGet();
                                }
                                if (r.getLong(2) != primaryId()) {
                                    onReplica.incrementAndGet();
                                }
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : all) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
            slow.execute("STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 0", "START SLAVE");
        }
        assertEquals(0, stale.get(), "reads that missed their own write");
        assertTrue(onReplica.get() > 0, "some reads after a write were still served by the replica that had it");
    }

    @Test
    void readYourWritesAcrossOneUsersConnections() throws Exception {
        TestServer slow = cluster.replica(0);
        TestServer other = cluster.replica(1);
        slow.execute("STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 3", "START SLAVE");
        other.execute("STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 3", "START SLAVE");
        int stale = 0;
        try (Sluice sluice = Sluice.startCluster(cluster, false, USERS
                + "sluice.cluster { max-replica-lag = 60s, read-your-writes = user }\n");
             Connection writer = sluice.connect("app", "app-pw", "app", "");
             Connection reader = sluice.connect("app", "app-pw", "app", "");
             Statement w = writer.createStatement();
             Statement r = reader.createStatement()) {
            for (int i = 0; i < 20; i++) {
                int id = 200_000 + i;
                w.executeUpdate("INSERT INTO t VALUES (" + id + ", 0)");
                if (one(r, "SELECT COUNT(*) FROM t WHERE id = " + id) != 1) {
                    stale++;
                }
            }
        } finally {
            slow.execute("STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 0", "START SLAVE");
            other.execute("STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 0", "START SLAVE");
        }
        assertEquals(0, stale, "reads on another connection of the same user that missed the write");
    }

    @Test
    void aQueryRunningOnAReplicaThatStopsReplicatingIsNotKilled() throws Exception {
        try (Sluice sluice = Sluice.startCluster(cluster, false, USERS);
             Connection c = sluice.connect("app", "app-pw", "app", "");
             Statement s = c.createStatement()) {
            ExecutorService one = Executors.newSingleThreadExecutor();
            try {
                Future<long[]> running = one.submit(() -> {
                    try (ResultSet r = s.executeQuery("SELECT SLEEP(2), @@server_id")) {
                        r.next();
                        return new long[] {r.getLong(1), r.getLong(2)};
                    }
                });
                Thread.sleep(500);
                cluster.stopReplicaSql(cluster.replica(0));
                cluster.stopReplicaSql(cluster.replica(1));
                long[] result = running.get();
                assertEquals(0, result[0], "SLEEP(2) ran to its end (1 would mean it was killed)");
                assertNotEquals(primaryId(), result[1], "it ran on a replica");
                // Both replicas excluded now: reads go to the primary (reads-without-replica = primary).
                long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                while (one(s, "SELECT @@server_id") != primaryId()) {
                    assertTrue(System.nanoTime() < deadline, "reads still on a stopped replica");
                    Thread.sleep(50);
                }
            } finally {
                one.shutdownNow();
                cluster.startReplicaSql(cluster.replica(0));
                cluster.startReplicaSql(cluster.replica(1));
            }
        }
    }

    @Test
    void aReplicaCutOffGetsNoReadsAndComesBackByItself() throws Exception {
        TestServer cut = cluster.replica(0);
        long cutId = cluster.serverId(cut);
        try (Sluice sluice = Sluice.startCluster(cluster, true, USERS);
             Connection c = sluice.connect("app", "app-pw", "app", "");
             Statement s = c.createStatement()) {
            assertTrue(servedBy(s, 40).contains(cutId), "before: reads reach " + cut);
            cluster.relay(cut).refuseNew(true);
            cluster.relay(cut).cutAll();
            Thread.sleep(1000); // well over the poll interval (200 ms)
            List<Long> during = servedBy(s, 40);
            assertTrue(!during.contains(cutId), "reads went to the cut replica: " + during);
            cluster.relay(cut).refuseNew(false);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!servedBy(s, 20).contains(cutId)) {
                assertTrue(System.nanoTime() < deadline, "the healed replica got no reads again");
                Thread.sleep(100);
            }
        } finally {
            cluster.relay(cut).refuseNew(false);
        }
    }

    @Test
    void serverAccountsAreReadFromAServerThatIsUpWhenThePrimaryIsCut() throws Exception {
        ExternalClient.requireProgram("mariadb", "apt-get install mariadb-client");
        TestServer p = cluster.primary();
        p.execute("CREATE USER IF NOT EXISTS 'cl_lookup'@'%' IDENTIFIED BY 'lookup-pw'",
                "GRANT SELECT ON mysql.global_priv TO 'cl_lookup'@'%'",
                "CREATE USER IF NOT EXISTS 'cl_app'@'%' IDENTIFIED BY 'cl-pw'",
                "GRANT SELECT ON app.* TO 'cl_app'@'%'");
        cluster.awaitReplicated(Duration.ofSeconds(20));
        // No user list: every login is checked against the servers' own accounts, which replicate.
        try (Sluice sluice = Sluice.startCluster(cluster, true, "sluice.auth { source = server, lookup-user = cl_lookup, "
                + "lookup-password = \"lookup-pw\" }\nsluice.pool { mode = transaction, acquire-timeout = 3s }\n")) {
            cluster.relay(p).refuseNew(true);
            cluster.relay(p).cutAll();
            Thread.sleep(1000); // well over the poll interval (200 ms): no primary now
            // The mariadb client sends nothing at login but the schema (checked by Sluice on a readable
            // server) and a read; Connector/J's SETs would wait for a primary (docs/cluster.md).
            ExternalClient.Result r = ExternalClient.run(ExternalClient.env(sluice.port(), "cl_app", "cl-pw"), "mariadb",
                    "-h127.0.0.1", "-P" + sluice.port(), "-ucl_app", "--skip-ssl", "-N", "-Dapp", "-e", "SELECT @@server_id").ok();
            assertNotEquals(String.valueOf(primaryId()), r.out().trim(), "the read ran on the cut primary");
        } finally {
            cluster.relay(p).refuseNew(false);
        }
    }

    /** The server_id of each of {@code n} autocommit reads (errors fail the test). */
    static List<Long> servedBy(Statement s, int n) throws SQLException {
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ids.add(one(s, "SELECT @@server_id"));
        }
        return ids;
    }

    @Test
    void readYourWritesWaitLetsTheReplicaCatchUpInsteadOfThePrimary() throws Exception {
        TestServer slow = cluster.replica(0);
        TestServer stopped = cluster.replica(1);
        cluster.stopReplicaSql(stopped); // only the slow replica is readable
        slow.execute("STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 1", "START SLAVE");
        int onSlow = 0;
        try (Sluice sluice = Sluice.startCluster(cluster, false, USERS
                + "sluice.cluster { max-replica-lag = 60s, read-your-writes-wait = 5s }\n");
             Connection c = sluice.connect("app", "app-pw", "app", "");
             Statement s = c.createStatement()) {
            for (int i = 0; i < 3; i++) {
                int id = 300_000 + i;
                s.executeUpdate("INSERT INTO t VALUES (" + id + ", 0)");
                try (ResultSet r = s.executeQuery("SELECT COUNT(*), @@server_id FROM t WHERE id = " + id)) {
                    r.next();
                    assertEquals(1, r.getInt(1), "the read saw its own write");
                    if (r.getLong(2) == cluster.serverId(slow)) {
                        onSlow++;
                    }
                }
            }
        } finally {
            slow.execute("STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 0", "START SLAVE");
            cluster.startReplicaSql(stopped);
        }
        assertEquals(3, onSlow, "each read waited for the delayed replica instead of going to the primary");
    }

    @Test
    void sessionModeStaysOnThePrimaryAndAReplicasOnlyUserNeverReachesIt() throws Exception {
        try (Sluice sluice = Sluice.startCluster(cluster, false, USERS
                + "sluice.users.sess { password = \"app-pw\", backend-user = app, backend-password = \"app-pw\", pool-mode = session }\n"
                + "sluice.users.report { password = \"report-pw\", replicas-only = true }\n");
             Connection sess = sluice.connect("sess", "app-pw", "app", "");
             Connection report = sluice.connect("report", "report-pw", "app", "");
             Statement s = sess.createStatement();
             Statement r = report.createStatement()) {
            for (int i = 0; i < 5; i++) {
                assertEquals(primaryId(), one(s, "SELECT @@server_id"), "session mode: the whole session on the primary");
                assertNotEquals(primaryId(), one(r, "SELECT @@server_id"), "replicas-only");
            }
            // What would go to the primary goes to a replica too, which answers for itself: a locking
            // read on a read-only server is the server's own 1290, passed on unchanged.
            SQLException e = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class,
                    () -> one(r, "SELECT @@server_id FROM t WHERE id = 1 FOR UPDATE"));
            assertEquals(1290, e.getErrorCode(), e.getMessage());
            assertNotEquals(primaryId(), one(r, "SELECT @@server_id"), "the session goes on, on a replica");
        }
    }

    @Test
    void splitBrainSendsNoWriteAnywhere() throws Exception {
        TestServer rogue = cluster.replica(1);
        try (Sluice sluice = Sluice.startCluster(cluster, false, USERS.replace("acquire-timeout = 10s", "acquire-timeout = 2s"));
             Connection c = sluice.connect("app", "app-pw", "app", "");
             Statement s = c.createStatement()) {
            rogue.execute("STOP SLAVE", "SET GLOBAL read_only = OFF"); // a second writable, unreplicated server
            Thread.sleep(600); // three polls
            long before = status(rogue, "Com_insert") + status(cluster.primary(), "Com_insert");
            SQLException e = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class,
                    () -> s.executeUpdate("INSERT INTO t VALUES (400000, 0)"));
            assertEquals(9412, e.getErrorCode());
            assertTrue(e.getMessage().contains("split brain"), e.getMessage());
            assertEquals(before, status(rogue, "Com_insert") + status(cluster.primary(), "Com_insert"), "no write went anywhere");
            assertEquals(1, one(s, "SELECT v FROM t WHERE id = 1"), "reads go on, and the session is usable");
        } finally {
            rogue.execute("SET GLOBAL read_only = ON", "START SLAVE");
            cluster.awaitReplicating(rogue, Duration.ofSeconds(20));
        }
    }
}
