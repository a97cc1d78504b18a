package io.sluice.proxy;

import io.sluice.proxy.frontend.ServerAccounts;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A flood of logins with unknown users and wrong passwords (sluice.auth.source = server) neither
 * exhausts the server (lookups are rate limited and run on the lookup account's small pool) nor
 * slows the clients already working.
 */
@ExtendWith(LeakCheckExtension.class)
class ServerAccountsFloodIT {

    @Test
    void aThousandBadLoginsWhileNormalClientsKeepWorkingWithinASecond() throws Exception {
        TestServer server = TestServer.shared();
        server.execute("DROP USER IF EXISTS 'flood_lookup'@'%', 'flood_app'@'%'",
                "CREATE USER 'flood_lookup'@'%' IDENTIFIED BY 'lookup-pw'",
                "GRANT SELECT ON mysql.global_priv TO 'flood_lookup'@'%'",
                "CREATE USER 'flood_app'@'%' IDENTIFIED BY 'app-pw'");
        String config = "sluice.auth { source = server, lookup-user = flood_lookup, lookup-password = \"lookup-pw\", "
                + "max-lookups-per-second = 20 }\n";
        try (Sluice sluice = Sluice.start(server, config)) {
            ServerAccounts accounts = sluice.proxy.accounts();
            AtomicBoolean flooding = new AtomicBoolean(true);
            AtomicLong worstMillis = new AtomicLong();
            AtomicLong worstLoginMillis = new AtomicLong();
            AtomicInteger normalQueries = new AtomicInteger();
            AtomicInteger maxLookupConnections = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(10);
            try (RawClient normal = new RawClient(sluice.port())) {
                assertTrue(RawClient.isOk(normal.login("flood_app", "app-pw", null)));
                // Warm up the login paths (JIT) so the measurement is of the flood, not of a cold JVM.
                for (int i = 0; i < 200; i++) {
                    try (RawClient c = new RawClient(sluice.port())) {
                        c.login("flood_app", i % 2 == 0 ? "app-pw" : "warm-" + i, null);
                    }
                }
                // A client already logged in keeps running statements, and a new login of a known account gets in.
                Future<?> worker = pool.submit(() -> {
                    while (flooding.get()) {
                        long t = System.nanoTime();
                        assertTrue(RawClient.isOk(normal.execute("DO 1")));
                        worstMillis.accumulateAndGet((System.nanoTime() - t) / 1_000_000, Math::max);
                        normalQueries.incrementAndGet();
                        Thread.sleep(10);
                    }
                    return null;
                });
                Future<?> newcomer = pool.submit(() -> {
                    while (flooding.get()) {
                        long t = System.nanoTime();
                        try (RawClient c = new RawClient(sluice.port())) {
                            assertTrue(RawClient.isOk(c.login("flood_app", "app-pw", null)));
                            assertTrue(RawClient.isOk(c.execute("DO 1")));
                        }
                        worstLoginMillis.accumulateAndGet((System.nanoTime() - t) / 1_000_000, Math::max);
                        maxLookupConnections.accumulateAndGet(server.connectionCount("flood_lookup"), Math::max);
                        Thread.sleep(50);
                    }
                    return null;
                });

                Map<String, AtomicInteger> codes = new ConcurrentHashMap<>();
                AtomicInteger next = new AtomicInteger();
                List<Future<?>> flood = new ArrayList<>();
                long start = System.nanoTime();
                for (int t = 0; t < 8; t++) {
                    flood.add(pool.submit(() -> {
                        for (int i = next.getAndIncrement(); i < 1000; i = next.getAndIncrement()) {
                            // Half unknown users (each name new), half wrong passwords of a known account.
                            String user = i % 2 == 0 ? "flood_nobody_" + i : "flood_app";
                            try (RawClient c = new RawClient(sluice.port())) {
                                byte[] reply = c.login(user, "wrong-" + i, null);
                                assertTrue(RawClient.isErr(reply), user);
                                String kind = (i % 2 == 0 ? "unknown:" : "wrong-password:") + RawClient.errCode(reply);
                                codes.computeIfAbsent(kind, k -> new AtomicInteger()).incrementAndGet();
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : flood) {
                    f.get(120, TimeUnit.SECONDS);
                }
                long floodMillis = (System.nanoTime() - start) / 1_000_000;
                flooding.set(false);
                worker.get(10, TimeUnit.SECONDS);
                newcomer.get(10, TimeUnit.SECONDS);

                assertEquals(500, codes.getOrDefault("wrong-password:1045", new AtomicInteger()).get(),
                        "every wrong password of a known account is a plain 1045: " + codes);
                int unknownRefused = codes.getOrDefault("unknown:1045", new AtomicInteger()).get();
                int unknownLimited = codes.getOrDefault("unknown:9420", new AtomicInteger()).get();
                assertEquals(500, unknownRefused + unknownLimited, "unknown users get 1045, or 9420 beyond the lookup rate: " + codes);
                // 20 lookups a second (a burst of 20), one more per second for the known account's re-reads.
                long allowed = 20 + (floodMillis / 1000 + 1) * 21 + 2;
                assertTrue(accounts.lookups() <= allowed, accounts.lookups() + " lookups in " + floodMillis + " ms");
                assertTrue(maxLookupConnections.get() <= 2, "lookup connections on the server: " + maxLookupConnections);
                assertTrue(normalQueries.get() > 0);
                String timing = "worst statement " + worstMillis + " ms, worst new login " + worstLoginMillis + " ms, flood of "
                        + floodMillis + " ms, " + accounts.lookups() + " lookups, " + codes;
                assertTrue(worstMillis.get() < 1000, timing);
                assertTrue(worstLoginMillis.get() < 1000, timing);
                assertTrue(sluice.proxy.pools().total() <= 2 + 10, "backends: " + sluice.proxy.pools().total());
            } finally {
                flooding.set(false);
                pool.shutdownNow();
                pool.awaitTermination(10, TimeUnit.SECONDS);
            }
        }
    }
}
