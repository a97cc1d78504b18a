package io.sluice.launcher;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One burst of {@code sluice demo}: {@code clients} Connector/J clients released at the same
 * instant, each connecting, running {@code queries} short queries and disconnecting, while a root
 * connection samples the server's processlist for the burst user's connections. Blocking JDBC on
 * plain threads: this is the client side, never an event loop.
 *
 * <p>With {@code writers} 0 every query is {@code SELECT SLEEP(...)}. Else (the cluster demo) the
 * burst mixes reads and writes: {@code writers} of the clients each run {@code queries} single-row
 * {@link #INSERT}s, the others {@code queries} reads of one row of {@link #TABLE} that also sleep
 * {@code queryMillis} on the server; the tables must exist and the user may read and insert.
 *
 * @param clients  how many clients start at once
 * @param queries  queries per client
 * @param queryMillis how long each query (each read, with writers) takes on the server ({@code SLEEP(...)})
 * @param writers  how many of the clients insert instead of reading; 0 = every client runs {@code SELECT SLEEP}
 */
record Burst(int clients, int queries, int queryMillis, int writers) {
    /** The rows the readers read (id 1 to {@link #ROWS}), with writers. */
    static final String TABLE = "sluice_demo.items";
    /** Where the writers insert, with writers. */
    static final String INSERT_TABLE = "sluice_demo.events";
    static final int ROWS = 10;
    static final String INSERT = "INSERT INTO " + INSERT_TABLE + " (client, query) VALUES (%d, %d)";
    /** How long a client may wait for anything: far above the demo's acquire timeout, so Sluice's own errors show. */
    private static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration SAMPLE_EVERY = Duration.ofMillis(5);
    static final int TOO_MANY_CONNECTIONS = 1040;

    Burst {
        if (writers < 0 || writers > clients) {
            throw new IllegalArgumentException("writers must be 0.." + clients + ", got " + writers);
        }
    }

    /** Every client runs {@code SELECT SLEEP}: the one-server demo. */
    Burst(int clients, int queries, int queryMillis) {
        this(clients, queries, queryMillis, 0);
    }

    /** Whether client {@code i} (0-based) inserts: every one in {@code clients / writers}, spread over the burst. */
    boolean writes(int i) {
        return writers > 0 && (i + 1) * (long) writers / clients != (long) i * writers / clients;
    }

    /** Reads the burst runs in all: {@code queries} per reading client. */
    long reads() {
        return (long) (writers == 0 ? clients : clients - writers) * queries;
    }

    /** Inserts the burst runs in all. */
    long inserts() {
        return (long) writers * queries;
    }

    /** Query {@code q} of client {@code i}. */
    String sql(int i, int q) {
        String sleep = "SLEEP(" + queryMillis / 1000.0 + ")";
        if (writers == 0) {
            return "SELECT " + sleep;
        }
        return writes(i) ? String.format(java.util.Locale.ROOT, INSERT, i, q)
                : "SELECT v, " + sleep + " FROM " + TABLE + " WHERE id = " + (i % ROWS + 1);
    }

    /**
     * Where the burst connects and as whom; {@code jdbcUrl} has no parameters. {@code direct}: the
     * clients' connections are the server's (else a proxy's, which opens its own).
     */
    record Target(String label, String jdbcUrl, String user, String password, boolean direct) {
    }

    /**
     * What one burst did.
     *
     * @param clientsFinished    clients that ran every query and disconnected cleanly
     * @param tooManyConnections clients refused with ERROR 1040
     * @param otherErrors        clients that failed any other way
     * @param errorSamples       the first few of those other errors, as "code: message"
     * @param peakServerConnections the most connections of the burst user the server had at one sample
     * @param serverLogins       connections the server opened for the burst: direct, the clients' successful
     *                           connects; through a proxy, the growth of the server's Connections counter (all
     *                           of them succeed under the pool cap). Not the counter in both cases: for
     *                           refused connections MariaDB counts some and not others.
     */
    record Result(String label, int clients, int clientsFinished, int tooManyConnections, int otherErrors,
                  List<String> errorSamples, long queries, int peakServerConnections, long serverLogins, Duration elapsed) {
        int errors() {
            return tooManyConnections + otherErrors;
        }
    }

    /** The server as root sees it: processlist and status counters, on one held connection. */
    interface ServerView extends AutoCloseable {
        int connectionsOf(String user) throws SQLException;

        long connectionAttempts() throws SQLException;

        @Override
        void close() throws SQLException;
    }

    /** Runs the burst against {@code target} and waits for every client; {@code server} is sampled meanwhile. */
    Result run(Target target, ServerView server) throws SQLException, InterruptedException {
        AtomicInteger finished = new AtomicInteger();
        AtomicInteger connected = new AtomicInteger();
        AtomicInteger tooMany = new AtomicInteger();
        AtomicInteger other = new AtomicInteger();
        AtomicLong completedQueries = new AtomicLong();
        List<String> samples = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch go = new CountDownLatch(1);
        long loginsBefore = server.connectionAttempts();

        ExecutorService pool = Executors.newFixedThreadPool(clients, r -> {
            Thread t = new Thread(r, "sluice-demo-client");
            t.setDaemon(true);
            return t;
        });
        List<Future<?>> futures = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            int client = i;
            futures.add(pool.submit(() -> {
                go.await();
                try (Connection c = DriverManager.getConnection(target.jdbcUrl(), properties(target));
                     Statement s = c.createStatement()) {
                    connected.incrementAndGet();
                    for (int q = 0; q < queries; q++) {
                        String sql = sql(client, q);
                        if (writes(client)) {
                            s.executeUpdate(sql);
                        } else {
                            try (ResultSet rs = s.executeQuery(sql)) {
                                rs.next();
                            }
                        }
                        completedQueries.incrementAndGet();
                    }
                    finished.incrementAndGet();
                } catch (SQLException e) {
                    if (isTooManyConnections(e)) {
                        tooMany.incrementAndGet();
                    } else {
                        other.incrementAndGet();
                        if (samples.size() < 3) {
                            samples.add(e.getErrorCode() + ": " + e.getMessage());
                        }
                    }
                }
                return null;
            }));
        }

        AtomicBoolean sampling = new AtomicBoolean(true);
        AtomicInteger peak = new AtomicInteger();
        AtomicBoolean samplerFailed = new AtomicBoolean();
        Thread sampler = new Thread(() -> {
            while (sampling.get()) {
                try {
                    peak.accumulateAndGet(server.connectionsOf(target.user()), Math::max);
                    Thread.sleep(SAMPLE_EVERY.toMillis());
                } catch (SQLException e) {
                    samplerFailed.set(true);
                    return;
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "sluice-demo-sampler");
        sampler.setDaemon(true);
        sampler.start();

        long started = System.nanoTime();
        go.countDown();
        try {
            for (Future<?> f : futures) {
                try {
                    f.get(CLIENT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    other.incrementAndGet();
                    samples.add("client did not finish: " + e);
                }
            }
        } finally {
            pool.shutdownNow();
        }
        Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
        sampling.set(false);
        sampler.join();
        if (samplerFailed.get()) {
            throw new SQLException("lost the root connection that samples the server's processlist");
        }
        long logins = target.direct() ? connected.get() : server.connectionAttempts() - loginsBefore;
        return new Result(target.label(), clients, finished.get(), tooMany.get(), other.get(), List.copyOf(samples),
                completedQueries.get(), peak.get(), logins, elapsed);
    }

    private static Properties properties(Target target) {
        Properties p = new Properties();
        p.setProperty("user", target.user());
        p.setProperty("password", target.password());
        p.setProperty("useSSL", "false");
        p.setProperty("allowPublicKeyRetrieval", "true");
        p.setProperty("connectTimeout", Long.toString(CLIENT_TIMEOUT.toMillis()));
        p.setProperty("socketTimeout", Long.toString(CLIENT_TIMEOUT.toMillis()));
        p.setProperty("connectionAttributes", "program_name:sluice-demo");
        return p;
    }

    /** ERROR 1040, however the driver wraps it (it arrives instead of the server's handshake). */
    static boolean isTooManyConnections(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s && s.getErrorCode() == TOO_MANY_CONNECTIONS) {
                return true;
            }
            if (t.getMessage() != null && t.getMessage().contains("Too many connections")) {
                return true;
            }
        }
        return false;
    }
}
