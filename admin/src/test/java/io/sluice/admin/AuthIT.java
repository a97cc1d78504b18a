package io.sluice.admin;

import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bearer token: on loopback it guards actions only; bound beyond loopback it guards every
 * route but the static dashboard page. Plus the browser guards: cross-origin POSTs and, on
 * loopback, non-loopback Host names are refused.
 */
@ExtendWith(LeakCheckExtension.class)
class AuthIT {
    static final String USER = "adm_auth";
    static final String PASSWORD = "adm-auth-pw";
    static final String TOKEN = "t0ken-for-admin-it";
    static TestServer server;

    @BeforeAll
    static void users() {
        server = TestServer.shared();
        server.createUser(USER, PASSWORD);
    }

    private static String config(String adminHost, String token) {
        return "sluice.users." + USER + ".password = \"" + PASSWORD + "\"\n"
                + "sluice.admin { host = \"" + adminHost + "\", token = \"" + token + "\" }\n";
    }

    @Test
    void onLoopbackTheTokenGuardsActionsOnly() {
        try (AdminFixture f = AdminFixture.start(server, config("127.0.0.1", TOKEN))) {
            assertEquals(200, f.get("/stats").status());
            assertEquals(200, f.get("/sessions").status());
            assertEquals(200, f.get("/metrics").status());
            assertEquals(200, f.get("/doctor").status(), "a read like the others: open on loopback");

            var missing = f.post("/pause");
            assertEquals(401, missing.status());
            assertEquals("unauthorized", missing.json().path("error").asText());
            assertTrue(missing.json().path("message").asText().startsWith("missing Authorization: Bearer <token> header"),
                    missing.body());
            assertEquals("Bearer realm=\"sluice\"", missing.headers().firstValue("WWW-Authenticate").orElse(""));

            var wrong = f.post("/pause", "not-the-token");
            assertEquals(401, wrong.status());
            assertTrue(wrong.json().path("message").asText().startsWith("wrong token"), wrong.body());
            assertEquals(401, f.post("/reload", TOKEN.substring(1)).status());
            assertTrue(!f.proxy.pools().paused(), "a refused action must not act");

            var ok = f.post("/pause", TOKEN);
            assertEquals(200, ok.status(), ok.body());
            assertTrue(f.proxy.pools().paused());
            assertEquals(200, f.post("/resume", TOKEN).status());
        }
    }

    @Test
    void beyondLoopbackEveryRouteButTheDashboardAndProbesNeedsTheToken() {
        try (AdminFixture f = AdminFixture.start(server, config("0.0.0.0", TOKEN))) {
            for (String path : new String[] {"/health", "/ready"}) {
                assertTrue(f.get(path).status() != 401, path + " is a probe: a kubelet cannot send a token");
            }
            for (String path : new String[] {"/stats", "/sessions", "/metrics", "/config", "/doctor"}) {
                var refused = f.get(path);
                assertEquals(401, refused.status(), path);
                assertTrue(refused.json().path("message").asText().contains("every route of an endpoint bound beyond loopback"),
                        refused.body());
                assertEquals(200, f.get(path, TOKEN).status(), path);
            }
            assertEquals(401, f.post("/pause").status());
            var page = f.get("/");
            assertEquals(200, page.status(), "the dashboard page is static and asks for the token itself");
            assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        }
    }

    @Test
    void withoutATokenOnLoopbackActionsAreOpen() {
        try (AdminFixture f = AdminFixture.start(server, "sluice.users." + USER + ".password = \"" + PASSWORD + "\"\n")) {
            assertEquals(200, f.post("/pause").status());
            assertEquals(200, f.post("/resume").status());
        }
    }

    @Test
    void crossOriginPostsAndForeignHostNamesAreRefused() throws IOException {
        try (AdminFixture f = AdminFixture.start(server, config("127.0.0.1", TOKEN))) {
            var foreign = f.send(HttpRequest.newBuilder(URI.create(f.url("/pause"))).header("Origin", "http://evil.example")
                    .POST(HttpRequest.BodyPublishers.noBody()), TOKEN);
            assertEquals(403, foreign.status(), foreign.body());
            assertTrue(foreign.json().path("message").asText().startsWith("cross-origin POST refused"), foreign.body());
            assertTrue(!f.proxy.pools().paused());

            var sameOrigin = f.send(HttpRequest.newBuilder(URI.create(f.url("/pause")))
                    .header("Origin", "http://127.0.0.1:" + f.admin.port()).POST(HttpRequest.BodyPublishers.noBody()), TOKEN);
            assertEquals(200, sameOrigin.status(), sameOrigin.body());
            assertEquals(200, f.post("/resume", TOKEN).status());

            // DNS rebinding: a page from evil.example resolving to 127.0.0.1 sends Host: evil.example.
            assertTrue(rawGet(f.admin.port(), "/stats", "evil.example:" + f.admin.port()).startsWith("HTTP/1.1 403"));
            assertTrue(rawGet(f.admin.port(), "/stats", "localhost:" + f.admin.port()).startsWith("HTTP/1.1 200"));
            assertTrue(rawGet(f.admin.port(), "/stats", "[::1]:" + f.admin.port()).startsWith("HTTP/1.1 200"));
        }
    }

    @Test
    void onLoopbackOnlyLoopbackIpLiteralsAndLocalhostAreHostNames() throws IOException {
        try (AdminFixture f = AdminFixture.start(server, "sluice.users." + USER + ".password = \"" + PASSWORD + "\"\n")) {
            int port = f.admin.port();
            // Issue #25: a name that merely starts with "127." is anyone's DNS name.
            String attacker = "127.attacker.example:" + port;
            String pause = raw(port, "POST", "/pause", attacker, "http://" + attacker);
            assertTrue(pause.startsWith("HTTP/1.1 403"), pause);
            assertTrue(!f.proxy.pools().paused(), "a refused action must not act");
            for (String foreign : new String[] {attacker, "127.0.0.1.attacker.example", "127.0.0.1.:" + port, "a.localhost:" + port,
                    "localhost.attacker.example", "127.0.0.256:" + port, "127.1:" + port, "[::2]:" + port, "[::1]x",
                    "127.0.0.1:" + port + "x", "10.0.0.1:" + port, ""}) {
                String r = raw(port, "GET", "/stats", foreign, null);
                assertTrue(r.startsWith("HTTP/1.1 403"), "Host '" + foreign + "': " + r);
            }
            for (String loopback : new String[] {"127.0.0.1:" + port, "127.0.0.1", "127.8.9.10:" + port, "LOCALHOST:" + port,
                    "localhost", "[::1]:" + port, "[::1]", "[0:0:0:0:0:0:0:1]:" + port}) {
                String r = raw(port, "GET", "/stats", loopback, null);
                assertTrue(r.startsWith("HTTP/1.1 200"), "Host '" + loopback + "': " + r);
            }
            String sameOrigin = raw(port, "POST", "/pause", "localhost:" + port, "http://localhost:" + port);
            assertTrue(sameOrigin.startsWith("HTTP/1.1 200"), sameOrigin);
            assertTrue(f.proxy.pools().paused());
            assertEquals(200, f.post("/resume").status());
        }
    }

    /** java.net.http will not send a Host header of our choosing; a socket will. */
    private static String rawGet(int port, String path, String host) throws IOException {
        return raw(port, "GET", path, host, null);
    }

    private static String raw(int port, String method, String path, String host, String origin) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write((method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + (origin == null ? "" : "Origin: " + origin + "\r\n")
                    + "Content-Length: 0\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
