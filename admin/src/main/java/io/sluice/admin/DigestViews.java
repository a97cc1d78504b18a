package io.sluice.admin;

import io.sluice.proxy.digest.DigestStats;
import io.sluice.proxy.digest.DigestTable;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The digests as the admin shows them: {@code GET /digests} (JSON), the top statements of
 * {@code /metrics}, and what the doctor names under genuine load. Only digest texts leave Sluice,
 * never a literal value (docs/digests.md).
 */
final class DigestViews {
    /** Statements by total time in /metrics: a bounded set of series, never one per digest. */
    static final int METRICS_TOP = 10;
    /** GET /digests?limit= when none is given, and the most it takes. */
    static final int DEFAULT_LIMIT = 20;
    static final int MAX_LIMIT = 10_000;

    private final DigestTable table;

    DigestViews(DigestTable table) {
        this.table = table;
    }

    /** The parameters of GET /digests, or why they are wrong. */
    record Query(DigestTable.Order order, int limit, String error) {
    }

    static Query query(List<String> order, List<String> limit) {
        DigestTable.Order o = DigestTable.Order.TOTAL_TIME;
        if (order != null) {
            o = DigestTable.Order.of(order.get(0));
            if (o == null) {
                return new Query(null, 0, "order must be one of " + orders() + ", got '" + order.get(0) + "'");
            }
        }
        int n = DEFAULT_LIMIT;
        if (limit != null) {
            try {
                n = Integer.parseInt(limit.get(0));
            } catch (NumberFormatException e) {
                n = -1;
            }
            if (n < 1 || n > MAX_LIMIT) {
                return new Query(null, 0, "limit must be a whole number from 1 to " + MAX_LIMIT + ", got '" + limit.get(0) + "'");
            }
        }
        return new Query(o, n, null);
    }

    private static String orders() {
        List<String> names = new ArrayList<>();
        for (DigestTable.Order o : DigestTable.Order.values()) {
            names.add(o.label());
        }
        return String.join(", ", names);
    }

    /** GET /digests: the first {@code limit} statements in {@code order}, and the table's state. */
    Map<String, Object> document(DigestTable.Order order, int limit) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("enabled", table.enabled());
        out.put("order", order.label());
        out.put("limit", limit);
        out.put("digests", table.size());
        out.put("max_digests", table.maxDigests());
        out.put("evictions", table.evictions());
        List<Map<String, Object>> statements = new ArrayList<>();
        long nowNanos = System.nanoTime();
        long nowMillis = System.currentTimeMillis();
        for (DigestStats s : table.top(order, limit)) {
            statements.add(statement(s, nowNanos, nowMillis));
        }
        out.put("statements", statements);
        return out;
    }

    private static Map<String, Object> statement(DigestStats s, long nowNanos, long nowMillis) {
        long count = s.count();
        long total = s.totalNanos();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", s.id());
        m.put("digest", s.text());
        m.put("user", s.user());
        m.put("server", s.server());
        m.put("count", count);
        m.put("errors", s.errors());
        Map<String, Long> codes = new LinkedHashMap<>();
        s.errorCodes().forEach((code, n) -> codes.put(String.valueOf(code), n));
        m.put("error_codes", codes);
        m.put("total_time_ms", millis(total));
        m.put("avg_time_ms", count == 0 ? 0.0 : millis(total / count));
        m.put("max_time_ms", millis(s.maxNanos()));
        m.put("wait_time_ms", millis(s.waitNanos()));
        m.put("rows", s.rows());
        m.put("first_seen", Instant.ofEpochMilli(s.firstSeenMillis()).toString());
        m.put("last_seen", Instant.ofEpochMilli(nowMillis - (nowNanos - s.lastSeenNanos()) / 1_000_000).toString());
        return m;
    }

    private static double millis(long nanos) {
        return Math.round(nanos / 1000.0) / 1000.0;
    }

    /** POST /digests/reset. */
    Map<String, Object> reset() {
        int had = table.size();
        table.reset();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("reset", true);
        out.put("forgotten", had);
        return out;
    }

    /**
     * Prometheus text for /metrics, appended to the registry's scrape: the table's size and
     * evictions, and the top {@link #METRICS_TOP} statements by total time, labelled by digest id,
     * user and server (GET /digests maps an id to its text). Which statements are on top changes
     * between scrapes, so they are written from the table at each scrape rather than registered as
     * Micrometer meters (which would be registered and removed per digest).
     */
    String prometheus() {
        StringBuilder b = new StringBuilder(2048);
        b.append("# HELP sluice_digests Statement digests kept (digest x user x server; sluice.digests.max-digests bounds it)\n");
        b.append("# TYPE sluice_digests gauge\n");
        b.append("sluice_digests ").append(table.size()).append('\n');
        b.append("# HELP sluice_digests_evicted_total Digests dropped, least recently seen first, to keep sluice.digests.max-digests\n");
        b.append("# TYPE sluice_digests_evicted_total counter\n");
        b.append("sluice_digests_evicted_total ").append(table.evictions()).append('\n');
        List<DigestStats> top = table.top(DigestTable.Order.TOTAL_TIME, METRICS_TOP);
        if (top.isEmpty()) {
            return b.toString();
        }
        series(b, top, "sluice_digest_time_seconds_total", "counter",
                "Time from arrival to the end of the response of the top " + METRICS_TOP + " statements by total time (GET /digests for the text)",
                s -> String.valueOf(s.totalNanos() / 1e9));
        series(b, top, "sluice_digest_statements_total", "counter",
                "Executions of the top " + METRICS_TOP + " statements by total time", s -> String.valueOf(s.count()));
        series(b, top, "sluice_digest_errors_total", "counter",
                "Errors of the top " + METRICS_TOP + " statements by total time", s -> String.valueOf(s.errors()));
        return b.toString();
    }

    private static void series(StringBuilder b, List<DigestStats> top, String name, String type, String help,
                               java.util.function.Function<DigestStats, String> value) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
        for (DigestStats s : top) {
            b.append(name).append("{digest=\"").append(s.id()).append("\",user=\"").append(label(s.user()))
                    .append("\",server=\"").append(label(s.server())).append("\"} ").append(value.apply(s)).append('\n');
        }
    }

    private static String label(String v) {
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
