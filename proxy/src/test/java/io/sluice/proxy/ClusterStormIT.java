package io.sluice.proxy;

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
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A storm of 4x max_connections clients through Sluice in front of a primary and two replicas,
 * each server with max_connections = 20: every client finishes, none sees a 1040, and no server's
 * processlist ever holds more of Sluice's connections than that server's own cap
 * (max_connections - headroom; headroom 5 leaves room for the two replication connections on the
 * primary, the monitor's connection and this test's sampler).
 */
@Tag("slow")
@ExtendWith(LeakCheckExtension.class)
class ClusterStormIT {
    static final int MAX_CONNECTIONS = 20;
    static final int HEADROOM = 5;
    static TestCluster cluster;

    @BeforeAll
    static void setUp() {
        cluster = TestCluster.start(2, TestServer.Options.defaults().withMaxConnections(MAX_CONNECTIONS));
        TestServer p = cluster.primary();
        p.createUser("app", "app-pw", "SELECT, INSERT ON app.*");
        p.createUser("mon", "mon-pw", "SELECT ON app.*");
        p.execute("CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)",
                "INSERT INTO app.t (v) VALUES (1)");
        cluster.awaitReplicated(Duration.ofSeconds(20));
    }

    @AfterAll
    static void tearDown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void fourTimesMaxConnectionsAndNoServerOverItsCap() throws Exception {
        int clients = 4 * MAX_CONNECTIONS;
        Map<TestServer, AtomicInteger> peaks = new ConcurrentHashMap<>();
        AtomicBoolean sampling = new AtomicBoolean(true);
        List<Thread> samplers = new ArrayList<>();
        for (TestServer s : cluster.servers()) {
            AtomicInteger peak = new AtomicInteger();
            peaks.put(s, peak);
            Thread t = new Thread(() -> {
                try (Connection root = s.rootConnection(); Statement st = root.createStatement()) {
                    while (sampling.get()) {
                        try (ResultSet r = st.executeQuery("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'app'")) {
                            r.next();
                            peak.accumulateAndGet(r.getInt(1), Math::max);
                        }
                        Thread.sleep(10);
                    }
                } catch (SQLException | InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            t.start();
            samplers.add(t);
        }
        Map<Integer, AtomicInteger> errors = new ConcurrentHashMap<>();
        AtomicInteger finished = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        CountDownLatch start = new CountDownLatch(1);
        try (Sluice sluice = Sluice.startCluster(cluster, false, "sluice.users.app.password = \"app-pw\"\n"
                + "sluice.users.mon.password = \"mon-pw\"\nsluice.cluster.monitor-user = mon\n"
                + "sluice.server.headroom = " + HEADROOM + "\n"
                + "sluice.pool { mode = transaction, max-per-user = 50, acquire-timeout = 30s }\n")) {
            List<Future<?>> all = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                all.add(pool.submit(() -> {
                    start.await();
                    try (Connection c = sluice.connect("app", "app-pw", "app", "");
                         Statement s = c.createStatement()) {
                        for (int q = 0; q < 3; q++) {
                            s.executeQuery("SELECT v, SLEEP(0.02) FROM t WHERE id = 1").close();
                        }
                        s.executeUpdate("INSERT INTO t (v) VALUES (2)");
                        finished.incrementAndGet();
                    } catch (SQLException e) {
                        errors.computeIfAbsent(e.getErrorCode(), k -> new AtomicInteger()).incrementAndGet();
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : all) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
            sampling.set(false);
            for (Thread t : samplers) {
                t.join();
            }
        }
        assertEquals(Map.of(), errors, "client errors by code");
        assertEquals(clients, finished.get());
        for (TestServer s : cluster.servers()) {
            int peak = peaks.get(s).get();
            assertTrue(peak <= MAX_CONNECTIONS - HEADROOM, s + " held " + peak + " of Sluice's connections, cap "
                    + (MAX_CONNECTIONS - HEADROOM));
            System.out.printf("storm: %s peak %d of Sluice's connections (cap %d)%n", s, peak, MAX_CONNECTIONS - HEADROOM);
        }
        assertTrue(peaks.get(cluster.replica(0)).get() > 0 && peaks.get(cluster.replica(1)).get() > 0,
                "the replicas served reads");
    }
}
