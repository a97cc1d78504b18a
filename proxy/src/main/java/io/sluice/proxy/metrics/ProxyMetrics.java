package io.sluice.proxy.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.ToDoubleFunction;

/**
 * Every meter Sluice publishes, by name, in one place. Names are lowercase, dot-separated, prefixed
 * {@code sluice.}, in base units; the Prometheus registry turns them into {@code sluice_pool_acquire_seconds}
 * and so on. Per-pool meters are created once per pool and then only incremented on the hot path.
 * State names used as tag values ({@code idle}, {@code busy}, {@code opening}, {@code waiting}) are
 * the same words the admin endpoint uses.
 */
public final class ProxyMetrics {
    public static final String POOL_CONNECTIONS = "sluice.pool.connections";
    public static final String POOL_WAITING = "sluice.pool.waiting";
    public static final String POOL_MAX = "sluice.pool.max";
    public static final String POOL_ACQUIRE = "sluice.pool.acquire";
    public static final String POOL_ACQUIRE_REJECTED = "sluice.pool.acquire.rejected";
    public static final String BACKEND_CONNECTS = "sluice.backend.connects";
    public static final String BACKEND_CLOSES = "sluice.backend.closes";
    public static final String CLIENT_CONNECTIONS = "sluice.client.connections";
    public static final String CLIENT_REJECTED = "sluice.client.rejected";
    public static final String CLIENT_AUTH_FAILURES = "sluice.client.auth.failures";
    /** MySQL protocol bytes (framing included, TLS excluded) from clients ({@code direction=in}) and to them ({@code out}). */
    public static final String CLIENT_BYTES = "sluice.client.bytes";
    /** Sessions found idle in a transaction ({@code reason=in_transaction}) or idle while pinned ({@code pinned}) too long. */
    public static final String SESSION_LEAKS = "sluice.session.leaks";
    /** Sessions Sluice closed, by reason ({@code idle_in_transaction_timeout}). */
    public static final String SESSION_CLOSES = "sluice.session.closes";
    /**
     * Server-side statements prepared on backends in transaction mode: for a client's COM_STMT_PREPARE
     * ({@code reason=client}) or again, lazily, on another backend ({@code reason=reprepare}).
     */
    public static final String STATEMENT_PREPARES = "sluice.backend.statement.prepares";
    /** Backend statements closed because a backend's statement cache was full (least recently used first). */
    public static final String STATEMENT_EVICTIONS = "sluice.backend.statement.evictions";

    /** Meters of one pool, created once. */
    public final class PoolMeters {
        public final Timer acquireGranted;
        public final Counter acquireTimeout;
        public final Counter acquireQueueFull;
        public final Counter acquireUnavailable;
        public final Counter connectOk;
        public final Counter connectFailed;
        private final String pool;
        /** How many requests granted at once are in {@link #acquireGranted}; guarded by this. */
        private long grantedAtOnceRecorded;

        PoolMeters(String pool) {
            this.pool = pool;
            acquireGranted = Timer.builder(POOL_ACQUIRE).tag("pool", pool).tag("result", "granted")
                    .description("Time requests waited for a backend connection")
                    .publishPercentiles(0.5, 0.99).register(registry);
            acquireTimeout = rejected(pool, "timeout");
            acquireQueueFull = rejected(pool, "queue_full");
            acquireUnavailable = rejected(pool, "server_unavailable");
            connectOk = connects(pool, "ok");
            connectFailed = connects(pool, "failed");
        }

        private Counter rejected(String pool, String reason) {
            return Counter.builder(POOL_ACQUIRE_REJECTED).tag("pool", pool).tag("reason", reason)
                    .description("Requests for a backend connection refused, by reason").register(registry);
        }

        private Counter connects(String pool, String result) {
            return Counter.builder(BACKEND_CONNECTS).tag("pool", pool).tag("result", result)
                    .description("Backend connections opened (ok) or that failed to open or log in (failed)").register(registry);
        }

