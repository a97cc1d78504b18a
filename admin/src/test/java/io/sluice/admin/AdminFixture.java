package io.sluice.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;
import io.sluice.proxy.ProxyServer;
import io.sluice.testkit.TestServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Sluice started in-process in front of the shared test server, with its admin endpoint on a free
 * port and a Prometheus registry as the launcher wires it; plus an HTTP client and JDBC helpers.
 */
final class AdminFixture implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    final TestServer server;
    final ProxyServer proxy;
    final AdminServer admin;
    final PrometheusMeterRegistry registry;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private AdminFixture(TestServer server, ProxyServer proxy, AdminServer admin, PrometheusMeterRegistry registry) {
        this.server = server;
        this.proxy = proxy;
        this.admin = admin;
        this.registry = registry;
    }

    /**
     * The config text every test starts from: loopback listener and admin on free ports, the test
     * server, and session pool mode, in which a connected client holds a backend the tests can
     * count and pause around (tests of transaction mode set it).
     */
    static String base(TestServer server) {
        return "sluice.listen { host = \"127.0.0.1\", port = 0, io-threads = 2 }\n"
                + "sluice.pool.mode = session\n"
                + "sluice.server { host = \"" + server.host() + "\", port = " + server.port() + " }\n"
                + "sluice.admin { host = \"127.0.0.1\", port = 0 }\n";
    }

    /** Starts Sluice with {@code hocon} over {@link #base}; no reload source (POST /reload answers 501). */
    static AdminFixture start(TestServer server, String hocon) {
        return start(server, ConfigLoader.parse(base(server) + hocon), null);
    }

    static AdminFixture start(TestServer server, SluiceConfig config, Supplier<SluiceConfig> reloadSource) {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ProxyServer proxy = new ProxyServer(config, registry).start();
        try {
            AdminServer admin = new AdminServer(proxy, config.admin(), registry, reloadSource).start();
            return new AdminFixture(server, proxy, admin, registry);
        } catch (RuntimeException e) {
            proxy.close();
            throw e;
        }
    }

    String url(String path) {
        return "http://127.0.0.1:" + admin.port() + path;
    }

    record Reply(int status, String body, HttpHeaders headers) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON (" + status + "): " + body, e);
            }
        }
    }

    Reply get(String path) {
        return send(HttpRequest.newBuilder(URI.create(url(path))).GET(), null);
    }

    Reply get(String path, String token) {
        return send(HttpRequest.newBuilder(URI.create(url(path))).GET(), token);
    }

    Reply post(String path) {
        return post(path, null);
    }

    Reply post(String path, String token) {
        return send(HttpRequest.newBuilder(URI.create(url(path))).POST(HttpRequest.BodyPublishers.noBody()), token);
    }

    Reply send(HttpRequest.Builder req, String token) {
        if (token != null) {
            req.header("Authorization", "Bearer " + token);
        }
        try {
            HttpResponse<String> r = http.send(req.timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body(), r.headers());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Polls {@code path} until its JSON satisfies {@code until}; fails with the last document after {@code timeout}. */
    JsonNode await(String path, Predicate<JsonNode> until, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode last;
        do {
            last = get(path).json();
            if (until.test(last)) {
                return last;
            }
            Thread.sleep(25);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("GET " + path + " never matched within " + timeout + "; last:\n" + last.toPrettyString());
    }

    /** The pool object named {@code name} from a /stats document. */
    static JsonNode pool(JsonNode stats, String name) {
        for (JsonNode p : stats.path("pools")) {
            if (p.path("name").asText().equals(name)) {
                return p;
            }
        }
        throw new AssertionError("no pool " + name + " in " + stats.toPrettyString());
    }

    /** The session objects of {@code user} in state {@code state} from a /sessions document. */
    static java.util.List<JsonNode> sessions(JsonNode sessions, String user, String state) {
        java.util.List<JsonNode> out = new java.util.ArrayList<>();
        for (JsonNode s : sessions) {
            if (s.path("user").asText().equals(user) && (state == null || s.path("state").asText().equals(state))) {
                out.add(s);
            }
        }
        return out;
    }

    /** A Connector/J connection through Sluice whose connect attributes name {@code program}. */
    Connection connect(String user, String password, String program) throws SQLException {
        return DriverManager.getConnection("jdbc:mysql://127.0.0.1:" + proxy.port()
                + "/?useSSL=false&allowPublicKeyRetrieval=true&connectTimeout=10000&socketTimeout=60000"
                + "&connectionAttributes=program_name:" + program, user, password);
    }

    @Override
    public void close() {
        try {
            admin.close();
        } finally {
            proxy.close();
        }
    }
}
