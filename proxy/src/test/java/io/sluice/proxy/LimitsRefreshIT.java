package io.sluice.proxy;

import io.sluice.proxy.pool.PoolSnapshot;
import io.sluice.testkit.Eventually;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
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
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue #25 item 3: max_connections lowered while every backend is busy. Sluice reads the limits
 * again every sluice.server.limits-refresh (1 s here) whatever the pools' state, follows the new
 * cap, and closes backends as they come back until it is under it; no client reads 1040.
 */
@ExtendWith(LeakCheckExtension.class)
@Tag("slow")
class LimitsRefreshIT {

    /** Sluice's backends as the server counts them, over one root connection held throughout (the server may be full). */
    static int onServer(Connection root) throws SQLException {
        try (Statement s = root.createStatement();
             ResultSet r = s.executeQuery("SELECT COUNT(*) FROM information_schema.processlist WHERE user = 'lr'")) {
            r.next();
            return r.getInt(1);
        }
    }

    static int cap(Sluice sluice) {
        return sluice.proxy.pools().limits().effectiveCap();
    }

    /**
     * Transaction mode, saturated: 24 Connector/J clients on a pool of 16, so no backend is ever idle.
     * max_connections 40 -> 12: the cap follows (12 - headroom 2 = 10) on a backend given back, and
     * the server's count of Sluice's backends falls to 10 as transactions end.
     */
    @Test
    void saturatedTransactionPoolFollowsALoweredMaxConnections() throws Exception {
        try (TestServer server = TestServer.start(TestServer.Options.defaults().withMaxConnections(40))) {
            server.createUser("lr", "lr-pw");
            try (Sluice sluice = Sluice.start(server, "sluice.users.lr.password = \"lr-pw\"\n"
                    + "sluice.server.limits-refresh = 1s\n"
                    + "sluice.pool { mode = transaction, max-per-user = 16, global-max = 16, acquire-timeout = 20s }\n");
                 Connection root = server.rootConnection()) {
                AtomicBoolean running = new AtomicBoolean(true);
                ConcurrentLinkedQueue<SQLException> errors = new ConcurrentLinkedQueue<>();
                List<Thread> clients = new ArrayList<>();
                for (int i = 0; i < 24; i++) {
                    Thread t = new Thread(() -> {
                        try (Connection c = sluice.connect("lr", "lr-pw"); Statement s = c.createStatement()) {
                            while (running.get()) {
                                s.executeQuery("SELECT SLEEP(0.05)").close();
                            }
                        } catch (SQLException e) {
                            errors.add(e);
                        }
                    });
                    clients.add(t);
                    t.start();
                }
                try {
                    Eventually.until("16 busy backends and clients waiting", () -> {
                        PoolSnapshot s = sluice.proxy.pools().snapshot().get(0);
                        return s.busy() == 16 && s.waiting() > 0;
                    });
                    assertEquals(16, cap(sluice));
                    try (Statement s = root.createStatement()) {
                        s.execute("SET GLOBAL max_connections = 12");
                    }
                    long t0 = System.nanoTime();
                    Eventually.until("Sluice follows max_connections 12", Duration.ofSeconds(5), () -> cap(sluice) == 10);
                    long followedMs = (System.nanoTime() - t0) / 1_000_000;
                    int peak = 0;
                    long underMs = -1;
                    while ((System.nanoTime() - t0) / 1_000_000 < 10_000) {
                        int n = onServer(root);
                        peak = Math.max(peak, n);
                        if (n <= 10 && underMs < 0) {
                            underMs = (System.nanoTime() - t0) / 1_000_000;
                        }
                        if (underMs >= 0 && (System.nanoTime() - t0) / 1_000_000 > underMs + 2000) {
                            break; // watched it stay under for 2 s
                        }
                        Thread.sleep(20);
                    }
                    int settled = onServer(root);
                    System.out.printf("limits-refresh[transaction]: cap followed in %d ms, server under the cap after %d ms, "
                                    + "peak %d backends on the server after the change, %d at the end, Sluice's total %d, "
                                    + "client errors %d%n", followedMs, underMs, peak, settled, sluice.proxy.pools().total(),
                            errors.size());
                    assertTrue(underMs >= 0 && underMs < 10_000, "the server still sees " + settled + " backends of Sluice, cap 10");
                    assertTrue(settled <= 10, "backends on the server at the end: " + settled);
                    assertTrue(peak <= 16, "Sluice opened more backends after the change: " + peak);
                } finally {
                    running.set(false);
                    for (Thread t : clients) {
                        t.join(30_000);
                    }
                }
                assertTrue(errors.isEmpty(), "client errors: " + errors.peek());
            }
        }
    }

