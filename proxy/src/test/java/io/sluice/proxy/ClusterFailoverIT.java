package io.sluice.proxy;

import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestCluster;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.AfterEach;
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
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A bank-transfer workload (the total of all balances never changes) through Sluice while the
 * cluster's own tooling (here TestCluster, as mariadbmon or a person would) switches the primary
 * over, or while the primary is killed and a replica promoted. Sluice promotes nothing: it follows
 * what the servers say. The only client errors allowed are the documented ones for a transaction
 * that was open on the old primary (9413; 9405 when the server died under a statement in flight),
 * the total stays invariant, no write lands on a read-only server (the application user has no
 * READ ONLY ADMIN, so one would fail with 1290, which would count as a surprise), and transfers go
 * on afterwards without restarting Sluice.
 */
@Tag("slow")
@ExtendWith(LeakCheckExtension.class)
class ClusterFailoverIT {
    static final int ACCOUNTS = 20;
    static final int BALANCE = 1000;
    TestCluster cluster;

    @AfterEach
    void tearDown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    void setUpCluster() {
        cluster = TestCluster.start(2);
        TestServer p = cluster.primary();
        p.createUser("bank", "bank-pw", "SELECT, INSERT, UPDATE, DELETE ON bank.*");
        p.createUser("mon", "mon-pw", "SELECT ON bank.*");
        p.execute("CREATE DATABASE bank", "CREATE TABLE bank.accounts (id INT PRIMARY KEY, balance INT NOT NULL)");
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < ACCOUNTS; i++) {
            rows.append(i == 0 ? "" : ",").append('(').append(i).append(',').append(BALANCE).append(')');
        }
        p.execute("INSERT INTO bank.accounts VALUES " + rows);
        cluster.awaitReplicated(Duration.ofSeconds(20));
    }

    Sluice sluice() {
        return sluice("transaction", 8, "");
    }

    /** Sluice in front of the cluster: {@code mode}, {@code pool} backends per server, and more {@code sluice.cluster} settings. */
    Sluice sluice(String mode, int pool, String cluster) {
        return Sluice.startCluster(this.cluster, false, "sluice.users.bank.password = \"bank-pw\"\n"
                + "sluice.users.mon.password = \"mon-pw\"\n"
                + "sluice.cluster { monitor-user = mon" + cluster + " }\n"
                + "sluice.pool { mode = " + mode + ", max-per-user = " + pool + ", acquire-timeout = 20s }\n");
    }

    /** Runs transfers on {@code workers} connections until stopped; counts successes and errors by code. */
    static final class Bank {
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicInteger done = new AtomicInteger();
        final Map<Integer, AtomicInteger> errors = new ConcurrentHashMap<>();
        final List<String> surprises = java.util.Collections.synchronizedList(new ArrayList<>());
        final ExecutorService pool;
        final List<Future<?>> futures = new ArrayList<>();

        Bank(Sluice sluice, int workers, Set<Integer> allowed) {
            pool = Executors.newFixedThreadPool(workers);
            for (int w = 0; w < workers; w++) {
                int seed = w;
                futures.add(pool.submit(() -> {
                    Random random = new Random(seed);
                    Connection c = null;
                    while (!stop.get()) {
                        try {
                            if (c == null || c.isClosed()) {
                                c = sluice.connect("bank", "bank-pw", "bank", "");
                            }
                            transfer(c, random.nextInt(ACCOUNTS), random.nextInt(ACCOUNTS), 1 + random.nextInt(10));
                            done.incrementAndGet();
                        } catch (SQLException e) {
                            errors.computeIfAbsent(e.getErrorCode(), k -> new AtomicInteger()).incrementAndGet();
                            if (!allowed.contains(e.getErrorCode())) {
                                StringBuilder where = new StringBuilder();
                                for (StackTraceElement el : e.getStackTrace()) {
                                    if (el.getClassName().startsWith("io.sluice")) {
                                        where.append(" at ").append(el.getMethodName()).append(':').append(el.getLineNumber());
                                    }
                                }
                                surprises.add(e.getErrorCode() + ": " + e.getMessage() + where + " cause " + e.getCause());
                            }
                            try {
                                if (e.getErrorCode() == 9405) {
                                    c.close(); // Sluice closes the connection after 9405: connect again
                                } else if (c != null && !c.isClosed()) {
                                    c.rollback();
                                }
                            } catch (SQLException ignored) {
                                c = null;
                            }
                        }
                    }
                    if (c != null) {
                        c.close();
                    }
                    return null;
                }));
            }
        }

        /** Locks in id order, as a careful application does, so transfers do not deadlock each other. */
        static void transfer(Connection c, int a, int b, int amount) throws SQLException {
            if (a == b) {
                b = (a + 1) % ACCOUNTS;
            }
            int first = Math.min(a, b);
            int second = Math.max(a, b);
            int delta = a < b ? -amount : amount; // first pays second, or the other way round
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.executeUpdate("UPDATE accounts SET balance = balance + " + delta + " WHERE id = " + first);
                s.executeUpdate("UPDATE accounts SET balance = balance - " + delta + " WHERE id = " + second);
                c.commit();
            } finally {
                try {
                    c.setAutoCommit(true);
                } catch (SQLException e) {
                    // The connection ended with the statement (9405 closes it): the statement's own
                    // error is the one counted, and the worker connects again.
                    try {
                        c.close();
                    } catch (SQLException closing) {
                        // already gone
                    }
                }
            }
        }

        void stop() throws Exception {
            stop.set(true);
            for (Future<?> f : futures) {
                f.get();
            }
            pool.shutdown();
        }
    }

    static long total(TestServer s) {
        return Long.parseLong(s.queryString("SELECT SUM(balance) FROM bank.accounts"));
    }

    static void awaitProgress(Bank bank, int more) throws Exception {
        int target = bank.done.get() + more;
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (bank.done.get() < target) {
            assertTrue(System.nanoTime() < deadline, "transfers stalled at " + bank.done.get() + "; errors " + bank.errors);
            Thread.sleep(20);
        }
    }

    @Test
    void aSwitchoverHoldsWritesInTheQueueAndLosesNothing() throws Exception {
        setUpCluster();
        try (Sluice sluice = sluice()) {
            Bank bank = new Bank(sluice, 8, Set.of(9413));
            awaitProgress(bank, 200);
            long started = System.nanoTime();
            cluster.switchover(cluster.replica(0));
            awaitProgress(bank, 1);
            long firstWriteMillis = (System.nanoTime() - started) / 1_000_000;
            awaitProgress(bank, 200);
            bank.stop();
            assertEquals(List.of(), bank.surprises, "errors other than the documented ones; all errors: " + bank.errors);
            cluster.awaitReplicated(Duration.ofSeconds(20));
            for (TestServer s : cluster.servers()) {
                assertEquals((long) ACCOUNTS * BALANCE, total(s), "the total on " + s);
            }
            System.out.printf("switchover: first transfer %d ms after it began; %d transfers, errors %s%n",
                    firstWriteMillis, bank.done.get(), bank.errors);
        }
    }

    @Test
    void aKilledPrimaryAndAPromotionLoseNoCommittedTransfer() throws Exception {
        setUpCluster();
        try (Sluice sluice = sluice()) {
            Bank bank = new Bank(sluice, 8, Set.of(9413, 9405));
            awaitProgress(bank, 200);
            cluster.crashPrimary();
            Thread.sleep(1000); // the cluster's tooling notices, then promotes
            TestServer promoted = cluster.failover();
            awaitProgress(bank, 200);
            bank.stop();
            assertEquals(List.of(), bank.surprises, "errors other than the documented ones; all errors: " + bank.errors);
            assertEquals((long) ACCOUNTS * BALANCE, total(promoted), "the total on the new primary");
            System.out.printf("failover: %d transfers, errors %s%n", bank.done.get(), bank.errors);
        }
    }

    @Test
    void aSessionModeSessionWhosePrimaryTurnsReadOnlyIsToldItsStateIsGone() throws Exception {
        setUpCluster();
        try (Sluice sluice = sluice("session", 4, "");
             Connection c = sluice.connect("bank", "bank-pw", "bank", "");
             Statement s = c.createStatement()) {
            s.execute("SET @mine = 5");
            TestServer old = cluster.primary();
            cluster.setReadOnly(old, true); // the first step of a switchover: the session's server refuses writes
            SQLException e = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class,
                    () -> s.executeUpdate("UPDATE accounts SET balance = balance WHERE id = 1"));
            assertEquals(9405, e.getErrorCode(), "not a silent move to another backend without @mine: " + e.getMessage());
        }
    }

    @Test
    void anAutocommitWriteTheOldPrimaryRefusesWaitsAndLandsOnTheNewOne() throws Exception {
        setUpCluster();
        // A slow poll, so the write reaches the old primary after it turned read-only and before
        // Sluice's monitor has seen that: the server's 1290 is what tells Sluice.
        try (Sluice sluice = sluice("transaction", 4, ", poll-interval = 1s");
             Connection c = sluice.connect("bank", "bank-pw", "bank", "");
             Statement s = c.createStatement()) {
            s.executeUpdate("UPDATE accounts SET balance = balance WHERE id = 0"); // links a backend on the primary once
            TestServer next = cluster.replica(0);
            cluster.setReadOnly(cluster.primary(), true);
            Thread promote = new Thread(() -> cluster.switchover(next));
            promote.start();
            try {
                assertEquals(1, s.executeUpdate("UPDATE accounts SET balance = balance + 1 WHERE id = 1"),
                        "the autocommit write waited for the next primary and ran there, the client none the wiser");
            } finally {
                promote.join();
            }
            assertEquals(BALANCE + 1, Long.parseLong(next.queryString("SELECT balance FROM bank.accounts WHERE id = 1")));
        }
    }
}
