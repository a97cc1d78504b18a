package io.sluice.proxy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.sluice.proxy.pool.BackendPools;
import io.sluice.proxy.pool.ServerLimits;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A pool configured larger than the server allows: Sluice reads max_connections and keeps its
 * backends below it, so clients wait in the gate instead of reading the server's 1040.
 */
@ExtendWith(LeakCheckExtension.class)
class ServerLimitsIT {

    @Test
    void aFleetSharesTheServer() throws Exception {
        try (TestServer small = TestServer.start(TestServer.Options.defaults().withMaxConnections(12))) {
            small.createUser("lim", "lim-pw");
            try (Sluice sluice = Sluice.start(small, "sluice.users.lim.password = \"lim-pw\"\n"
                    + "sluice.server { headroom = 4, fleet-size = 2 }\n");
                 Connection first = sluice.connect("lim", "lim-pw")) {
                assertTrue(first.isValid(5));
                ServerLimits limits = sluice.proxy.pools().limits();
                assertEquals(4, limits.effectiveCap(), limits.reasoning()); // (12 - 4) / 2
                assertTrue(limits.reasoning().contains("fleet of 2"), limits.reasoning());
            }
        }
    }

    /**
     * reference.conf's global-max (100) above what a small server allows is no mistake of the user's:
     * the derived cap is logged at INFO once, with no WARN. A global-max the user set is warned about.
     */
    @Test
    void onlyAGlobalMaxTheUserSetIsWarnedAbout() throws Exception {
        Logger poolLog = (Logger) LoggerFactory.getLogger(BackendPools.class);
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.start();
        poolLog.addAppender(logged);
        try (TestServer small = TestServer.start(TestServer.Options.defaults().withMaxConnections(12))) {
            small.createUser("lim", "lim-pw");
            for (String pool : new String[] {"", "sluice.pool.global-max = 50\n"}) {
                logged.list.clear();
                try (Sluice sluice = Sluice.start(small, "sluice.users.lim.password = \"lim-pw\"\n" + pool);
                     Connection first = sluice.connect("lim", "lim-pw")) {
                    assertTrue(first.isValid(5));
                    assertEquals(10, sluice.proxy.pools().limits().effectiveCap());
                }
                List<String> warnings = logged.list.stream().filter(e -> e.getLevel() == Level.WARN)
                        .map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains("global-max")).toList();
                if (pool.isEmpty()) {
                    assertEquals(List.of(), warnings, "the default was never set: no warning");
                    assertEquals(1, logged.list.stream().filter(e -> e.getLevel() == Level.INFO
                            && e.getFormattedMessage().startsWith("sluice.pool.global-max is not set")).count(),
                            "the derived cap, once, at INFO: " + logged.list);
                } else {
                    assertEquals(1, warnings.size(), "the user set 50: " + logged.list);
                    assertTrue(warnings.get(0).contains("(50) is above what the server allows this Sluice (10)"), warnings.get(0));
                }
            }
        } finally {
            poolLog.detachAppender(logged);
        }
    }

    @Test
    void theServersMaxConnectionsCapsThePoolAndNo1040ReachesAClient() throws Exception {
        try (TestServer small = TestServer.start(TestServer.Options.defaults().withMaxConnections(12))) {
            small.createUser("lim", "lim-pw");
            try (Sluice sluice = Sluice.start(small, "sluice.users.lim.password = \"lim-pw\"\n"
                    + "sluice.pool { max-per-user = 50, global-max = 50, acquire-timeout = 20s }\n")) {
                // The first backend connection reads the limits before anyone else is served.
                try (Connection first = sluice.connect("lim", "lim-pw")) {
                    assertTrue(first.isValid(5));
                }
                ServerLimits limits = sluice.proxy.pools().limits();
                assertTrue(limits != null, "the first backend connection did not read the server's limits");
                assertEquals(12, limits.maxConnections());
                assertTrue(sluice.proxy.pools().threadsConnected() >= 1, "Threads_connected read with the limits");
                assertTrue(sluice.proxy.pools().maxUsedConnections() >= 1, "Max_used_connections read with the limits");
                assertEquals(10, limits.effectiveCap(), limits.reasoning());
                AtomicBoolean on = new AtomicBoolean(true);
                AtomicInteger peak = new AtomicInteger();
                Thread sampler = new Thread(() -> {
                    while (on.get()) {
                        peak.accumulateAndGet(small.connectionCount("lim"), Math::max);
                    }
                });
                sampler.start();
                ConcurrentLinkedQueue<SQLException> errors = new ConcurrentLinkedQueue<>();
                List<Thread> clients = new ArrayList<>();
                for (int i = 0; i < 30; i++) {
                    Thread t = new Thread(() -> {
                        try (Connection c = sluice.connect("lim", "lim-pw"); Statement s = c.createStatement();
                             ResultSet r = s.executeQuery("SELECT SLEEP(0.2)")) {
                            r.next();
                        } catch (SQLException e) {
                            errors.add(e);
                        }
                    });
                    clients.add(t);
                    t.start();
                }
                for (Thread t : clients) {
                    t.join(60_000);
                }
                on.set(false);
                sampler.join();
                assertTrue(errors.isEmpty(), "errors: " + errors.peek());
                assertTrue(peak.get() <= 10, "server saw " + peak.get() + " connections, cap 10 (max_connections 12 - headroom 2)");
            }
        }
    }

    /**
     * The server's wait_timeout (3 s here) is below sluice.pool.idle-timeout (10 min): Sluice closes
     * idle backends, min-idle ones too, before the server would, so the server never closes one
     * under a client, and a query after a long pause just works.
     */
    @Test
    void idleBackendsAreClosedBeforeTheServersWaitTimeout() throws Exception {
        try (TestServer short_ = TestServer.start(TestServer.Options.defaults().withServerArgs("--wait-timeout=3"))) {
            short_.createUser("lim", "lim-pw");
            try (Sluice sluice = Sluice.start(short_, "sluice.users.lim.password = \"lim-pw\"\n"
                    + "sluice.pool { mode = transaction, min-idle = 1, idle-timeout = 10m }\n");
                 Connection c = sluice.connect("lim", "lim-pw");
                 Statement s = c.createStatement()) {
                assertEquals("1", MultiplexingIT.one(s, "SELECT 1"));
                assertEquals(3, sluice.proxy.pools().limits().waitTimeoutSeconds());
                Thread.sleep(5_000);
                assertEquals("2", MultiplexingIT.one(s, "SELECT 2"), "a query after a pause longer than wait_timeout");
                var registry = sluice.proxy.metrics().registry();
                var byUs = registry.find(io.sluice.proxy.metrics.ProxyMetrics.BACKEND_CLOSES).tag("reason", "idle_timeout").counter();
                assertTrue(byUs != null && byUs.count() >= 1, "Sluice closed no idle backend before wait_timeout");
                var byServer = registry.find(io.sluice.proxy.metrics.ProxyMetrics.BACKEND_CLOSES).tag("reason", "server_closed").counter();
                double closedByServer = byServer == null ? 0 : byServer.count();
                assertEquals(0.0, closedByServer, "idle backends the server closed first");
            }
        }
    }

    /**
     * Adaptive sharing: max_connections 30, a direct client holds 10 connections, and two Sluice
     * instances (each allowed 25) serve 12 busy clients each. They settle where the server keeps its
     * headroom of 2: a new direct client still gets in, and no Sluice client sees an error.
     */
    @Test
    void twoAdaptiveInstancesShareTheServerWithItsOtherClients() throws Exception {
        try (TestServer small = TestServer.start(TestServer.Options.defaults().withMaxConnections(30))) {
            small.createUser("lim", "lim-pw");
            String config = "sluice.users.lim.password = \"lim-pw\"\n"
                    + "sluice.server.adaptive = true\n"
                    + "sluice.pool { mode = transaction, max-per-user = 25, global-max = 25, acquire-timeout = 20s }\n";
            List<Connection> direct = new ArrayList<>();
            try (Sluice a = Sluice.start(small, config); Sluice b = Sluice.start(small, config)) {
                for (int i = 0; i < 10; i++) {
                    direct.add(java.sql.DriverManager.getConnection(small.jdbcUrl(""), "lim", "lim-pw"));
                }
                AtomicBoolean running = new AtomicBoolean(true);
                ConcurrentLinkedQueue<SQLException> errors = new ConcurrentLinkedQueue<>();
                List<Thread> clients = new ArrayList<>();
                for (Sluice s : List.of(a, b)) {
                    for (int i = 0; i < 12; i++) {
                        Thread t = new Thread(() -> {
                            try (Connection c = s.connect("lim", "lim-pw"); Statement st = c.createStatement()) {
                                while (running.get()) {
                                    st.executeQuery("SELECT SLEEP(0.05)").close();
                                }
                            } catch (SQLException e) {
                                errors.add(e);
                            }
                        });
                        clients.add(t);
                        t.start();
                    }
                }
                Thread.sleep(5000);
                int peak = 0;
                for (int i = 0; i < 20; i++) {
                    peak = Math.max(peak, small.connectionCount("lim"));
                    Thread.sleep(100);
                }
                try (Connection late = java.sql.DriverManager.getConnection(small.jdbcUrl(""), "lim", "lim-pw")) {
                    assertTrue(late.isValid(2), "a new direct client got in");
                }
                running.set(false);
                for (Thread t : clients) {
                    t.join(30_000);
                }
                assertTrue(errors.isEmpty(), "Sluice clients saw errors: " + errors);
                assertTrue(peak <= 28, "connections of lim on the server: " + peak + ", max_connections 30 - headroom 2 = 28");
                assertTrue(a.proxy.pools().adaptiveCap() < 25 && b.proxy.pools().adaptiveCap() < 25,
                        "adaptive caps " + a.proxy.pools().adaptiveCap() + " and " + b.proxy.pools().adaptiveCap());
            } finally {
                for (Connection c : direct) {
                    c.close();
                }
            }
        }
    }
}
