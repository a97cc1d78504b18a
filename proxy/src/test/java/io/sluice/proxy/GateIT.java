package io.sluice.proxy;

import io.sluice.testkit.Eventually;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gate: a bounded pool with a bounded, timed FIFO queue. Whatever the number of clients, the
 * server never sees more connections than the cap, and every request completes or gets Sluice's
 * documented error naming what is full and what to change. Asserted on the server's processlist.
 */
@ExtendWith(LeakCheckExtension.class)
class GateIT {
    static TestServer server;

    @BeforeAll
    static void users() throws Exception {
        server = TestServer.shared();
        server.createUser("gate", "gate-pw");
        server.createUser("gate_ops", "ops-pw");
        server.createUser("gate_a", "a-pw");
        server.createUser("gate_b", "b-pw");
    }

    @Test
    void tenTimesMoreClientsThanThePoolHolds() throws Exception {
        int poolMax = 3;
        int clients = 30;
        try (Sluice sluice = Sluice.start(server, "sluice.users.gate.password = \"gate-pw\"\n"
                + "sluice.pool { max-per-user = " + poolMax + ", acquire-timeout = 1500ms }\n")) {
            AtomicBoolean sampling = new AtomicBoolean(true);
            AtomicInteger peak = new AtomicInteger();
            Thread sampler = new Thread(() -> {
                while (sampling.get()) {
                    try {
                        peak.accumulateAndGet(server.connectionCount("gate"), Math::max);
                        Thread.sleep(20);
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            sampler.start();
            AtomicInteger ok = new AtomicInteger();
            ConcurrentLinkedQueue<SQLException> errors = new ConcurrentLinkedQueue<>();
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                fs.add(pool.submit(() -> {
                    for (int round = 0; round < 3; round++) {
                        try (Connection c = sluice.connect("gate", "gate-pw"); Statement s = c.createStatement();
                             ResultSet r = s.executeQuery("SELECT SLEEP(0.05), 1")) {
                            r.next();
                            assertEquals(1, r.getInt(2));
                            ok.incrementAndGet();
                        } catch (SQLException e) {
                            errors.add(e);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(120, TimeUnit.SECONDS);
            }
            pool.shutdown();
            sampling.set(false);
            sampler.join();
            assertTrue(peak.get() <= poolMax, "server saw " + peak.get() + " connections from Sluice, cap " + poolMax);
            assertTrue(peak.get() > 0, "sampler saw no connection at all");
            assertEquals(clients * 3, ok.get() + errors.size());
            assertTrue(ok.get() > 0);
            for (SQLException e : errors) {
                assertEquals(9401, e.getErrorCode(), e.toString());
                assertTrue(e.getMessage().contains("pool 'gate'") && e.getMessage().contains("sluice.pool.max-per-user"), e.getMessage());
            }
        }
    }

    @Test
    void timeoutMessageNamesPoolUsageWaitAndKey() throws Exception {
        try (Sluice sluice = Sluice.start(server, "sluice.users.gate.password = \"gate-pw\"\n"
                + "sluice.pool { mode = session, max-per-user = 1, acquire-timeout = 300ms }\n");
             Connection holder = sluice.connect("gate", "gate-pw"); // session mode: holds the only backend
             RawClient waiter = new RawClient(sluice.port())) {
            assertTrue(RawClient.isOk(waiter.login("gate", "gate-pw", null)), "login needs no backend");
            long start = System.nanoTime();
            waiter.query("SELECT 1");
            byte[] err = waiter.read();
            long waited = (System.nanoTime() - start) / 1_000_000;
            assertEquals(9401, RawClient.errCode(err));
            String m = RawClient.errMessage(err);
            assertTrue(m.contains("pool 'gate'") && m.contains("busy 1/1") && m.contains("sluice.pool.acquire-timeout")
                    && m.matches("(?s).*after waiting \\d+ ms.*"), m);
            assertTrue(waited >= 250 && waited < 3000, "waited " + waited + " ms");
            // The refused session is still usable: once the holder leaves, the waiter is served.
            holder.close();
            Eventually.until("the holder's backend is reset and back in the pool",
                    () -> sluice.proxy.pools().snapshot().get(0).idle() == 1);
            waiter.query("SELECT 2");
            byte[] last = waiter.readResponse();
            assertEquals(0xfe, last[0] & 0xff, "expected a result set ending in OK");
        }
    }

    @Test
    void fullQueueIsRefusedAtOnce() throws Exception {
        try (Sluice sluice = Sluice.start(server, "sluice.users.gate.password = \"gate-pw\"\n"
                + "sluice.pool { mode = session, max-per-user = 1, max-waiters = 1, acquire-timeout = 3s }\n");
             Connection holder = sluice.connect("gate", "gate-pw");
             RawClient waiting = new RawClient(sluice.port());
             RawClient refused = new RawClient(sluice.port())) {
            assertTrue(RawClient.isOk(waiting.login("gate", "gate-pw", null)));
            assertTrue(RawClient.isOk(refused.login("gate", "gate-pw", null)));
            waiting.query("SELECT 1");
            Eventually.until("the first query waits in the queue", () -> sluice.proxy.pools().snapshot().get(0).waiting() == 1);
            long start = System.nanoTime();
            refused.query("SELECT 1");
            byte[] err = refused.read();
            assertTrue(System.nanoTime() - start < 1_000_000_000L, "a full queue must refuse at once");
            assertEquals(9402, RawClient.errCode(err));
            assertTrue(RawClient.errMessage(err).contains("sluice.pool.max-waiters"), RawClient.errMessage(err));
            holder.close();
            assertEquals(0xfe, waiting.readResponse()[0] & 0xff, "the waiter is served once the holder leaves");
        }
    }

    /**
     * sluice.pool.reserve keeps one of the three backend connections for the priority user: two
     * application clients fill what they may use, a third waits and gets 9401 naming the reserve,
     * while the operator's query runs at once on the reserved connection.
     */
    @Test
    void theReserveIsLeftForPriorityUsers() throws Exception {
        try (Sluice sluice = Sluice.start(server, "sluice.users.gate.password = \"gate-pw\"\n"
                + "sluice.users.gate_ops { password = \"ops-pw\", priority = true }\n"
                + "sluice.pool { mode = session, max-per-user = 3, global-max = 3, reserve = 1, acquire-timeout = 500ms }\n");
             // Connector/J queries the server while connecting: in session mode each holds a backend from then on.
             Connection a = sluice.connect("gate", "gate-pw");
             Connection b = sluice.connect("gate", "gate-pw")) {
            SQLException refused = assertThrows(SQLException.class, () -> sluice.connect("gate", "gate-pw").close());
            assertEquals(9401, refused.getErrorCode());
            assertTrue(refused.getMessage().contains("sluice.pool.reserve keeps 1 for priority users"), refused.getMessage());
            long t0 = System.nanoTime();
            try (Connection ops = sluice.connect("gate_ops", "ops-pw"); Statement s = ops.createStatement();
                 ResultSet r = s.executeQuery("SELECT CURRENT_USER()")) {
                assertTrue(r.next());
                assertTrue(r.getString(1).startsWith("gate_ops@"), r.getString(1));
                assertTrue(System.nanoTime() - t0 < 400_000_000L, "the priority user waited for the reserve");
                assertEquals(2, server.connectionCount("gate"));
                assertEquals(1, server.connectionCount("gate_ops"));
            }
            assertTrue(a.isValid(2) && b.isValid(2));
        }
    }

    /**
     * Two applications share a global cap of 4. Application a keeps 12 threads busy, enough to hold
     * every backend for ever; when application b starts, the connections a gives back are closed
     * until b has its share, so b's queries are served in well under the acquire timeout.
     */
    @Test
    void aBusyApplicationDoesNotStarveAnother() throws Exception {
        try (Sluice sluice = Sluice.start(server, "sluice.users.gate_a.password = \"a-pw\"\n"
                + "sluice.users.gate_b.password = \"b-pw\"\n"
                + "sluice.pool { mode = transaction, max-per-user = 4, global-max = 4, acquire-timeout = 3s }\n")) {
            AtomicBoolean running = new AtomicBoolean(true);
            ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            ExecutorService pool = Executors.newFixedThreadPool(16);
            try {
                for (int i = 0; i < 12; i++) {
                    pool.submit(() -> {
                        try (Connection c = sluice.connect("gate_a", "a-pw"); Statement s = c.createStatement()) {
                            while (running.get()) {
                                s.executeQuery("SELECT SLEEP(0.02)").close();
                            }
                        } catch (Throwable e) {
                            errors.add(e);
                        }
                    });
                }
                assertEquals(4, server.awaitConnectionCount("gate_a", 4, Duration.ofSeconds(10)), "application a holds the whole cap");
                List<Future<Long>> slowest = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    slowest.add(pool.submit(() -> {
                        long worst = 0;
                        try (Connection c = sluice.connect("gate_b", "b-pw"); Statement s = c.createStatement()) {
                            for (int q = 0; q < 10; q++) {
                                long t0 = System.nanoTime();
                                s.executeQuery("SELECT SLEEP(0.02)").close();
                                worst = Math.max(worst, (System.nanoTime() - t0) / 1_000_000);
                            }
                        }
                        return worst;
                    }));
                }
                for (Future<Long> f : slowest) {
                    long worst = f.get(60, TimeUnit.SECONDS);
                    assertTrue(worst < 1500, "a query of application b waited " + worst + " ms");
                }
                assertTrue(server.connectionCount("gate_a") + server.connectionCount("gate_b") <= 4);
            } finally {
                running.set(false);
                pool.shutdown();
                assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
            }
            assertTrue(errors.isEmpty(), "application a saw errors: " + errors);
        }
    }
}
