package io.sluice.launcher;

import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * The text {@code sluice demo} prints after both runs: the settings, the side-by-side table and
 * where to look next. Row labels are stable (DemoCommandIT reads the table by label).
 */
final class DemoReport {
    static final String CLIENTS_FINISHED = "clients that finished";
    static final String ERRORS_1040 = "errors: 1040 Too many connections";
    static final String ERRORS_OTHER = "errors: other";
    static final String QUERIES = "queries completed";
    static final String PEAK = "server connections at peak (sampled)";
    static final String LOGINS = "server logins (connections opened)";
    static final String TIME = "time for the whole burst";
    private static final String ROW = "  %-38s %14s %16s%n";
    /** With replicas: the heading of the per-server table, whose rows are server, role, Sluice's role, Com_select, Com_insert. */
    static final String SERVERS_HEADING = "What each server ran during the run through Sluice, by its own counters";
    private static final String SERVER_ROW = "  %-21s  %-26s  %-11s  %10s  %10s%n";

    private DemoReport() {
    }

    /** The report; {@code keepRunning}: Sluice stays up after it, so the URLs work as printed. */
    static String render(Demo.Outcome o, boolean keepRunning) {
        Burst burst = o.settings().burst();
        Burst.Result d = o.direct();
        Burst.Result s = o.throughSluice();
        StringBuilder b = new StringBuilder();
        boolean cluster = !o.servers().isEmpty();
        if (burst.writers() == 0) {
            b.append(String.format("%nThe same burst, twice: %d clients at once, each connecting, running %d x SELECT SLEEP(%s)"
                    + " and disconnecting.%n", burst.clients(), burst.queries(), burst.queryMillis() / 1000.0));
        } else {
            b.append(String.format("%nThe same burst, twice: %d clients at once, each connecting, running %d queries and disconnecting:"
                    + "%n%d of them read a row (SELECT v, SLEEP(%s) FROM %s WHERE id = ...), %d insert one (INSERT INTO %s).%n",
                    burst.clients(), burst.queries(), burst.clients() - burst.writers(), burst.queryMillis() / 1000.0, Burst.TABLE,
                    burst.writers(), Burst.INSERT_TABLE));
        }
        if (cluster) {
            b.append(String.format("  servers %s: a primary and %d GTID replica(s), max_connections = %d each (throwaway);%n"
                    + "          direct, every client connects to the primary, as an application without Sluice would%n",
                    o.serverVersion(), o.servers().size() - 1, o.settings().maxConnections()));
        } else {
            b.append(String.format("  server  %s, max_connections = %d (throwaway)%n", o.serverVersion(), o.settings().maxConnections()));
        }
        b.append(String.format("  Sluice  127.0.0.1:%d, %s%n%n", o.sluicePort(), o.sluiceSettings()));
        b.append(String.format(ROW, "", "direct", "through Sluice"));
        row(b, CLIENTS_FINISHED, d, s, r -> r.clientsFinished() + " of " + r.clients());
        row(b, ERRORS_1040, d, s, r -> Integer.toString(r.tooManyConnections()));
        row(b, ERRORS_OTHER, d, s, r -> Integer.toString(r.otherErrors()));
        row(b, QUERIES, d, s, r -> Long.toString(r.queries()));
        row(b, PEAK, d, s, r -> Integer.toString(r.peakServerConnections()));
        row(b, LOGINS, d, s, r -> Long.toString(r.serverLogins()));
        row(b, TIME, d, s, r -> String.format(Locale.ROOT, "%.1f s", r.elapsed().toMillis() / 1000.0));
        b.append(System.lineSeparator());
        for (Burst.Result r : List.of(d, s)) {
            for (String e : r.errorSamples()) {
                b.append(String.format("  %s, other error: %s%n", r.label(), e));
            }
        }

        if (d.tooManyConnections() > 0) {
            b.append(String.format("Direct, %d of %d clients got ERROR 1040: every one of the %s's %d connection slots was taken.%n",
                    d.tooManyConnections(), d.clients(), cluster ? "primary" : "server", o.settings().maxConnections()));
        } else {
            b.append(String.format("Direct, no client got ERROR 1040 this time: the burst never held more than %d connections at once"
                    + " (try more --clients or a longer --query-ms).%n", d.peakServerConnections()));
        }
        if (s.errors() == 0 && cluster) {
            b.append(String.format("Through Sluice, all %d clients finished on at most %d server connections per server: a client that"
                    + "%nfound the pool busy waited in Sluice's queue (up to acquire-timeout) instead of being refused. In transaction"
                    + "%nmode a client holds a server connection only while a statement or transaction runs.%n",
                    s.clients(), o.settings().poolSize()));
        } else if (s.errors() == 0) {
            b.append(String.format("Through Sluice, all %d clients finished on at most %d server connections: a client that found the pool"
                    + "%nbusy waited in Sluice's queue (up to acquire-timeout) instead of being refused. In session mode a client"
                    + "%nholds a server connection from its first query until it disconnects, so short connections share the pool.%n",
                    s.clients(), o.settings().poolSize()));
        }
        if (s.errors() == 0) {
            if (d.tooManyConnections() > 0 && s.elapsed().compareTo(d.elapsed()) > 0) {
                b.append(String.format(Locale.ROOT, "It took longer (%.1f s against %.1f s) because all %d clients' queries ran, %d connections"
                        + " at a time, while%n%d of them simply failed direct.%n", s.elapsed().toMillis() / 1000.0,
                        d.elapsed().toMillis() / 1000.0, s.clients(), o.settings().poolSize(), d.tooManyConnections()));
            }
        } else {
            b.append(String.format("Through Sluice, %d client(s) failed: see the errors above; a 9401 means the queue wait passed"
                    + " acquire-timeout (raise --acquire-timeout or --pool-size).%n", s.errors()));
        }
        o.sluiceView().ifPresent(v -> b.append(String.format("Sluice's own account (GET /stats): %s.%n", v)));
        if (cluster) {
            servers(b, o);
        }

        b.append(keepRunning ? String.format("%nWhere to look next:%n")
                : String.format("%nWhere to look next (while Sluice runs: add --keep-running to keep it up after the burst):%n"));
        for (String route : Demo.routesToShow(o.dashboard())) {
            b.append(String.format("  http://127.0.0.1:%d%-10s %s%n", o.adminPort(), route, describe(route)));
        }
        b.append(String.format("In front of your own server: SLUICE_USER=app SLUICE_PASSWORD=... java -jar sluice.jar --server HOST:3306,%n"
                + "then point the application at port 6033; the same admin routes are on http://127.0.0.1:6034.%n"));
        return b.toString();
    }

