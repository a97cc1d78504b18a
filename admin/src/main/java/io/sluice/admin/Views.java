package io.sluice.admin;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import io.sluice.proxy.ProxyServer;
import io.sluice.proxy.cluster.Cluster;
import io.sluice.proxy.cluster.ServerView;
import io.sluice.proxy.cluster.Topology;
import io.sluice.proxy.metrics.ProxyMetrics;
import io.sluice.proxy.pool.BackendPools;
import io.sluice.proxy.pool.PoolSnapshot;
import io.sluice.proxy.session.ClientSession;
import io.sluice.proxy.session.SessionSnapshot;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * JSON views of Sluice's state, built from snapshots. Field names are snake_case, and state names
 * are the metric tag values ({@code idle}, {@code busy}, {@code waiting}, ...), as PgBouncer's SHOW
 * columns are its list names. Sessions are read through their {@link SessionSnapshot}, taken from
 * another thread than the session's own: each field a recent value, not one consistent instant.
 */
final class Views {
    /** A failed backend open this recent, with none succeeding since, makes the server "unreachable". */
    static final long UNREACHABLE_WINDOW_MILLIS = 10_000;

    private final ProxyServer proxy;

    Views(ProxyServer proxy) {
        this.proxy = proxy;
    }

    /** The statements that took the most time (a GET /digests document), for the doctor to name under genuine load. */
    Map<String, Object> topStatements() {
        return new DigestViews(proxy.digests()).document(io.sluice.proxy.digest.DigestTable.Order.TOTAL_TIME, 5);
    }

    /** GET /ready: what a load balancer or Kubernetes needs, and why it is not ready. */
    record Readiness(boolean ready, boolean serverReached, Map<String, Object> body) {
    }

    Readiness readiness() {
        boolean reached = proxy.connector().serverInfo().learned();
        boolean accepting = proxy.accepting();
        boolean paused = proxy.pools().paused();
        String failing = failingPool(proxy.pools().snapshot());
        boolean reachable = reached && failing == null;
        List<String> reasons = new ArrayList<>();
        if (!accepting) {
            reasons.add("draining: Sluice is shutting down and accepts no new clients");
        }
        if (paused) {
            reasons.add("paused: no backend connection is handed out until POST /resume");
        }
        if (!reached) {
            reasons.add("server " + proxy.connector().address() + " not reached since startup");
        } else if (failing != null) {
            reasons.add("server " + proxy.connector().address() + " unreachable: " + failing);
        }
        Cluster cluster = proxy.cluster();
        if (cluster != null) {
            Topology t = cluster.topology();
            reached = t.servers().stream().anyMatch(ServerView::up);
            reachable = reached;
            reasons.removeIf(r -> r.startsWith("server "));
            if (!reached) {
                reasons.add("no server of sluice.servers answers: " + t.describe());
            } else if (!t.hasPrimary()) {
                // Still ready: reads are served, and writes wait in the queue for a primary to appear.
                reasons.add("writes wait: " + t.why());
            }
        }
        boolean ready = accepting && !paused && reachable;
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("ready", ready);
        body.put("accepting", accepting);
        body.put("paused", paused);
        body.put("server_reachable", reachable);
        if (cluster != null) {
            Topology t = cluster.topology();
            body.put("primary", t.hasPrimary() ? t.server(t.primary()).address() : null);
        }
        body.put("reasons", reasons);
        return new Readiness(ready, reached, body);
    }

    /** The first pool whose last backend open failed recently, described; null when none. */
    private static String failingPool(List<PoolSnapshot> pools) {
        long now = System.currentTimeMillis();
        for (PoolSnapshot p : pools) {
            if (p.connectFailuresInARow() > 0 && now - p.lastConnectFailureMillis() < UNREACHABLE_WINDOW_MILLIS) {
                return "pool '" + p.name() + "': " + p.connectFailuresInARow() + " failed opens in a row, last: "
                        + p.lastConnectError();
            }
        }
        return null;
    }

