package io.sluice.proxy;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.uring.IoUring;
import io.sluice.config.ListenConfig;
import io.sluice.proxy.metrics.BusyPollMeters;
import io.sluice.proxy.transport.RunQueueDelay;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The same proxy on each event-loop transport ({@code sluice.listen.transport}). The rest of the
 * suite runs on what {@code auto} picks here (io_uring on this kernel), so this covers the others
 * with the paths that touch the transport most: logins with TLS, results of many reads (row runs),
 * LOAD DATA-free writes in transactions, server-side prepared statements, and backends shared by
 * clients on both event loops.
 */
@ExtendWith(LeakCheckExtension.class)
class TransportIT {
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.shared();
        server.createUser("tp", "tp-pw");
        server.createDatabase("tp");
        StringBuilder nums = new StringBuilder("INSERT INTO tp.nums VALUES (1)");
        for (int n = 2; n <= 5000; n++) {
            nums.append(",(").append(n).append(')');
        }
        server.execute("CREATE TABLE IF NOT EXISTS tp.nums (n INT PRIMARY KEY)",
                "CREATE TABLE IF NOT EXISTS tp.log (id INT PRIMARY KEY AUTO_INCREMENT, who VARCHAR(32), n INT)",
                "DELETE FROM tp.nums", nums.toString());
    }

    private static void assumeAvailable(ListenConfig.Transport t) {
        switch (t) {
            case IO_URING -> assumeTrue(IoUring.isAvailable(), () -> "io_uring not available: " + IoUring.unavailabilityCause());
            case EPOLL -> assumeTrue(Epoll.isAvailable(), () -> "epoll not available: " + Epoll.unavailabilityCause());
            default -> {
            }
        }
    }

    /** With the default {@code sluice.listen.busy-poll = auto}. */
    @ParameterizedTest
    @EnumSource(value = ListenConfig.Transport.class, names = {"IO_URING", "EPOLL", "NIO"})
    void sixClientsOnTwoBackendsOverTls(ListenConfig.Transport transport, @TempDir Path dir) throws Exception {
        sixClientsOnTwoBackendsThenIdle(transport, dir, "");
    }

    /**
     * {@code sluice.listen.busy-poll} with a budget: the same work with event loops that poll after
     * each pass that found I/O, whether or not a CPU is spare; and once the clients are gone, the loops
     * sleep instead of polling on.
     */
    @ParameterizedTest
    @EnumSource(value = ListenConfig.Transport.class, names = {"IO_URING", "EPOLL", "NIO"})
    void busyPollingLoopsServeTheSameWorkAndSleepWhenIdle(ListenConfig.Transport transport, @TempDir Path dir) throws Exception {
        sixClientsOnTwoBackendsThenIdle(transport, dir, "sluice.listen.busy-poll = 200us\n");
    }

    /**
     * {@code sluice.server.socket}: the same work with the backends on the server's Unix socket,
     * which the server sees as connections from localhost (over TCP: 127.0.0.1:port).
     */
    @ParameterizedTest
    @EnumSource(value = ListenConfig.Transport.class, names = {"IO_URING", "EPOLL", "NIO"})
    void backendsOnTheServersUnixSocket(ListenConfig.Transport transport, @TempDir Path dir) throws Exception {
        Path socket = server.socket().orElse(null);
        assumeTrue(socket != null, "the test server runs in a container: no Unix socket on this machine");
        sixClientsOnTwoBackends(transport, dir, "sluice.server.socket = \"" + socket + "\"\n", sluice -> {
            List<String> hosts = new ArrayList<>();
            try (Connection c = server.rootConnection(); Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("SELECT HOST FROM information_schema.PROCESSLIST WHERE USER = 'tp'")) {
                while (r.next()) {
                    hosts.add(r.getString(1));
                }
            }
            assertTrue(!hosts.isEmpty() && hosts.stream().allMatch("localhost"::equals),
                    "backends should come from the socket (localhost), the server saw " + hosts);
        });
    }

    private static void sixClientsOnTwoBackendsThenIdle(ListenConfig.Transport transport, Path dir, String extra) throws Exception {
        Set<Long> before = ioThreads();
        Set<Long> ours = new HashSet<>();
        sixClientsOnTwoBackends(transport, dir, extra, sluice -> {
            BusyPollMeters meters = sluice.proxy.metrics().busyPoll();
            long polls = 0;
            for (BusyPollMeters.End end : BusyPollMeters.End.values()) {
                polls += meters.polls(end);
            }
            if (extra.isEmpty() && !RunQueueDelay.availableHere()) { // auto without run-queue statistics
                assertEquals(0, polls + meters.heldOffCount(), "auto polled with nothing to decide by");
            } else if (extra.isEmpty()) { // auto: each busy pass either polled or was held off, as the CPU allowed
                assertTrue(polls + meters.heldOffCount() > 0, "auto neither polled nor held off");
            } else {
                assertTrue(polls > 0 && meters.pollSeconds() > 0, "a fixed budget never polled");
            }
            ours.addAll(ioThreads());
            ours.removeAll(before);
            assertEquals(Runtime.getRuntime().availableProcessors(), ours.size(), "one thread per event loop");
            Thread.sleep(500); // past the last pass that found I/O, and its poll
            long cpu = cpuNanos(ours);
            Thread.sleep(1000);
            long idleCpu = cpuNanos(ours) - cpu;
            // Polling on would cost a core per loop; housekeeping wake-ups cost a poll each (up to 200 µs).
            assertTrue(idleCpu < 150_000_000L * ours.size(), "idle loops used " + idleCpu / 1_000_000 + " ms of CPU in 1 s");
        });
    }

    private static Set<Long> ioThreads() {
        Set<Long> ids = new HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("sluice-io-")) {
                ids.add(t.getId());
            }
        }
        return ids;
    }

    private static long cpuNanos(Set<Long> threads) {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (long id : threads) {
            sum += Math.max(0, mx.getThreadCpuTime(id));
        }
        return sum;
    }

    private interface AfterWork {
        void check(Sluice sluice) throws Exception;
    }

    private static void sixClientsOnTwoBackends(ListenConfig.Transport transport, Path dir, String extra, AfterWork after) throws Exception {
        assumeAvailable(transport);
        Path[] cert = TestCerts.selfSigned(dir);
        String hocon = extra + "sluice.listen.transport = " + transport.configName() + "\n"
                + "sluice.users.tp.password = \"tp-pw\"\n"
                + "sluice.pool { mode = transaction, max-per-user = 2 }\n"
                + "sluice.frontend.tls { enabled = true, cert-file = \"" + cert[0] + "\", key-file = \"" + cert[1] + "\" }\n";
        String who = transport.configName();
        server.execute("DELETE FROM tp.log WHERE who = '" + who + "'");
        try (Sluice sluice = Sluice.start(server, hocon)) {
            assertEquals(who, sluice.proxy.transportName());
            ExecutorService pool = Executors.newFixedThreadPool(6);
            try {
                List<Future<Integer>> done = new ArrayList<>();
                for (int client = 0; client < 6; client++) {
                    int me = client;
                    done.add(pool.submit(() -> work(sluice, who, me)));
                }
                int rounds = 0;
                for (Future<Integer> f : done) {
                    rounds += f.get(120, TimeUnit.SECONDS);
                }
                assertEquals(6 * 20, rounds);
            } finally {
                pool.shutdownNow();
            }
            try (Connection c = server.rootConnection(); Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("SELECT COUNT(*), COUNT(DISTINCT n) FROM tp.log WHERE who = '" + who + "'")) {
                assertTrue(r.next());
                assertEquals(6 * 20, r.getInt(1), "every committed insert is there");
                assertEquals(6 * 20, r.getInt(2));
            }
            assertTrue(server.connectionCount("tp") <= 2, "the server saw more than the pool's 2 backends");
            after.check(sluice);
        }
    }

    /** One client: 20 rounds of a transaction, a 5,000-row result and a prepared statement, each checked. */
    private static int work(Sluice sluice, String who, int me) throws Exception {
        int rounds = 0;
        try (Connection c = sluice.connect("tp", "tp-pw", "tp",
                "useSSL=true&requireSSL=true&verifyServerCertificate=false&useServerPrepStmts=true&cachePrepStmts=false")) {
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SHOW SESSION STATUS LIKE 'Ssl_cipher'")) {
                assertTrue(r.next());
            }
            for (int i = 0; i < 20; i++) {
                c.setAutoCommit(false);
                try (Statement s = c.createStatement()) {
                    s.executeUpdate("INSERT INTO tp.log (who, n) VALUES ('" + who + "', " + (me * 1000 + i) + ")");
                    try (ResultSet r = s.executeQuery("SELECT COUNT(*) FROM tp.log WHERE who = '" + who + "' AND n = " + (me * 1000 + i))) {
                        assertTrue(r.next());
                        assertEquals(1, r.getInt(1), "a transaction sees its own insert");
                    }
                }
                c.commit();
                c.setAutoCommit(true);
                try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT n FROM tp.nums ORDER BY n")) {
                    long sum = 0;
                    int rows = 0;
                    while (r.next()) {
                        sum += r.getInt(1);
                        rows++;
                    }
                    assertEquals(5000, rows);
                    assertEquals(5000L * 5001 / 2, sum);
                }
                try (PreparedStatement p = c.prepareStatement("SELECT n * ? FROM tp.nums WHERE n = ?")) {
                    p.setInt(1, me + 1);
                    p.setInt(2, i + 1);
                    try (ResultSet r = p.executeQuery()) {
                        assertTrue(r.next());
                        assertEquals((long) (me + 1) * (i + 1), r.getLong(1));
                    }
                }
                rounds++;
            }
        }
        return rounds;
    }

    @Test
    void autoPicksTheFirstTransportThatWorksHere() {
        String expected = IoUring.isAvailable() ? "io-uring" : Epoll.isAvailable() ? "epoll" : "nio";
        try (Sluice sluice = Sluice.start(server, "sluice.users.tp.password = \"tp-pw\"\n")) {
            assertEquals(expected, sluice.proxy.transportName());
        }
    }
}
