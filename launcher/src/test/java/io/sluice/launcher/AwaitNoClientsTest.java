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
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sidecar's preStop hook against a stand-in /stats whose client count the test controls. */
class AwaitNoClientsTest {
    private HttpServer http;
    private final AtomicInteger polls = new AtomicInteger();
    /** Client counts to answer, one per poll; the last repeats. */
    private volatile int[] counts = {0};
    private final AtomicReference<String> authorization = new AtomicReference<>();
    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();

    @BeforeEach
    void start() throws IOException {
        http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        http.createContext("/stats", ex -> {
            authorization.set(ex.getRequestHeaders().getFirst("Authorization"));
            int n = polls.getAndIncrement();
            int clients = counts[Math.min(n, counts.length - 1)];
            byte[] b = ("{\"server\": {}, \"clients\": " + clients + ", \"pools\": []}").getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(b);
            }
        });
        http.start();
    }

    @AfterEach
    void stop() {
        http.stop(0);
    }

    private String stats() {
        return "http://127.0.0.1:" + http.getAddress().getPort() + "/stats";
    }

    private int run(Map<String, String> env, AtomicLong clock, String... args) {
        return AwaitNoClients.run(args, env::get, new PrintStream(printed, true, StandardCharsets.UTF_8), clock::get);
    }

    private String printed() {
        return printed.toString(StandardCharsets.UTF_8);
    }

    @Test
    void returnsOnceTheClientsHaveLeft() {
        counts = new int[] {3, 1, 0};
        assertEquals(0, run(Map.of(), new AtomicLong(), stats(), "30"));
        assertEquals(3, polls.get());
        assertTrue(printed().startsWith("no client connections left"), printed());
    }

    @Test
    void givesUpAtTheDeadlineAndStillLetsSluiceStop() {
        counts = new int[] {2};
        AtomicLong clock = new AtomicLong();
        // every poll advances the fake clock by 1 s, so a 2 s deadline passes on the third poll
        http.createContext("/slow", ex -> {
            clock.addAndGet(Duration.ofSeconds(1).toNanos());
            byte[] b = "{\"clients\": 2}".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(b);
            }
        });
        String slow = stats().replace("/stats", "/slow");
        assertEquals(0, run(Map.of(), clock, slow, "2"));
        assertTrue(printed().startsWith("2 client connection(s) still open after 2 s"), printed());
    }

    @Test
    void nothingToWaitForWhenTheEndpointIsGone() throws IOException {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        assertEquals(0, run(Map.of(), new AtomicLong(), "http://127.0.0.1:" + closed + "/stats", "30"));
        assertTrue(printed().contains("does not answer"), printed());
    }

    @Test
    void sendsTheTokenAndRejectsBadArguments() {
        assertEquals(0, run(Map.of("T", "tok"), new AtomicLong(), "--token-env", "T", stats(), "5"));
        assertEquals("Bearer tok", authorization.get());
        assertEquals(1, run(Map.of(), new AtomicLong(), stats()));
        assertEquals(1, run(Map.of(), new AtomicLong(), stats(), "-1"));
        assertEquals(1, run(Map.of(), new AtomicLong(), "file:///etc/passwd", "5"));
    }
}