        /**
         * Brings {@link #acquireGranted} up to {@code total} requests granted at once (each found an
         * idle connection when it asked, and waited 0 s): the pool counts them under its lock and
         * they are recorded here in a batch, not one by one on the hot path.
         */
        public synchronized void grantedAtOnce(long total) {
            for (; grantedAtOnceRecorded < total; grantedAtOnceRecorded++) {
                acquireGranted.record(0, TimeUnit.NANOSECONDS);
            }
        }

        public void backendClosed(String reason) {
            Counter.builder(BACKEND_CLOSES).tag("pool", pool).tag("reason", reasonTag(reason))
                    .description("Backend connections closed, by reason").register(registry).increment();
        }

        public <T> void gauges(T pool, ToDoubleFunction<T> idle, ToDoubleFunction<T> busy, ToDoubleFunction<T> opening,
                               ToDoubleFunction<T> waiting, ToDoubleFunction<T> max) {
            String connections = "Backend connections of the pool, by state";
            io.micrometer.core.instrument.Gauge.builder(POOL_CONNECTIONS, pool, idle).tag("pool", this.pool).tag("state", "idle").description(connections).register(registry);
            io.micrometer.core.instrument.Gauge.builder(POOL_CONNECTIONS, pool, busy).tag("pool", this.pool).tag("state", "busy").description(connections).register(registry);
            io.micrometer.core.instrument.Gauge.builder(POOL_CONNECTIONS, pool, opening).tag("pool", this.pool).tag("state", "opening").description(connections).register(registry);
            io.micrometer.core.instrument.Gauge.builder(POOL_WAITING, pool, waiting).tag("pool", this.pool)
                    .description("Requests waiting in the pool's queue for a backend connection").register(registry);
            io.micrometer.core.instrument.Gauge.builder(POOL_MAX, pool, max).tag("pool", this.pool)
                    .description("Backend connections the pool may hold").register(registry);
        }
    }

    private final MeterRegistry registry;
    private final ConcurrentHashMap<String, PoolMeters> pools = new ConcurrentHashMap<>();
    private final AtomicInteger clients = new AtomicInteger();
    private final Counter clientsRejected;
    private final Counter authFailures;
    /** Incremented by every client channel's event loop; a LongAdder keeps them off one cache line. */
    private final LongAdder clientBytesIn = new LongAdder();
    private final LongAdder clientBytesOut = new LongAdder();
    private final Counter leaksInTransaction;
    private final Counter leaksPinned;
    private final Counter idleInTransactionCloses;
    private final Counter vanishedCloses;
    private final Counter clientPrepares;
    private final Counter reprepares;
    private final Counter statementEvictions;
    private final BusyPollMeters busyPoll;

