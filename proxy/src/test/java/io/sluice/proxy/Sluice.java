package io.sluice.proxy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;
import io.sluice.testkit.TestServer;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/**
 * A Sluice proxy started in-process in front of a test server, for integration tests. The config is
 * HOCON layered over a base that points at the server and listens on a free port.
 */
public final class Sluice implements AutoCloseable {
    public final TestServer server;
    public final ProxyServer proxy;

    private Sluice(TestServer server, ProxyServer proxy) {
        this.server = server;
        this.proxy = proxy;
    }

    /**
     * Starts Sluice in front of {@code server}; {@code hocon} adds to or overrides the base config.
     * {@code -Dsluice.test.transport=epoll} (or io-uring, nio) runs the tests on that transport instead of auto's pick.
     */
    public static Sluice start(TestServer server, String hocon) {
        String base = "sluice.listen { host = \"127.0.0.1\", port = 0, io-threads = 2, transport = "
                + System.getProperty("sluice.test.transport", "auto") + " }\n"
                + "sluice.server { host = \"" + server.host() + "\", port = " + server.port() + " }\n"
                + "sluice.admin.enabled = false\n";
        SluiceConfig config = ConfigLoader.parse(base + hocon);
        return new Sluice(server, new ProxyServer(config, new SimpleMeterRegistry()).start());
    }

    /**
     * Starts Sluice in front of every server of {@code cluster} ({@code sluice.servers}, each through
     * the cluster's relay when {@code viaRelays}, so a test can cut one); {@code hocon} adds to the base.
     * {@link #server} is the primary at start.
     */
    public static Sluice startCluster(io.sluice.testkit.TestCluster cluster, boolean viaRelays, String hocon) {
        StringBuilder servers = new StringBuilder();
        for (TestServer s : cluster.servers()) {
            servers.append(servers.length() == 0 ? "" : ", ").append('"').append(s.host()).append(':')
                    .append(viaRelays ? cluster.relayPort(s) : s.port()).append('"');
        }
        String base = "sluice.listen { host = \"127.0.0.1\", port = 0, io-threads = 2, transport = "
                + System.getProperty("sluice.test.transport", "auto") + " }\n"
                + "sluice.servers = [" + servers + "]\n"
                + "sluice.cluster.poll-interval = 200ms\n"
                + "sluice.admin.enabled = false\n";
        SluiceConfig config = ConfigLoader.parse(base + hocon);
        Sluice sluice = new Sluice(cluster.primary(), new ProxyServer(config, new SimpleMeterRegistry()).start());
        // A replica a little behind at the first poll has no known lag until a later poll sees it
        // catch up: give it a few polls, so a test's first read finds a readable replica if any.
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() < deadline
                && sluice.proxy.cluster().topology().servers().stream().noneMatch(v -> v.readable())) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return sluice;
    }

    public int port() {
        return proxy.port();
    }

    /** A Connector/J URL through Sluice. */
    public String url(String db, String params) {
        return "jdbc:mysql://127.0.0.1:" + port() + "/" + (db == null ? "" : db)
                + "?useSSL=false&allowPublicKeyRetrieval=true&connectTimeout=10000" + (params == null || params.isEmpty() ? "" : "&" + params);
    }

    public Connection connect(String user, String password) throws SQLException {
        return DriverManager.getConnection(url(null, ""), user, password);
    }

    public Connection connect(String user, String password, String db, String params) throws SQLException {
        return DriverManager.getConnection(url(db, params), user, password);
    }

    @Override
    public void close() {
        proxy.close();
    }
}
