package io.sluice.proxy;

import io.sluice.proxy.pool.ServerLimits;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

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
}
