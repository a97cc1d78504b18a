package io.sluice.launcher;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The image's HEALTHCHECK against a stand-in admin endpoint: exit codes, the one line it prints, the token. */
class HealthCheckTest {
    private HttpServer http;
    private final AtomicReference<String> authorization = new AtomicReference<>();
    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();

    @BeforeEach
    void start() throws IOException {
        http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        http.createContext("/health", ex -> {
            authorization.set(ex.getRequestHeaders().getFirst("Authorization"));
            reply(ex, 200, "{\n  \"status\" : \"up\"\n}");
        });
        http.createContext("/ready", ex -> reply(ex, 503, "{\"ready\": false}"));
        http.createContext("/moved", ex -> {
            ex.getResponseHeaders().add("Location", "/health");
            reply(ex, 302, "");
        });
        http.start();
    }

    @AfterEach
    void stop() {
        http.stop(0);
    }

    private static void reply(com.sun.net.httpserver.HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }

    private int run(Map<String, String> env, String... args) {
        return HealthCheck.run(args, env::get, new PrintStream(printed, true, StandardCharsets.UTF_8));
    }

    private String printed() {
        return printed.toString(StandardCharsets.UTF_8);
    }

    private String url(String path) {
        return "http://127.0.0.1:" + http.getAddress().getPort() + path;
    }

    @Test
    void healthyOn2xxWithTheBodyOnOneLine() {
        assertEquals(0, run(Map.of(), url("/health")));
        assertEquals("healthy: " + url("/health") + " answered 200 { \"status\" : \"up\" }\n", printed());
        assertNull(authorization.get(), "no token asked for, none sent");
    }

    @Test
    void unhealthyOnAnErrorStatusARedirectOrNoAnswer() throws IOException {
        assertEquals(1, run(Map.of(), url("/ready")));
        assertTrue(printed().startsWith("unhealthy: " + url("/ready") + " answered 503"), printed());
        assertEquals(1, run(Map.of(), url("/moved")), "redirects are not followed");
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        assertEquals(1, run(Map.of(), "http://127.0.0.1:" + closed + "/health"));
        assertTrue(printed().contains("Connection refused"), printed());
    }

    @Test
    void sendsTheTokenFromTheNamedVariableWhenSet() {
        assertEquals(0, run(Map.of("SLUICE_ADMIN_TOKEN", "s3cret"), "--token-env", "SLUICE_ADMIN_TOKEN", url("/health")));
        assertEquals("Bearer s3cret", authorization.get());
        assertEquals(0, run(Map.of(), "--token-env", "SLUICE_ADMIN_TOKEN", url("/health")));
        assertNull(authorization.get(), "unset variable: no header");
        assertEquals(0, run(Map.of("SLUICE_ADMIN_TOKEN", ""), "--token-env", "SLUICE_ADMIN_TOKEN", url("/health")));
        assertNull(authorization.get(), "empty variable: no header");
    }

    @Test
    void usageErrorsAreUnhealthyNotDockersReservedTwo() {
        assertEquals(1, run(Map.of()));
        assertTrue(printed().startsWith("usage: "), printed());
        assertEquals(1, run(Map.of(), "ftp://127.0.0.1/health"));
        assertEquals(1, run(Map.of(), "not a url"));
        assertEquals(1, run(Map.of(), "--token-env", "X"));
    }
}
