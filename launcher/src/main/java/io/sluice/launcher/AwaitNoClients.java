package io.sluice.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.HttpURLConnection;
import java.net.Proxy;
import java.net.URI;
import java.time.Duration;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * {@code java -cp sluice.jar io.sluice.launcher.AwaitNoClients [--token-env VAR] http://127.0.0.1:6034/stats SECONDS}:
 * a sidecar's Kubernetes {@code preStop} hook. Waits until Sluice's {@code /stats} shows no client
 * connections, or {@code SECONDS} pass, then exits 0 so that Kubernetes sends Sluice its TERM.
 *
 * <p>Why: on pod deletion the app container and the Sluice container are signalled at the same
 * time. An app that finishes its in-flight requests while shutting down still needs its database,
 * and may even open a new connection; Sluice must keep serving until the app has closed its pool.
 * Clients = 0 is that moment. If the admin endpoint does not answer, Sluice is gone and there is
 * nothing to wait for. Keep {@code SECONDS} below the pod's terminationGracePeriodSeconds, with
 * room left for Sluice's own shutdown.
 *
 * <p>{@code --token-env} works as in {@link HealthCheck}. Uses only the JDK and Jackson (no logging,
 * no Netty), like {@link HealthCheck}.
 */
public final class AwaitNoClients {
    static final Duration POLL = Duration.ofMillis(500);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(2);
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private AwaitNoClients() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System::getenv, System.out, System::nanoTime));
    }

    /**
     * Polls until no clients, an unreachable endpoint or the deadline; returns the exit code: 0, or
     * 1 on a usage error (Kubernetes logs a failed hook and goes on with the TERM).
     */
    static int run(String[] args, Function<String, String> env, PrintStream out, LongSupplier nanoClock) {
        String token = null;
        if (args.length == 4 && args[0].equals("--token-env")) {
            token = env.apply(args[1]);
            args = new String[] {args[2], args[3]};
        }
        if (args.length != 2) {
            out.println("usage: java -cp sluice.jar " + AwaitNoClients.class.getName()
                    + " [--token-env VAR] http://127.0.0.1:6034/stats SECONDS");
            return 1;
        }
        URI uri;
        long seconds;
        try {
            uri = URI.create(args[0]);
            seconds = Long.parseLong(args[1]);
            if (!"http".equals(uri.getScheme()) || uri.getHost() == null || seconds < 0) {
                throw new IllegalArgumentException("want an http:// URL and SECONDS >= 0");
            }
        } catch (IllegalArgumentException e) {
            out.println("bad arguments " + String.join(" ", args) + ": " + e.getMessage());
            return 1;
        }
        long start = nanoClock.getAsLong();
        long deadline = start + Duration.ofSeconds(seconds).toNanos();
        long clients = -1;
        while (true) {
            try {
                clients = clients(uri, token);
            } catch (IOException | RuntimeException e) {
                out.println("admin endpoint " + uri + " does not answer (" + e.getMessage() + "): nothing to wait for");
                return 0;
            }
            if (clients == 0) {
                out.println("no client connections left after " + elapsedSeconds(start, nanoClock) + " s");
                return 0;
            }
            if (nanoClock.getAsLong() - deadline >= 0) {
                out.println(clients + " client connection(s) still open after " + seconds + " s; letting Sluice stop anyway");
                return 0;
            }
            try {
                Thread.sleep(POLL.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 0;
            }
        }
    }

    private static long elapsedSeconds(long start, LongSupplier nanoClock) {
        return Duration.ofNanos(nanoClock.getAsLong() - start).toSeconds();
    }

    /** The {@code clients} field of one {@code /stats} answer. */
    private static long clients(URI uri, String token) throws IOException {
        HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection(Proxy.NO_PROXY);
        c.setConnectTimeout((int) REQUEST_TIMEOUT.toMillis());
        c.setReadTimeout((int) REQUEST_TIMEOUT.toMillis());
        c.setInstanceFollowRedirects(false);
        if (token != null && !token.isEmpty()) {
            c.setRequestProperty("Authorization", "Bearer " + token);
        }
        try {
            int status = c.getResponseCode();
            if (status != 200) {
                throw new IOException("HTTP " + status);
            }
            try (InputStream in = c.getInputStream()) {
                JsonNode clients = MAPPER.readTree(in).path("clients");
                if (!clients.canConvertToLong()) {
                    throw new IOException("no numeric \"clients\" field in the answer");
                }
                return clients.asLong();
            }
        } finally {
            c.disconnect();
        }
    }
}