    /**
     * Per server: its role as it says itself and as Sluice's monitor sees it, and the growth of its
     * Com_select and Com_insert over the run through Sluice, with what else those counters count.
     */
    private static void servers(StringBuilder b, Demo.Outcome o) {
        Burst burst = o.settings().burst();
        b.append(String.format("%n%s (SHOW GLOBAL STATUS, growth over that run):%n", SERVERS_HEADING));
        b.append(String.format(SERVER_ROW, "server", "role (as the server says)", "Sluice sees", "Com_select", "Com_insert"));
        long replicaSelects = 0;
        for (Demo.ServerCounts c : o.servers()) {
            b.append(String.format(SERVER_ROW, c.address(), c.role(), c.sluiceRole(), c.selects(), c.inserts()));
            if (!c.role().equals("primary")) {
                replicaSelects += c.selects();
            }
        }
        b.append(String.format("The burst sent %d reads and %d inserts through Sluice. These counters are the servers' own, so they"
                + "%ncount more than the burst: Connector/J runs one SELECT as each client logs in, Sluice one or two on each"
                + "%nserver connection it opens (its login values, the server's limits) and its cluster monitor one on each"
                + "%nserver every poll-interval (500 ms, the default). A replica counts in Com_insert each INSERT it applies"
                + "%nfrom the primary's binary log (one per statement, binlog_format=ROW), so a replica whose Com_insert equals"
                + "%nthe primary's ran no insert of its own (the replicas are read_only: a write sent there would fail, 1290).%n",
                burst.reads(), burst.inserts()));
        b.append(String.format("The replicas together counted %d SELECTs against the burst's %d reads:%n%s%n", replicaSelects, burst.reads(),
                replicaSelects >= burst.reads() / 2
                        ? "Sluice sent most reads to the replicas (read/write split)."
                        : "the reads ran on the primary; the replicas saw little more than the monitor's polls."));
    }

    private static String describe(String route) {
        return switch (route) {
            case "/" -> "dashboard";
            case "/sessions" -> "Sluice's processlist: each client, its state, the server connection it holds";
            case "/stats" -> "per pool: max, busy, idle, waiting, acquires, timeouts, server logins";
            case "/metrics" -> "Prometheus metrics";
            default -> "";
        };
    }

    private static void row(StringBuilder b, String label, Burst.Result d, Burst.Result s, Function<Burst.Result, String> value) {
        b.append(String.format(ROW, label, value.apply(d), value.apply(s)));
    }
}
