package io.sluice.proxy;

import io.sluice.proxy.digest.DigestStats;
import io.sluice.proxy.digest.DigestTable;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestCluster;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With a primary and a replica, digests are kept per server: each read counted on the server that
 * answered it (as the server itself says, {@code @@server_id}), each write on the primary.
 */
@Tag("slow")
@ExtendWith(LeakCheckExtension.class)
class ClusterDigestsIT {
    static TestCluster cluster;

    @BeforeAll
    static void setUp() {
        cluster = TestCluster.start(1);
        TestServer p = cluster.primary();
        p.createUser("app", "app-pw", "SELECT, INSERT, UPDATE, DELETE ON app.*");
        p.createUser("mon", "mon-pw", "SELECT ON app.*");
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

    @Test
    void eachStatementIsCountedOnTheServerThatRanIt() throws Exception {
        Map<Long, String> address = new HashMap<>();
        for (TestServer s : cluster.servers()) {
            address.put(cluster.serverId(s), s.host() + ":" + s.port());
        }
        try (Sluice sluice = Sluice.startCluster(cluster, false, "sluice.users.app.password = \"app-pw\"\n"
                + "sluice.users.mon.password = \"mon-pw\"\nsluice.cluster.monitor-user = mon\n"
                + "sluice.pool { mode = transaction, max-per-user = 4, acquire-timeout = 10s }\n");
             Connection c = sluice.connect("app", "app-pw", "app", "");
             Statement s = c.createStatement()) {
            Map<String, Long> reads = new HashMap<>();
            for (int i = 0; i < 30; i++) {
                try (ResultSet r = s.executeQuery("SELECT @@server_id, v FROM app.t WHERE id = 1")) {
                    long id = r.next() ? r.getLong(1) : -1;
                    reads.merge(address.get(id), 1L, Long::sum);
                }
            }
            for (int i = 0; i < 3; i++) {
                s.executeUpdate("INSERT INTO app.t VALUES (" + (100 + i) + ", 0)");
            }
            Map<String, Long> counted = new HashMap<>();
            long writes = 0;
            for (DigestStats d : sluice.proxy.digests().top(DigestTable.Order.COUNT, 1000)) {
                if (!d.user().equals("app")) {
                    continue;
                }
                if (d.text().equals("SELECT @@server_id, v FROM app.t WHERE id = ?")) {
                    counted.merge(d.server(), d.count(), Long::sum);
                }
                if (d.text().equals("INSERT INTO app.t VALUES (...)")) {
                    assertEquals(cluster.primary().host() + ":" + cluster.primary().port(), d.server());
                    writes += d.count();
                }
            }
            assertEquals(reads, counted, "reads by the server that answered, as the servers say and as the digests count");
            assertTrue(reads.containsKey(cluster.replica(0).host() + ":" + cluster.replica(0).port()), "some reads on the replica: " + reads);
            assertEquals(3, writes);
        }
    }
}
