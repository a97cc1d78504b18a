package io.sluice.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sluice.admin.AdminServer;
import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;
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
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The work of {@code sluice demo}: a throwaway local server with a small max_connections, Sluice
 * in-process in front of it (proxy and admin endpoint on loopback), and the same {@link Burst}
 * run twice, direct and through Sluice. {@link #close} stops Sluice and the server and deletes the
 * server's directory; a JVM stopped by Ctrl-C or TERM gets the same from localdb's shutdown hook.
 *
 * <p>Used from the command's thread only.
 */
final class Demo implements AutoCloseable {
    static final String USER = "demo";
    private static final String DIR_PREFIX = "sluice-demo-";

    /**
     * What to run.
     *
     * @param poolSize        Sluice's max-per-user and global-max: the server never sees more from Sluice
     * @param acquireTimeout  HOCON duration a client may wait in Sluice's queue, e.g. "30s"
     * @param listenPort      Sluice's client port on 127.0.0.1; 0 = any free port
     * @param adminPort       its admin port on 127.0.0.1; 0 = any free port
     */
    record Settings(Path binary, int maxConnections, Burst burst, int poolSize, String acquireTimeout,
                    int listenPort, int adminPort) {
    }

    /** Both runs, and what the server and Sluice were. */
    record Outcome(Settings settings, String serverVersion, Path serverDir, int sluicePort, int adminPort,
                   String sluiceSettings, Burst.Result direct, Burst.Result throughSluice, Optional<String> sluiceView,
                   boolean dashboard) {
    }

    private final Settings settings;
    private final PrintWriter out;
    private final String password = randomPassword();
    private LocalServer server;
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

    private void startSluice() {
        String hocon = "sluice {\n"
                + "  listen { host = \"127.0.0.1\", port = " + settings.listenPort() + " }\n"
                + "  server { host = \"" + server.host() + "\", port = " + server.port() + " }\n"
                + "  pool { mode = session, max-per-user = " + settings.poolSize() + ", global-max = " + settings.poolSize()
                + ", acquire-timeout = \"" + settings.acquireTimeout().replace("\"", "") + "\" }\n"
                + "  users { " + USER + " { password = \"" + password + "\" } }\n"
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
        try (RootView view = new RootView(rootConnection())) {
            out.printf("Run 1 of 2: %d clients at once, direct to the server ...%n", burst.clients());
            out.flush();
            direct = burst.run(new Burst.Target("direct", "jdbc:mysql://" + server.host() + ":" + server.port() + "/",
                    USER, password, true), view);
            awaitNoConnections(view);
            out.printf("Run 2 of 2: the same %d clients through Sluice ...%n", burst.clients());
            out.flush();
            through = burst.run(new Burst.Target("through Sluice", "jdbc:mysql://127.0.0.1:" + proxy.port() + "/",
                    USER, password, false), view);
        }
        String sluiceSettings = "pool mode session, pool size " + config.pool().maxPerUser()
                + " (max-per-user = global-max = " + config.pool().globalMax() + "), acquire-timeout "
                + settings.acquireTimeout() + ", max-waiters " + config.pool().maxWaiters();
        return new Outcome(settings, serverVersion(), server.baseDir(), proxy.port(), admin.port(), sluiceSettings,
                direct, through, sluiceView(), answers("/"));
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

    Path serverDir() {
        return server.baseDir();
    }

    private String serverVersion() throws SQLException {
        try (Connection c = rootConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT VERSION()")) {
            rs.next();
            return (server.isMariaDb() ? "MariaDB " : "MySQL ") + rs.getString(1);
        }
    }

    private Connection rootConnection() throws SQLException {
        return DriverManager.getConnection("jdbc:mysql://" + server.host() + ":" + server.port()
                + "/?useSSL=false&allowPublicKeyRetrieval=true&connectTimeout=5000", server.rootUser(), server.rootPassword());
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
        if (server != null) {
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

    /** Root's view on one held connection (it counts against max_connections like any other). */
    private static final class RootView implements Burst.ServerView {
        private final Connection connection;
        private final PreparedStatement count;
        private final PreparedStatement attempts;

        RootView(Connection connection) throws SQLException {
            this.connection = connection;
            this.count = connection.prepareStatement("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?");
            this.attempts = connection.prepareStatement("SHOW GLOBAL STATUS LIKE 'Connections'");
        }

        @Override
        public synchronized int connectionsOf(String user) throws SQLException {
            count.setString(1, user);
            try (ResultSet rs = count.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }

        @Override
        public synchronized long connectionAttempts() throws SQLException {
            try (ResultSet rs = attempts.executeQuery()) {
                rs.next();
                return rs.getLong(2);
            }
        }

        @Override
        public void close() throws SQLException {
            connection.close();
        }
    }

    static List<String> routesToShow(boolean dashboard) {
        return dashboard ? List.of("/", "/sessions", "/stats", "/metrics") : List.of("/sessions", "/stats", "/metrics");
    }
}