    public ProxyMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.busyPoll = new BusyPollMeters(registry);
        io.micrometer.core.instrument.Gauge.builder(CLIENT_CONNECTIONS, clients, AtomicInteger::get)
                .description("Client connections open").register(registry);
        clientsRejected = Counter.builder(CLIENT_REJECTED).tag("reason", "max_clients")
                .description("Client connections refused at connect").register(registry);
        authFailures = Counter.builder(CLIENT_AUTH_FAILURES).description("Client logins refused (wrong user or password)").register(registry);
        String bytes = "MySQL protocol bytes between clients and Sluice (framing included, TLS excluded)";
        FunctionCounter.builder(CLIENT_BYTES, clientBytesIn, LongAdder::sum).tag("direction", "in")
                .baseUnit("bytes").description(bytes).register(registry);
        FunctionCounter.builder(CLIENT_BYTES, clientBytesOut, LongAdder::sum).tag("direction", "out")
                .baseUnit("bytes").description(bytes).register(registry);
        String leaks = "Sessions idle in a transaction or idle while pinned longer than sluice.frontend.leak-warning-after, "
                + "each counted once per idle stretch";
        leaksInTransaction = Counter.builder(SESSION_LEAKS).tag("reason", "in_transaction").description(leaks).register(registry);
        leaksPinned = Counter.builder(SESSION_LEAKS).tag("reason", "pinned").description(leaks).register(registry);
        idleInTransactionCloses = Counter.builder(SESSION_CLOSES).tag("reason", "idle_in_transaction_timeout")
                .description("Client sessions Sluice closed, by reason").register(registry);
        vanishedCloses = Counter.builder(SESSION_CLOSES).tag("reason", "client_vanished")
                .description("Client sessions Sluice closed, by reason").register(registry);
        String prepares = "Server-side statements prepared on backends (transaction mode), for a client's prepare or again on another backend";
        clientPrepares = Counter.builder(STATEMENT_PREPARES).tag("reason", "client").description(prepares).register(registry);
        reprepares = Counter.builder(STATEMENT_PREPARES).tag("reason", "reprepare").description(prepares).register(registry);
        statementEvictions = Counter.builder(STATEMENT_EVICTIONS)
                .description("Backend statements closed because the backend's cache was full (sluice.pool.statement-cache)").register(registry);
    }

    /** Metrics that go nowhere but still count (tests, and Sluice without an admin endpoint). */
    public static ProxyMetrics standalone() {
        return new ProxyMetrics(new SimpleMeterRegistry());
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** For the event loops' busy polling ({@code sluice.listen.busy-poll}). */
    public BusyPollMeters busyPoll() {
        return busyPoll;
    }

    public PoolMeters pool(String name) {
        return pools.computeIfAbsent(name, PoolMeters::new);
    }

    public AtomicInteger clients() {
        return clients;
    }

    public void clientRejected() {
        clientsRejected.increment();
    }

    public void authFailed() {
        authFailures.increment();
    }

    /** Bytes read from clients: add to it from any event loop, allocation-free. */
    public LongAdder clientBytesIn() {
        return clientBytesIn;
    }

    /** Bytes written to clients: add to it from any event loop, allocation-free. */
    public LongAdder clientBytesOut() {
        return clientBytesOut;
    }

    /** A session was found idle too long: inside a transaction, or (not in one) while pinned. */
    public void sessionLeak(boolean inTransaction) {
        (inTransaction ? leaksInTransaction : leaksPinned).increment();
    }

    /** A session was closed for idling in a transaction past sluice.frontend.idle-in-transaction-timeout. */
    public void idleInTransactionClosed() {
        idleInTransactionCloses.increment();
    }

    /** A client's socket closed mid-command without COM_QUIT; its backend was discarded. */
    public void sessionVanished() {
        vanishedCloses.increment();
    }

    /** How many clients vanished mid-command. */
    public double sessionsVanished() {
        return vanishedCloses.count();
    }

    /** A client's COM_STMT_PREPARE was prepared on a backend (transaction mode). */
    public void clientPrepared() {
        clientPrepares.increment();
    }

    /** A client's statement was prepared again, on a backend that did not have it. */
    public void reprepared() {
        reprepares.increment();
    }

    /** A backend's statement cache closed its least recently used statement. */
    public void statementEvicted() {
        statementEvictions.increment();
    }

    public static void record(Timer t, long startNanos) {
        t.record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
    }

    /** Close reasons become a small set of tag values (first word, lower case), never free text. */
    static String reasonTag(String reason) {
        if (reason == null) {
            return "unknown";
        }
        String r = reason.toLowerCase(java.util.Locale.ROOT);
        if (r.startsWith("idle timeout")) return "idle_timeout";
        if (r.startsWith("max lifetime")) return "max_lifetime";
        if (r.startsWith("server closed")) return "server_closed";
        if (r.startsWith("reset")) return "reset_failed";
        if (r.startsWith("evicted")) return "evicted";
        if (r.startsWith("rebalanced")) return "rebalanced";
        if (r.startsWith("rekeyed")) return "rekeyed";
        if (r.startsWith("discarded")) return "discarded";
        if (r.startsWith("shutdown")) return "shutdown";
        if (r.startsWith("validation")) return "validation_failed";
        return "other";
    }
}
