package io.sluice.proxy;

import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server restarts while clients commit transactions through Sluice: nothing a client saw
 * committed is lost, no 1040 and no long hang reaches a client, clients recover on their own, and
 * Sluice's pool returns to its baseline with no backend connection leaked (checked on the server).
 */
@ExtendWith(LeakCheckExtension.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class OutageIT {
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(TestServer.Options.defaults());
        server.createUser("out", "out-pw");
        server.createDatabase("outdb");
        server.execute("CREATE TABLE outdb.ledger (client INT NOT NULL, seq INT NOT NULL, PRIMARY KEY (client, seq))");
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.stop();
        }
    }

    @Test
    void aServerRestartUnderLoadLosesNoCommitAndThePoolReturnsToBaseline() throws Exception {
        Assumptions.assumeTrue(server.canRestart(), "this kind of test server cannot be restarted");
        int clients = 12;
        int pool = 4;
        long acquireTimeoutMs = 3000;
        try (Sluice sluice = Sluice.start(server, "sluice.users.out.password = \"out-pw\"\n"
                + "sluice.pool { max-per-user = " + pool + ", acquire-timeout = " + acquireTimeoutMs + "ms }\n"
                + "sluice.server.connect-timeout = 1s\n")) {
            Map<Integer, Set<Integer>> committed = new ConcurrentHashMap<>();
            ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
            AtomicLong slowestFailureMs = new AtomicLong();
            AtomicLong commitsAfterRestart = new AtomicLong();
            AtomicBoolean restarted = new AtomicBoolean();
            AtomicBoolean running = new AtomicBoolean(true);
            List<Thread> threads = new ArrayList<>();
            for (int n = 0; n < clients; n++) {
                int client = n;
                committed.put(client, ConcurrentHashMap.newKeySet());
                Thread t = new Thread(() -> work(sluice, client, running, restarted, committed.get(client), errors,
                        slowestFailureMs, commitsAfterRestart), "outage-client-" + n);
                threads.add(t);
                t.start();
            }
            Thread.sleep(1500);
            server.restart(Duration.ofMillis(1500));
            restarted.set(true);
            long recoverBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (commitsAfterRestart.get() < 5L * clients && System.nanoTime() < recoverBy) {
                Thread.sleep(100);
            }
            running.set(false);
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(30));
            }

            assertTrue(commitsAfterRestart.get() >= 5L * clients, "clients did not recover after the restart: "
                    + commitsAfterRestart.get() + " commits since; errors " + summary(errors));
            assertFalse(errors.stream().anyMatch(e -> e.startsWith("1040")), "a 1040 reached a client: " + summary(errors));
            assertTrue(slowestFailureMs.get() < acquireTimeoutMs + 2000, "a failure took " + slowestFailureMs.get()
                    + " ms: clients must fail fast while the server is down; errors " + summary(errors));
            // Everything a client saw committed is on the server.
            try (Connection root = server.rootConnection(); Statement s = root.createStatement()) {
                for (Map.Entry<Integer, Set<Integer>> e : committed.entrySet()) {
                    Set<Integer> onServer = new HashSet<>();
                    try (ResultSet r = s.executeQuery("SELECT seq FROM outdb.ledger WHERE client = " + e.getKey())) {
                        while (r.next()) {
                            onServer.add(r.getInt(1));
                        }
                    }
                    assertTrue(onServer.containsAll(e.getValue()), "client " + e.getKey() + " lost commits");
                }
            }
            // Back to baseline: what Sluice counts is what the server has, within the pool, and none
            // of it is busy once the clients are gone.
            long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            int onServer;
            int counted;
            do {
                Thread.sleep(100);
                onServer = server.connectionCount("out");
                counted = sluice.proxy.pools().total();
            } while ((onServer != counted || sluice.proxy.sessions().size() > 0) && System.nanoTime() < settle);
            assertEquals(counted, onServer, "backends Sluice counts vs connections of user out on the server");
            assertTrue(onServer <= pool, onServer + " connections of out on the server, pool " + pool);
            assertEquals(0, sluice.proxy.sessions().size());
            assertTrue(sluice.proxy.pools().snapshot().stream().allMatch(p -> p.busy() == 0), "busy backends left: "
                    + sluice.proxy.pools().snapshot());
            // And it serves again.
            try (Connection c = sluice.connect("out", "out-pw", "outdb", ""); Statement s = c.createStatement()) {
                assertEquals("1", MultiplexingIT.one(s, "SELECT 1"));
            }
        }
        assertEquals(0, server.awaitConnectionCount("out", 0, Duration.ofSeconds(10)));
    }

    /** One client: BEGIN, INSERT, COMMIT in a loop; a commit that returned OK is recorded; on errors it reconnects. */
    private static void work(Sluice sluice, int client, AtomicBoolean running, AtomicBoolean restarted, Set<Integer> committed,
                             ConcurrentLinkedQueue<String> errors, AtomicLong slowestFailureMs, AtomicLong commitsAfterRestart) {
        int seq = 0;
        Connection c = null;
        while (running.get()) {
            long t0 = System.nanoTime();
            try {
                if (c == null) {
                    c = sluice.connect("out", "out-pw", "outdb", "connectTimeout=5000&socketTimeout=20000");
                }
                seq++;
                try (Statement s = c.createStatement()) {
                    s.execute("BEGIN");
                    s.execute("INSERT INTO ledger VALUES (" + client + ", " + seq + ")");
                    s.execute("COMMIT");
                }
                committed.add(seq);
                if (restarted.get()) {
                    commitsAfterRestart.incrementAndGet();
                }
            } catch (SQLException e) {
                slowestFailureMs.accumulateAndGet((System.nanoTime() - t0) / 1_000_000, Math::max);
                errors.add(e.getErrorCode() + " " + e.getMessage());
                try {
                    if (c != null) {
                        c.close();
                    }
                } catch (SQLException ignored) {
                    // already broken
                }
                c = null;
                sleep(50);
            }
        }
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // already broken
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String summary(ConcurrentLinkedQueue<String> errors) {
        Map<String, Integer> byCode = new java.util.TreeMap<>();
        for (String e : errors) {
            byCode.merge(e.length() > 90 ? e.substring(0, 90) : e, 1, Integer::sum);
        }
        return byCode.toString();
    }
}