    Map<String, Object> stats() {
        Map<String, Object> out = new LinkedHashMap<>();
        var info = proxy.connector().serverInfo();
        Map<String, Object> server = new LinkedHashMap<>();
        server.put("address", proxy.connector().address());
        server.put("version", info.version());
        server.put("reached", info.learned());
        out.put("server", server);
        out.put("server_limits", limits(proxy.pools()));
        if (proxy.cluster() != null) {
            out.put("cluster", cluster(proxy.cluster()));
        }
        out.put("transport", proxy.transportName());
        out.put("busy_poll", proxy.busyPollInEffect());
        out.put("accepting", proxy.accepting());
        out.put("paused", proxy.pools().paused());
        out.put("clients", proxy.metrics().clients().get());
        Map<String, Integer> byUser = new TreeMap<>();
        Map<String, Integer> byHost = new TreeMap<>();
        Map<String, Integer> byState = new TreeMap<>();
        for (ClientSession session : proxy.sessions().all()) {
            SessionSnapshot s = session.snapshot();
            byUser.merge(s.user(), 1, Integer::sum);
            byHost.merge(s.clientHost(), 1, Integer::sum);
            byState.merge(stateName(s), 1, Integer::sum);
        }
        out.put("clients_by_user", byUser);
        out.put("clients_by_host", byHost);
        out.put("sessions_by_state", byState);
        out.put("backend_connections", proxy.pools().total());
        out.put("global_max", proxy.pools().config().globalMax());
        out.put("backend_cap", backendCap());
        List<Map<String, Object>> pools = new ArrayList<>();
        proxy.pools().flushMeters();
        List<PoolSnapshot> snapshot = proxy.pools().snapshot();
        for (PoolSnapshot p : snapshot) {
            pools.add(pool(p));
        }
        out.put("pools", pools);
        out.put("errors", errors(snapshot));
        if (proxy.accounts() != null) {
            out.put("server_accounts", serverAccounts(proxy.accounts()));
        }
        return out;
    }

