package io.sluice.proxy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.sluice.proxy.pool.BackendPools;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TcpRelay;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

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
    private static final org.slf4j.Logger log = LoggerFactory.getLogger(OutageIT.class);
    static TestServer server;

    @BeforeAll
    static void start() {
        // Durable commits (the test servers default to flush-at-commit 0), so a crash keeps every commit a client saw.
        server = TestServer.start(TestServer.Options.defaults().withServerArgs("--innodb-flush-log-at-trx-commit=1"));
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

    /**
     * The server is killed (SIGKILL: no clean shutdown, every backend vanishes mid-whatever) and
     * restarted 1.5 s later, under 12 clients committing through a pool of 4. Figures in
     * docs/faults.md, "Server crash and restart under load".
     */
    @Test
    @Tag("slow")
    void aServerCrashUnderLoadLosesNoCommitAndRecovers() throws Exception {
        Assumptions.assumeTrue(server.canRestart(), "this kind of test server cannot be crashed");
        Logger poolsLog = (Logger) LoggerFactory.getLogger(BackendPools.class);
        ListAppender<ILoggingEvent> poolLines = new ListAppender<>();
        poolLines.start();
        poolsLog.addAppender(poolLines);
        try (Sluice sluice = Sluice.start(server, "sluice.users.out.password = \"out-pw\"\n"
                + "sluice.pool { max-per-user = 4, acquire-timeout = 3s }\n"
                + "sluice.server.connect-timeout = 1s\n");
             Load load = new Load(sluice, 12, 1000)) {
            load.warmUp();
            load.faultStarts();
            server.crash(Duration.ofMillis(1500));
            load.faultEnds();
            Figures f = load.finish(sluice, "out", 4, "crash");
            assertTrue(f.recoveredAllMs() >= 0 && f.recoveredAllMs() < 10_000, "every client commits again soon: " + f);
            assertFalse(f.errors().keySet().stream().anyMatch(k -> k.startsWith("1040 ")), "a 1040 reached a client: " + f);
            assertTrue(f.slowestFailureMs() < 3000 + 2000, "clients fail fast while the server is down: " + f);
            load.assertNoCommitLost(server);
        } finally {
            poolsLog.detachAppender(poolLines);
        }
        long failureLines = poolLines.list.stream().filter(e -> e.getLevel() == Level.WARN
                && e.getFormattedMessage().contains("opening a backend connection failed")).count();
        assertTrue(failureLines <= 2, "at most one WARN per 10 s for failed opens while the server was down, got "
                + failureLines + ": " + poolLines.list);
        assertEquals(0, server.awaitConnectionCount("out", 0, Duration.ofSeconds(10)));
    }

    /**
     * Every byte between Sluice and the server stops for 5 s (TcpRelay.pause: sockets open, no RST,
     * as with a stalled network path or a frozen server host) under 12 clients, then flows again.
     * Figures in docs/faults.md, "Frozen network path under load".
     */
    @Test
    @Tag("slow")
    void aFrozenPathToTheServerUnderLoadRecoversWithoutLeaks() throws Exception {
        try (TcpRelay relay = TcpRelay.start(server.host(), server.port());
             Sluice sluice = Sluice.start(server, "sluice.server { host = \"" + relay.host() + "\", port = " + relay.port()
                     + ", connect-timeout = 1s }\n"
                     + "sluice.users.out.password = \"out-pw\"\n"
                     + "sluice.pool { max-per-user = 4, acquire-timeout = 3s }\n");
             Load load = new Load(sluice, 12, 2000)) {
            load.warmUp();
            load.faultStarts();
            relay.pause();
            Thread.sleep(5000);
            relay.resume();
            load.faultEnds();
            Figures f = load.finish(sluice, "out", 4, "freeze");
            assertTrue(f.recoveredAllMs() >= 0 && f.recoveredAllMs() < 10_000, "every client commits again soon: " + f);
            assertFalse(f.errors().keySet().stream().anyMatch(k -> k.startsWith("1040 ")), "a 1040 reached a client: " + f);
            load.assertNoCommitLost(server);
        }
        assertEquals(0, server.awaitConnectionCount("out", 0, Duration.ofSeconds(10)));
    }

    /** What a fault scenario measured, as docs/faults.md reports it. */
    record Figures(String scenario, long commitsBefore, Map<String, Integer> errors, long firstErrorAfterFaultMs,
                   long recoveredFirstMs, long recoveredAllMs, long slowestFailureMs, int serverConnections,
                   int sluiceCount, int busyLeft) {
    }

    /**
     * Clients committing BEGIN / INSERT / COMMIT through Sluice in a loop, reconnecting after any
     * error, with what a fault scenario reports: errors by code and SQLSTATE, when every client
     * committed again after the fault ended, and the slowest failure.
     */
    static final class Load implements AutoCloseable {
        private final Sluice sluice;
        private final int base;
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final List<Thread> threads = new ArrayList<>();
        private final Map<Integer, Set<Integer>> committed = new ConcurrentHashMap<>();
        private final Map<String, Integer> errors = new ConcurrentHashMap<>();
        private final AtomicLong commits = new AtomicLong();
        private final AtomicLong slowestFailureMs = new AtomicLong();
        private final java.util.concurrent.atomic.AtomicLongArray firstCommitAfter;
        private final AtomicLong firstErrorAfterFault = new AtomicLong(Long.MAX_VALUE);
        private volatile long faultStartNanos = Long.MAX_VALUE;
        private volatile long faultEndNanos = Long.MAX_VALUE;
        private long commitsBefore;

        /** {@code base}: client numbers start there, so runs against the same table do not collide. */
        Load(Sluice sluice, int clients, int base) {
            this.sluice = sluice;
            this.base = base;
            this.firstCommitAfter = new java.util.concurrent.atomic.AtomicLongArray(clients);
            for (int n = 0; n < clients; n++) {
                int i = n;
                committed.put(base + i, ConcurrentHashMap.newKeySet());
                Thread t = new Thread(() -> run(i), "fault-load-" + n);
                threads.add(t);
                t.start();
            }
        }

        void warmUp() throws InterruptedException {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (commits.get() < 10L * threads.size() && System.nanoTime() < until) {
                Thread.sleep(50);
            }
            assertTrue(commits.get() >= 10L * threads.size(), "the load did not start: " + errors);
        }

        void faultStarts() {
            commitsBefore = commits.get();
            faultStartNanos = System.nanoTime();
        }

        void faultEnds() {
            faultEndNanos = System.nanoTime();
        }

        /** Waits until every client committed after the fault (at most 20 s), stops the load, counts backends on both sides. */
        Figures finish(Sluice sluice, String user, int pool, String scenario) throws InterruptedException {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!allRecovered() && System.nanoTime() < until) {
                Thread.sleep(50);
            }
            long first = Long.MAX_VALUE;
            long last = 0;
            for (int i = 0; i < firstCommitAfter.length(); i++) {
                long t = firstCommitAfter.get(i);
                first = Math.min(first, t == 0 ? Long.MAX_VALUE : t);
                last = t == 0 ? Long.MAX_VALUE : Math.max(last, t);
            }
            close();
            long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            int onServer;
            int counted;
            do {
                Thread.sleep(100);
                onServer = server.connectionCount(user);
                counted = sluice.proxy.pools().total();
            } while ((onServer != counted || sluice.proxy.sessions().size() > 0) && System.nanoTime() < settle);
            int busy = sluice.proxy.pools().snapshot().stream().mapToInt(p -> p.busy()).sum();
            long err = firstErrorAfterFault.get();
            Figures f = new Figures(scenario, commitsBefore, new java.util.TreeMap<>(errors),
                    err == Long.MAX_VALUE ? -1 : (err - faultStartNanos) / 1_000_000,
                    first == Long.MAX_VALUE ? -1 : (first - faultEndNanos) / 1_000_000,
                    last == Long.MAX_VALUE ? -1 : (last - faultEndNanos) / 1_000_000,
                    slowestFailureMs.get(), onServer, counted, busy);
            log.info("fault figures: {}", f);
            assertEquals(counted, onServer, "backends Sluice counts vs connections of " + user + " on the server: " + f);
            assertTrue(onServer <= pool, onServer + " connections of " + user + " on the server, pool " + pool);
            assertEquals(0, busy, "busy backends left: " + f);
            return f;
        }

        private boolean allRecovered() {
            for (int i = 0; i < firstCommitAfter.length(); i++) {
                if (firstCommitAfter.get(i) == 0) {
                    return false;
                }
            }
            return true;
        }

        void assertNoCommitLost(TestServer server) throws SQLException {
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
        }

        private void run(int i) {
            int client = base + i;
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
                    committed.get(client).add(seq);
                    commits.incrementAndGet();
                    long now = System.nanoTime();
                    if (now > faultEndNanos && t0 > faultEndNanos) {
                        firstCommitAfter.compareAndSet(i, 0, now);
                    }
                } catch (SQLException e) {
                    long now = System.nanoTime();
                    if (now > faultStartNanos) {
                        firstErrorAfterFault.accumulateAndGet(now, Math::min);
                        errors.merge(e.getErrorCode() + " " + e.getSQLState(), 1, Integer::sum);
                    }
                    slowestFailureMs.accumulateAndGet((now - t0) / 1_000_000, Math::max);
                    closeQuietly(c);
                    c = null;
                    sleep(50);
                }
            }
            closeQuietly(c);
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(30));
            }
        }
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
                closeQuietly(c);
                c = null;
                sleep(50);
            }
        }
        closeQuietly(c);
    }

    /** Closes a client connection that may be broken or null. */
    private static void closeQuietly(Connection c) {
        try {
            if (c != null) {
                c.close();
            }
        } catch (SQLException ignored) {
            // already broken
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