    /**
     * Session mode, 12 connected clients each holding its backend, none idle. max_connections 40 -> 16:
     * the cap follows (14) over a short-lived connection of Sluice's own. Then 16 -> 10, below what
     * is open: the server refuses that connection, so the next backend given back reads the limits;
     * as sessions end their backends close until Sluice is under the new cap (8), and new sessions
     * are served within it.
     */
    @Test
    void busySessionPoolFollowsALoweredMaxConnections() throws Exception {
        try (TestServer server = TestServer.start(TestServer.Options.defaults().withMaxConnections(40))) {
            server.createUser("lr", "lr-pw");
            try (Sluice sluice = Sluice.start(server, "sluice.users.lr.password = \"lr-pw\"\n"
                    + "sluice.server.limits-refresh = 1s\n"
                    + "sluice.pool { mode = session, max-per-user = 30, global-max = 30, acquire-timeout = 20s }\n");
                 Connection root = server.rootConnection()) {
                List<Connection> sessions = new ArrayList<>();
                for (int i = 0; i < 12; i++) {
                    Connection c = sluice.connect("lr", "lr-pw");
                    assertEquals(1, PoolIT.scalar(c, "SELECT 1"));
                    sessions.add(c);
                }
                assertEquals(12, sluice.proxy.pools().snapshot().get(0).busy());
                assertEquals(30, cap(sluice));
                try (Statement s = root.createStatement()) {
                    s.execute("SET GLOBAL max_connections = 16");
                }
                long t0 = System.nanoTime();
                Eventually.until("Sluice follows max_connections 16 with every backend busy", Duration.ofSeconds(5),
                        () -> cap(sluice) == 14);
                long followedMs = (System.nanoTime() - t0) / 1_000_000;
                Eventually.until("the limits connection is gone", () -> sluice.proxy.pools().total() == 12);
                try (Statement s = root.createStatement()) {
                    s.execute("SET GLOBAL max_connections = 10");
                }
                Thread.sleep(2500); // a refresh or two is tried on a connection of its own: the full server refuses it
                long t1 = System.nanoTime();
                ConcurrentLinkedQueue<SQLException> errors = new ConcurrentLinkedQueue<>();
                AtomicInteger served = new AtomicInteger();
                List<Thread> newcomers = new ArrayList<>();
                int peak = 0;
                for (int i = 0; i < 6; i++) {
                    sessions.remove(0).close();
                    Thread t = new Thread(() -> {
                        try (Connection c = sluice.connect("lr", "lr-pw")) {
                            PoolIT.scalar(c, "SELECT 1");
                            served.incrementAndGet();
                        } catch (SQLException e) {
                            errors.add(e);
                        }
                    });
                    newcomers.add(t);
                    t.start();
                    Thread.sleep(300);
                    peak = Math.max(peak, onServer(root));
                }
                for (Thread t : newcomers) {
                    t.join(30_000);
                }
                long lowMs = (System.nanoTime() - t1) / 1_000_000;
                int settled = onServer(root);
                System.out.printf("limits-refresh[session]: cap followed in %d ms over its own connection; after the cap "
                                + "fell below the open backends: cap %d, %d backends on the server after 6 sessions ended and "
                                + "6 new ones ran (%d ms), peak %d, Sluice's total %d, client errors %d%n", followedMs, cap(sluice),
                        settled, lowMs, peak, sluice.proxy.pools().total(), errors.size());
                assertEquals(8, cap(sluice), sluice.proxy.pools().limits().reasoning());
                assertTrue(errors.isEmpty(), "client errors: " + errors.peek());
                assertEquals(6, served.get());
                assertTrue(settled <= 8, "backends on the server: " + settled + ", cap 8");
                assertTrue(peak <= 12, "Sluice opened backends above what it had: " + peak);
                for (Connection c : sessions) {
                    c.close();
                }
            }
        }
    }
}