    /** sluice.auth.source = server: the accounts learned from the server and the lookups; never a hash. */
    private static Map<String, Object> serverAccounts(io.sluice.proxy.frontend.ServerAccounts accounts) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("lookup_user", accounts.lookupUser());
        out.put("lookups", accounts.lookups());
        out.put("lookup_failures", accounts.lookupFailures());
        out.put("rate_limited", accounts.rateLimited());
        out.put("dropped_after_refused_login", accounts.invalidations());
        out.put("unknown_cached", accounts.unknownCached());
        List<Map<String, Object>> learned = new ArrayList<>();
        for (var v : accounts.learnedAccounts()) {
            Map<String, Object> a = new LinkedHashMap<>();
            a.put("name", v.name());
            a.put("host", v.host());
            a.put("plugin", v.plugin());
            a.put("locked", v.locked());
            a.put("password_expired", v.expired());
            a.put("max_user_connections", v.maxUserConnections());
            a.put("learned_at", v.learnedAt().toString());
            a.put("expires_at", v.expiresAt().toString());
            learned.add(a);
        }
        out.put("accounts", learned);
        return out;
    }

    /** What Sluice learned of a server's limits and load; null until a backend has read them. */
    private static Map<String, Object> limits(BackendPools pools) {
        var limits = pools.limits();
        if (limits == null) {
            return null; // read by the first backend connection
        }
        Map<String, Object> l = new LinkedHashMap<>();
        l.put("max_connections", limits.maxConnections());
        l.put("max_user_connections", limits.maxUserConnections());
        l.put("account_max_user_connections", limits.accountLimit() < 0 ? null : limits.accountLimit());
        l.put("open_files_limit", limits.openFilesLimit());
        l.put("wait_timeout_s", limits.waitTimeoutSeconds());
        l.put("read_at", java.time.Instant.ofEpochMilli(limits.readAtMillis()).toString());
        l.put("backend_cap", limits.effectiveCap());
        l.put("reasoning", limits.reasoning());
        long threads = pools.threadsConnected();
        long maxUsed = pools.maxUsedConnections();
        l.put("threads_connected", threads < 0 ? null : threads);
        l.put("max_used_connections", maxUsed < 0 ? null : maxUsed);
        int adaptive = pools.adaptiveCap();
        l.put("adaptive_cap", adaptive == Integer.MAX_VALUE ? null : adaptive);
        return l;
    }

    /** Each server of the cluster: role, health, lag, position, why it takes no reads, its limits and pools. */
    private Map<String, Object> cluster(Cluster cluster) {
        Topology t = cluster.topology();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("primary", t.hasPrimary() ? t.server(t.primary()).address() : null);
        out.put("why", t.why().isEmpty() ? null : t.why());
        List<Map<String, Object>> servers = new ArrayList<>();
        for (ServerView v : t.servers()) {
            BackendPools pools = cluster.pools(v.index());
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("address", v.address());
            s.put("role", v.role().name().toLowerCase(Locale.ROOT));
            s.put("up", v.up());
            s.put("readable", v.readable());
            s.put("writable", v.writable());
            s.put("replicating", v.replicating());
            s.put("lag_ms", v.lagNanos() < 0 ? null : round(v.lagNanos() / 1e6));
            s.put("gtid_position", v.position().toString());
            s.put("weight", v.member().weight());
            s.put("why", v.why().isEmpty() ? null : v.why());
            s.put("backend_connections", pools.total());
            s.put("server_limits", limits(pools));
            pools.flushMeters();
            List<Map<String, Object>> p = new ArrayList<>();
            for (PoolSnapshot snap : pools.snapshot()) {
                p.add(pool(snap));
            }
            s.put("pools", p);
            servers.add(s);
        }
        out.put("servers", servers);
        return out;
    }

    /**
     * The most backend connections Sluice opens now: global-max, lowered to the cap derived from the
     * server's limits and to what adaptive sharing leaves.
     */
    private int backendCap() {
        int cap = proxy.pools().config().globalMax();
        var limits = proxy.pools().limits();
        if (limits != null) {
            cap = Math.min(cap, limits.effectiveCap());
        }
        return Math.min(cap, proxy.pools().adaptiveCap());
    }

    /**
     * Errors since start, as counts: pool rejections by reason (summed over pools), client logins
     * refused for a wrong user or password, clients refused by a limit (by reason), and failed
     * backend opens. The same counters /metrics exports.
     */
    private Map<String, Object> errors(List<PoolSnapshot> pools) {
        long timeout = 0;
        long queueFull = 0;
        long unavailable = 0;
        long connectFailures = 0;
        for (PoolSnapshot p : pools) {
            timeout += p.timeouts();
            queueFull += p.queueFull();
            unavailable += p.unavailable();
            connectFailures += p.connectFailures();
        }
        Map<String, Object> rejected = new LinkedHashMap<>();
        rejected.put("timeout", timeout);
        rejected.put("queue_full", queueFull);
        rejected.put("server_unavailable", unavailable);
        var registry = proxy.metrics().registry();
        Map<String, Long> clients = new TreeMap<>();
        for (Counter c : registry.find(ProxyMetrics.CLIENT_REJECTED).counters()) {
            clients.merge(String.valueOf(c.getId().getTag("reason")), (long) c.count(), Long::sum);
        }
        Counter auth = registry.find(ProxyMetrics.CLIENT_AUTH_FAILURES).counter();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("acquire_rejected", rejected);
        out.put("auth_failures", auth == null ? 0 : (long) auth.count());
        out.put("clients_rejected", clients);
        out.put("backend_connect_failures", connectFailures);
        return out;
    }

    /**
     * One sample for {@code GET /stats/history}: what the dashboard charts, without the per-session
     * walk of {@link #stats()}. Error counts are totals since start; a chart takes differences.
     */
    Map<String, Object> sample() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("t", System.currentTimeMillis());
        out.put("clients", proxy.metrics().clients().get());
        out.put("backend_connections", proxy.pools().total());
        out.put("backend_cap", backendCap());
        long threads = proxy.pools().threadsConnected();
        out.put("threads_connected", threads < 0 ? null : threads);
        proxy.pools().flushMeters();
        List<PoolSnapshot> snapshot = proxy.pools().snapshot();
        List<Map<String, Object>> pools = new ArrayList<>();
        for (PoolSnapshot p : snapshot) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", p.name());
            m.put("max", p.max());
            m.put("busy", p.busy());
            m.put("idle", p.idle());
            m.put("waiting", p.waiting());
            HistogramSnapshot h = proxy.metrics().pool(p.name()).acquireGranted.takeSnapshot();
            Map<String, Object> wait = percentiles(h);
            m.put("wait_p50_ms", wait.get("p50"));
            m.put("wait_p99_ms", wait.get("p99"));
            pools.add(m);
        }
        out.put("pools", pools);
        out.put("errors", errors(snapshot));
        return out;
    }

    private Map<String, Object> pool(PoolSnapshot p) {
        var meters = proxy.metrics().pool(p.name());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", p.name());
        m.put("max", p.max());
        m.put("busy", p.busy());
        m.put("idle", p.idle());
        m.put("opening", p.opening());
        m.put("waiting", p.waiting());
        m.put("oldest_wait_ms", p.oldestWaitMillis());
        m.put("acquires", p.acquires());
        m.put("timeouts", p.timeouts());
        Map<String, Object> rejections = new LinkedHashMap<>();
        rejections.put("timeout", p.timeouts());
        rejections.put("queue_full", p.queueFull());
        rejections.put("server_unavailable", p.unavailable());
        m.put("rejections", rejections);
        HistogramSnapshot h = meters.acquireGranted.takeSnapshot();
        Map<String, Object> wait = percentiles(h);
        wait.put("max", round(h.max(TimeUnit.MILLISECONDS)));
        wait.put("count", h.count());
        m.put("acquire_wait_ms", wait);
        Map<String, Object> backend = new LinkedHashMap<>();
        backend.put("connects", p.connects());
        backend.put("connect_failures", p.connectFailures());
        backend.put("failures_in_a_row", p.connectFailuresInARow());
        backend.put("last_connect_error", p.lastConnectError());
        m.put("backend", backend);
        return m;
    }

    /** p50, p99, ... in milliseconds. */
    private static Map<String, Object> percentiles(HistogramSnapshot h) {
        Map<String, Object> wait = new LinkedHashMap<>();
        double max = h.max(TimeUnit.MILLISECONDS);
        for (ValueAtPercentile v : h.percentileValues()) {
            // Micrometer's percentiles are bucket approximations and may overshoot the true max
            // seen in the same decaying window; no wait was longer than that max.
            double value = v.value(TimeUnit.MILLISECONDS);
            wait.put("p" + Math.round(v.percentile() * 100), round(max > 0 ? Math.min(value, max) : value));
        }
        return wait;
    }

    private static double round(double millis) {
        return Math.round(millis * 1000) / 1000.0;
    }

    /**
     * @param state only sessions in this state, or null for all
     * @param limit at most this many, lowest ids first
     */
    List<Map<String, Object>> sessions(String state, int limit) {
        List<ClientSession> all = new ArrayList<>(proxy.sessions().all());
        all.sort(Comparator.comparingLong(ClientSession::id));
        List<Map<String, Object>> out = new ArrayList<>(Math.min(all.size(), limit));
        for (ClientSession session : all) {
            if (out.size() >= limit) {
                break;
            }
            SessionSnapshot s = session.snapshot();
            if (state == null || stateName(s).equals(state)) {
                out.add(session(s));
            }
        }
        return out;
    }

    Map<String, Object> session(ClientSession s) {
        return session(s.snapshot());
    }

    Map<String, Object> session(SessionSnapshot s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", s.id());
        m.put("user", s.user());
        m.put("client", s.clientHost());
        m.put("client_port", s.clientPort());
        m.put("program_name", s.programName());
        m.put("state", stateName(s));
        // Why a transaction-mode session keeps its backend between statements ("transaction",
        // "temporary_tables", ...); read from another thread, so a snapshot that may be a moment old.
        m.put("pins", s.pins().stream().map(io.sluice.proxy.session.Pin::label).toList());
        m.put("mode", s.mode().name().toLowerCase(Locale.ROOT));
        m.put("schema", s.schema());
        m.put("connected_s", (System.currentTimeMillis() - s.connectedAtMillis()) / 1000);
        if (s.route() != null) { // with sluice.servers: the server of the last unit of work, and why it went there
            m.put("route", Map.of("server", String.valueOf(s.route().server()), "reason", s.route().reason()));
        }
        SessionSnapshot.Backend b = s.backend();
        if (b == null) {
            m.put("backend", null);
            m.put("in_transaction", false);
        } else {
            Map<String, Object> backend = new LinkedHashMap<>();
            backend.put("id", b.id());
            backend.put("thread_id", b.threadId());
            backend.put("pool", b.pool());
            m.put("backend", backend);
            // The server's own word, from the status flags of its last OK/EOF on this backend.
            m.put("in_transaction", b.inTransaction());
        }
        // Since the command that opened the transaction (by the server's in-transaction flag at the
        // end of each response); null outside a transaction.
        long tx = s.transactionNanos();
        m.put("transaction_ms", tx < 0 ? null : tx / 1_000_000);
        long ns = s.commandNanos();
        m.put("command", s.command() == null ? null : s.command().name());
        m.put("command_ms", ns < 0 ? null : ns / 1_000_000);
        long idle = s.idleNanos();
        m.put("idle_ms", idle < 0 ? null : idle / 1_000_000);
        // The incident signal: a transaction left open while the client does nothing (it holds its
        // backend, and the rows it locked, meanwhile); null unless idle inside a transaction.
        m.put("idle_in_transaction_ms", idle < 0 || tx < 0 ? null : idle / 1_000_000);
        String statement = s.statementHead();
        m.put("statement", statement.isEmpty() ? null : statement);
        return m;
    }

    /** The session state as a tag value: the enum's name in lower case, so new states need no change here. */
    static String stateName(SessionSnapshot s) {
        return s.state().name().toLowerCase(Locale.ROOT);
    }
}
