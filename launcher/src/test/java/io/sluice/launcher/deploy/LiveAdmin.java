package io.sluice.launcher.deploy;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sluice.admin.AdminServer;
import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;
import io.sluice.proxy.ProxyServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ServerSocket;
import java.net.URI;

/**
 * A real Sluice (proxy and admin endpoint, both on loopback, in front of a port nobody listens on)
 * to ask whether a path is one of the admin endpoint's routes: whatever answers other than 404 (no
 * such route) and 405 (no GET there) is one. /ready answers 503 here, which still counts. Asking the
 * endpoint itself keeps the manifests' probe paths true to the code that serves them.
 */
final class LiveAdmin implements AutoCloseable {
    private final ProxyServer proxy;
    private final AdminServer admin;

    private LiveAdmin(ProxyServer proxy, AdminServer admin) {
        this.proxy = proxy;
        this.admin = admin;
    }

    static LiveAdmin start() {
        SluiceConfig config = ConfigLoader.parse("sluice {\n"
                + "  listen { host = \"127.0.0.1\", port = 0, io-threads = 1 }\n"
                + "  server { host = \"127.0.0.1\", port = " + closedPort() + ", connect-timeout = 1s }\n"
                + "  users { app { password = \"pw\" } }\n"
                + "  admin { host = \"127.0.0.1\", port = 0 }\n"
                + "}\n");
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ProxyServer proxy = new ProxyServer(config, registry).start();
        try {
            return new LiveAdmin(proxy, new AdminServer(proxy, config.admin(), registry).start());
        } catch (RuntimeException e) {
            proxy.close();
            throw e;
        }
    }

    /** The HTTP status of {@code GET path}. */
    int status(String path) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + admin.port() + path).toURL()
                    .openConnection(Proxy.NO_PROXY);
            c.setConnectTimeout(2000);
            c.setReadTimeout(5000);
            try {
                return c.getResponseCode();
            } finally {
                c.disconnect();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("GET " + path + " on the admin endpoint", e);
        }
    }

    boolean isRoute(String path) {
        int s = status(path);
        return s != 404 && s != 405;
    }

    /** A loopback port that was free a moment ago: connecting to it is refused at once. */
    static int closedPort() {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        admin.close();
        proxy.close();
    }
}
