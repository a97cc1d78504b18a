package io.sluice.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sluice.admin.AdminServer;
import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;
import io.sluice.localdb.LocalCluster;
import io.sluice.localdb.LocalServer;
import io.sluice.proxy.ProxyServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.HttpURLConnection;
import java.net.Proxy;
import java.net.URI;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The work of {@code sluice demo}: a throwaway local server with a small max_connections, Sluice
 * in-process in front of it (proxy and admin endpoint on loopback), and the same {@link Burst}
 * run twice, direct and through Sluice. {@link #close} stops Sluice and the server and deletes the
 * server's directory; a JVM stopped by Ctrl-C or TERM gets the same from localdb's shutdown hook.
 *
 * <p>With {@link Settings#replicas()} at least 1: a {@link LocalCluster} (a MariaDB primary and that
 * many GTID replicas, each with that max_connections) instead of one server, Sluice in transaction
 * mode with every server in {@code sluice.servers}, a burst of reads and inserts (direct, all of it
 * goes to the primary, as an application without Sluice sends it), and for the run through Sluice
 * each server's role and its own statement counters ({@code Com_select}, {@code Com_insert}).
 *
 * <p>Used from the command's thread only.
 */
final class Demo implements AutoCloseable {
    static final String USER = "demo";
    /** With replicas: the front-end user whose server account Sluice's cluster monitor polls with (not the burst's). */
    static final String MONITOR_USER = "sluice_monitor";
    private static final String DIR_PREFIX = "sluice-demo-";
    private static final Duration REPLICATION_WAIT = Duration.ofSeconds(30);

    /**
     * What to run.
     *
     * @param poolSize        Sluice's max-per-user and global-max: the server never sees more from Sluice
     * @param acquireTimeout  HOCON duration a client may wait in Sluice's queue, e.g. "30s"
     * @param listenPort      Sluice's client port on 127.0.0.1; 0 = any free port
     * @param adminPort       its admin port on 127.0.0.1; 0 = any free port
     * @param replicas        0: one server; else a primary and this many replicas
     */
    record Settings(Path binary, int maxConnections, Burst burst, int poolSize, String acquireTimeout,
                    int listenPort, int adminPort, int replicas) {
    }

    /**
     * One server of the cluster during the run through Sluice, from its own counters.
     *
     * @param role       what the server says it is: "primary", or "replica of HOST:PORT" ({@code SHOW SLAVE STATUS})
     * @param sluiceRole what Sluice's monitor made of it (GET /stats, cluster.servers[].role), "?" if not known
     * @param selects    growth of its {@code Com_select} over the run
     * @param inserts    growth of its {@code Com_insert} over the run, once every replica applied the primary's writes
     */
    record ServerCounts(String address, String role, String sluiceRole, long selects, long inserts) {
    }

    /** Both runs, and what the server and Sluice were. */
    record Outcome(Settings settings, String serverVersion, Path serverDir, int sluicePort, int adminPort,
                   String sluiceSettings, Burst.Result direct, Burst.Result throughSluice, Optional<String> sluiceView,
                   boolean dashboard, List<ServerCounts> servers) {
    }

    private final Settings settings;
    private final PrintWriter out;
    private final String password = randomPassword();
    /** The one server; with replicas, the cluster's primary. */
    private LocalServer server;
    /** With replicas; else null. */
    private LocalCluster cluster;
    private ProxyServer proxy;
    private AdminServer admin;
    private SluiceConfig config;

    private Demo(Settings settings, PrintWriter out) {
        this.settings = settings;
        this.out = out;
    }

    /**
     * Starts the server (printing progress to {@code out}) and Sluice in front of it.
     *
     * @throws IllegalStateException when the server cannot start; the message ends with its log
     * @throws io.sluice.config.ConfigException when the settings make no valid Sluice config (a bad acquire timeout)
     */
    static Demo start(Settings settings, PrintWriter out) throws SQLException {
        Demo demo = new Demo(settings, out);
        try {
            demo.startServer();
            demo.startSluice();
            return demo;
        } catch (RuntimeException | SQLException e) {
            demo.close();
            throw e;
        }
    }

    private void startServer() throws SQLException {
        if (settings.replicas() > 0) {
            startCluster();
            return;
        }
        out.printf("Starting a throwaway server: %s, max_connections = %d, in a new directory under %s%n",
                settings.binary(), settings.maxConnections(), System.getProperty("java.io.tmpdir"));
        out.flush();
        server = LocalServer.start(LocalServer.Options.defaults()
                .withBinary(settings.binary())
                .withMaxConnections(settings.maxConnections())
                .withRootPassword(randomPassword())
                .withDirPrefix(DIR_PREFIX));
        try (Connection c = rootConnection(); Statement s = c.createStatement()) {
            // No privileges needed: the burst runs SELECT SLEEP(...). '%' matches 127.0.0.1 under skip-name-resolve.
            s.execute("CREATE USER '" + USER + "'@'%' IDENTIFIED BY '" + LocalServer.sqlString(password) + "'");
        }
        out.printf("Server ready: %s on %s:%d (directory %s; deleted when the demo ends)%n",
                serverVersion(), server.host(), server.port(), server.baseDir());
        out.flush();
    }

    /**
     * A primary and its replicas, in parallel; on the primary (replicated to all) the burst's user,
     * which may read and insert in {@code sluice_demo}, its tables, and the monitor's account.
     */
    private void startCluster() throws SQLException {
        out.printf("Starting a throwaway MariaDB primary and %d GTID replica(s) side by side: %s, max_connections = %d each,"
                        + " in new directories under %s%n", settings.replicas(), settings.binary(), settings.maxConnections(),
                System.getProperty("java.io.tmpdir"));
        out.flush();
        cluster = LocalCluster.start(settings.replicas(), LocalServer.Options.defaults()
                .withBinary(settings.binary())
                .withMaxConnections(settings.maxConnections())
                .withRootPassword(randomPassword())
                .withDirPrefix(DIR_PREFIX));
        server = cluster.primary();
        try (Connection c = rootConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE USER '" + USER + "'@'%' IDENTIFIED BY '" + LocalServer.sqlString(password) + "'");
            s.execute("CREATE USER '" + MONITOR_USER + "'@'%' IDENTIFIED BY '" + LocalServer.sqlString(password) + "'");
            s.execute("CREATE DATABASE sluice_demo");
            s.execute("CREATE TABLE " + Burst.TABLE + " (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)");
            s.execute("CREATE TABLE " + Burst.INSERT_TABLE
                    + " (id BIGINT AUTO_INCREMENT PRIMARY KEY, client INT NOT NULL, query INT NOT NULL)");
            for (int id = 1; id <= Burst.ROWS; id++) {
                s.execute("INSERT INTO " + Burst.TABLE + " VALUES (" + id + ", 'row " + id + "')");
            }
            // No READ ONLY ADMIN: a write that reached a read-only replica would fail (1290), not pass unseen.
            s.execute("GRANT SELECT, INSERT ON sluice_demo.* TO '" + USER + "'@'%'");
        }
        cluster.awaitReplicated(REPLICATION_WAIT);
        out.printf("Cluster ready: %s, replicating with GTIDs (every directory is deleted when the demo ends)%n", serverVersion());
        for (LocalServer s : cluster.servers()) {
            out.printf("  %-8s %s:%d (directory %s; deleted when the demo ends)%n", s == server ? "primary" : "replica",
                    s.host(), s.port(), s.baseDir());
        }
        out.flush();
    }

    private void startSluice() {
        String pool = "  pool { mode = " + (cluster == null ? "session" : "transaction") + ", max-per-user = " + settings.poolSize()
                + ", global-max = " + settings.poolSize()
                + ", acquire-timeout = \"" + settings.acquireTimeout().replace("\"", "") + "\" }\n";
        String servers = cluster == null
                ? "  server { host = \"" + server.host() + "\", port = " + server.port() + " }\n"
                : "  servers = [" + cluster.servers().stream().map(s -> "\"" + s.host() + ":" + s.port() + "\"")
                        .collect(Collectors.joining(", ")) + "]\n"
                        + "  cluster { monitor-user = " + MONITOR_USER + " }\n";
        String users = cluster == null
                ? "  users { " + USER + " { password = \"" + password + "\" } }\n"
                : "  users { " + USER + " { password = \"" + password + "\" }, " + MONITOR_USER + " { password = \"" + password + "\" } }\n";
        String hocon = "sluice {\n"
                + "  listen { host = \"127.0.0.1\", port = " + settings.listenPort() + " }\n"
                + servers
                + pool
                + users
                + "  admin { host = \"127.0.0.1\", port = " + settings.adminPort() + " }\n"
                + "}\n";
        config = ConfigLoader.parse(hocon);
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        proxy = new ProxyServer(config, registry).start();
        admin = new AdminServer(proxy, config.admin(), registry).start();
    }

    /** Runs the burst direct, then through Sluice. */
    Outcome run() throws SQLException, InterruptedException {
        Burst burst = settings.burst();
        Burst.Result direct;
        Burst.Result through;
        List<ServerCounts> counts = List.of();
        try (RootView view = new RootView(rootConnections())) {
            out.printf("Run 1 of 2: %d clients at once, direct to the %s ...%n", burst.clients(), cluster == null ? "server" : "primary");
            out.flush();
            direct = burst.run(new Burst.Target("direct", "jdbc:mysql://" + server.host() + ":" + server.port() + "/",
                    USER, password, true), view);
            awaitNoConnections(view);
            out.printf("Run 2 of 2: the same %d clients through Sluice ...%n", burst.clients());
            out.flush();
            long[][] before = cluster == null ? null : view.counters();
            through = burst.run(new Burst.Target("through Sluice", "jdbc:mysql://127.0.0.1:" + proxy.port() + "/",
                    USER, password, false), view);
            if (cluster != null) {
                view.awaitReplicated(REPLICATION_WAIT);
                long[][] after = view.counters();
                Map<String, String> sluiceRoles = sluiceRoles();
                List<ServerCounts> list = new ArrayList<>();
                for (int i = 0; i < after.length; i++) {
                    LocalServer s = cluster.servers().get(i);
                    String address = s.host() + ":" + s.port();
                    list.add(new ServerCounts(address, view.role(i), sluiceRoles.getOrDefault(address, "?"),
                            after[i][0] - before[i][0], after[i][1] - before[i][1]));
                }
                counts = List.copyOf(list);
            }
        }
        String sluiceSettings = "pool mode " + config.pool().mode().name().toLowerCase(java.util.Locale.ROOT)
                + ", pool size " + config.pool().maxPerUser()
                + " (max-per-user = global-max = " + config.pool().globalMax() + "), acquire-timeout "
                + settings.acquireTimeout() + ", max-waiters " + config.pool().maxWaiters();
        return new Outcome(settings, serverVersion(), server.baseDir(), proxy.port(), admin.port(), sluiceSettings,
                direct, through, sluiceView(), answers("/"), counts);
    }

    /** Each server's role as Sluice's monitor sees it, by "host:port", from {@code GET /stats}; empty if not there. */
    private Map<String, String> sluiceRoles() {
        Map<String, String> roles = new HashMap<>();
        try {
            for (JsonNode s : new ObjectMapper().readTree(get("/stats")).path("cluster").path("servers")) {
                roles.put(s.path("address").asText(), s.path("role").asText("?"));
            }
        } catch (IOException e) {
            // the report then says "?"
        }
        return roles;
    }

    /** The next run should not see the first one's connections, which the server reaps asynchronously. */
    private static void awaitNoConnections(RootView view) throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (view.connectionsOf(USER) > 0 && System.nanoTime() - deadline < 0) {
            Thread.sleep(20);
        }
    }

    /** One line of Sluice's own account, from {@code GET /stats}: what an operator would look at. */
    private Optional<String> sluiceView() {
        try {
            JsonNode stats = new ObjectMapper().readTree(get("/stats"));
            for (JsonNode pool : stats.path("pools")) {
                if (USER.equals(pool.path("name").asText())) {
                    List<String> parts = new java.util.ArrayList<>();
                    field(parts, "max %s", pool, "max");
                    field(parts, "acquires %s", pool, "acquires");
                    field(parts, "timeouts %s", pool, "timeouts");
                    field(parts, "longest wait in the queue %.0f ms", pool, "acquire_wait_ms/max");
                    field(parts, "server logins %s", pool, "backend/connects", "connects");
                    field(parts, "idle now %s", pool, "idle");
                    return Optional.of("pool " + USER + ": " + String.join(", ", parts));
                }
            }
            return Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Adds {@code format} filled with the first of {@code paths} ("a/b" = field b of object a) that
     * {@code node} has; the /stats document grows with Sluice, so a missing field is left out.
     */
    private static void field(List<String> parts, String format, JsonNode node, String... paths) {
        for (String path : paths) {
            JsonNode n = node;
            for (String part : path.split("/")) {
                n = n.path(part);
            }
            if (n.isValueNode()) {
                parts.add(String.format(java.util.Locale.ROOT, format, format.contains("%.") ? n.asDouble() : n.asText()));
                return;
            }
        }
    }

    /** Whether the admin endpoint serves {@code path} (200), e.g. the dashboard at "/". */
    private boolean answers(String path) {
        try {
            HttpURLConnection c = open(path);
            try {
                return c.getResponseCode() == 200;
            } finally {
                c.disconnect();
            }
        } catch (IOException e) {
            return false;
        }
    }

    private byte[] get(String path) throws IOException {
        HttpURLConnection c = open(path);
        try (InputStream in = c.getInputStream()) {
            return in.readAllBytes();
        } finally {
            c.disconnect();
        }
    }

    private HttpURLConnection open(String path) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + admin.port() + path).toURL()
                .openConnection(Proxy.NO_PROXY);
        c.setConnectTimeout(2000);
        c.setReadTimeout(5000);
        return c;
    }

    /** Sluice's client port, for {@code --keep-running}. */
    int sluicePort() {
        return proxy.port();
    }

    String password() {
        return password;
    }

    /** The server's directory; with replicas, every server's, comma-separated. */
    String serverDir() {
        List<LocalServer> all = cluster == null ? List.of(server) : cluster.servers();
        return all.stream().map(s -> s.baseDir().toString()).collect(Collectors.joining(", "));
    }

    private String serverVersion() throws SQLException {
        try (Connection c = rootConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT VERSION()")) {
            rs.next();
            return (server.isMariaDb() ? "MariaDB " : "MySQL ") + rs.getString(1);
        }
    }

    private Connection rootConnection() throws SQLException {
        return rootConnection(server);
    }

    private static Connection rootConnection(LocalServer s) throws SQLException {
        return DriverManager.getConnection("jdbc:mysql://" + s.host() + ":" + s.port()
                + "/?useSSL=false&allowPublicKeyRetrieval=true&connectTimeout=5000", s.rootUser(), s.rootPassword());
    }

    /** One root connection per server, the primary first; closed by the caller (RootView). */
    private List<Connection> rootConnections() throws SQLException {
        List<Connection> connections = new ArrayList<>();
        try {
            for (LocalServer s : cluster == null ? List.of(server) : cluster.servers()) {
                connections.add(rootConnection(s));
            }
            return connections;
        } catch (SQLException e) {
            for (Connection c : connections) {
                c.close();
            }
            throw e;
        }
    }

    /** Stops Sluice, then the server, and deletes the server's directory. Idempotent; also called from a shutdown hook. */
    @Override
    public synchronized void close() {
        if (admin != null) {
            admin.close();
            admin = null;
        }
        if (proxy != null) {
            proxy.close();
            proxy = null;
        }
        if (cluster != null) {
            cluster.close();
        } else if (server != null) {
            server.close();
        }
    }

    private static String randomPassword() {
        SecureRandom random = new SecureRandom();
        String alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        StringBuilder sb = new StringBuilder("demo-");
        for (int i = 0; i < 12; i++) {
            sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return sb.toString();
    }

    /**
     * Root's view on one held connection per server (each counts against max_connections like any
     * other): the burst user's connections and the servers' connection attempts, summed over the
     * servers. Only SHOW statements, so that the servers' Com_select counts the burst and Sluice alone.
     */
    private static final class RootView implements Burst.ServerView {
        private final List<Connection> connections;
        private final List<Statement> statements = new ArrayList<>();

        RootView(List<Connection> connections) throws SQLException {
            this.connections = connections;
            try {
                for (Connection c : connections) {
                    statements.add(c.createStatement());
                }
            } catch (SQLException e) {
                close();
                throw e;
            }
        }

        @Override
        public synchronized int connectionsOf(String user) throws SQLException {
            int count = 0;
            for (Statement s : statements) {
                try (ResultSet rs = s.executeQuery("SHOW PROCESSLIST")) {
                    while (rs.next()) {
                        if (user.equals(rs.getString("User"))) {
                            count++;
                        }
                    }
                }
            }
            return count;
        }

        @Override
        public synchronized long connectionAttempts() throws SQLException {
            long sum = 0;
            for (Statement s : statements) {
                sum += Long.parseLong(show(s, "SHOW GLOBAL STATUS LIKE 'Connections'"));
            }
            return sum;
        }

        /** Per server, {Com_select, Com_insert}. */
        synchronized long[][] counters() throws SQLException {
            long[][] counters = new long[statements.size()][];
            for (int i = 0; i < counters.length; i++) {
                Statement s = statements.get(i);
                counters[i] = new long[] {Long.parseLong(show(s, "SHOW GLOBAL STATUS LIKE 'Com_select'")),
                        Long.parseLong(show(s, "SHOW GLOBAL STATUS LIKE 'Com_insert'"))};
            }
            return counters;
        }

        /**
         * Waits until every other server has applied what the first (the primary) has in its binary
         * log; SHOW VARIABLES, not MASTER_GTID_WAIT, so that the wait adds nothing to Com_select.
         */
        synchronized void awaitReplicated(Duration timeout) throws SQLException, InterruptedException {
            String position = show(statements.get(0), "SHOW GLOBAL VARIABLES LIKE 'gtid_binlog_pos'");
            long deadline = System.nanoTime() + timeout.toNanos();
            for (Statement replica : statements.subList(1, statements.size())) {
                String applied;
                while (!position.equals(applied = show(replica, "SHOW GLOBAL VARIABLES LIKE 'gtid_slave_pos'"))) {
                    if (System.nanoTime() - deadline > 0) {
                        throw new SQLException("a replica has not applied the primary's " + position + " after "
                                + timeout.toSeconds() + " s (it is at " + applied + ")");
                    }
                    Thread.sleep(20);
                }
            }
        }

        /** Server {@code i}'s role as it says itself: "primary", or "replica of HOST:PORT". */
        synchronized String role(int i) throws SQLException {
            try (ResultSet rs = statements.get(i).executeQuery("SHOW SLAVE STATUS")) {
                return rs.next() ? "replica of " + rs.getString("Master_Host") + ":" + rs.getString("Master_Port") : "primary";
            }
        }

        /** The second column of a SHOW ... LIKE statement's one row. */
        private static String show(Statement s, String sql) throws SQLException {
            try (ResultSet rs = s.executeQuery(sql)) {
                if (!rs.next()) {
                    throw new SQLException("no row for " + sql);
                }
                return rs.getString(2);
            }
        }

        @Override
        public void close() throws SQLException {
            SQLException first = null;
            for (Connection c : connections) {
                try {
                    c.close();
                } catch (SQLException e) {
                    first = first == null ? e : first;
                }
            }
            if (first != null) {
                throw first;
            }
        }
    }

    static List<String> routesToShow(boolean dashboard) {
        return dashboard ? List.of("/", "/sessions", "/stats", "/metrics") : List.of("/sessions", "/stats", "/metrics");
    }
}
