package io.sluice.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.HttpURLConnection;
import java.net.Proxy;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Function;

/**
 * {@code java -cp sluice.jar io.sluice.launcher.HealthCheck [--token-env VAR] URL}: the container
 * image's {@code HEALTHCHECK}, for runtime images without curl or wget. Exits 0 when {@code URL}
 * answers 2xx within {@link #TIMEOUT}, else 1 — Docker's contract (0 healthy, 1 unhealthy; 2 is
 * reserved), so a usage error is 1 too. Prints one line, which Docker keeps in the health log.
 *
 * <p>With {@code --token-env VAR} and {@code VAR} set and non-empty in the environment, sends
 * {@code Authorization: Bearer $VAR}: an admin endpoint bound beyond loopback with a token wants it
 * on every route. The image passes {@code SLUICE_ADMIN_TOKEN}, the variable Sluice itself reads.
 *
 * <p>Uses only the JDK: no logging, no Netty, no config loading, so it starts in well under a
 * second with a 16 MiB heap next to a busy Sluice. Stdout is this tool's interface, hence the
 * {@link PrintStream} instead of a logger. Never follows redirects and never uses a proxy.
 */
public final class HealthCheck {
    static final int HEALTHY = 0;
    static final int UNHEALTHY = 1;
    static final Duration TIMEOUT = Duration.ofSeconds(3);
    private static final int BODY_CHARS = 200;

    private HealthCheck() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System::getenv, System.out));
    }

    /** Checks the URL in {@code args} once; returns the exit code and prints one line to {@code out}. */
    static int run(String[] args, Function<String, String> env, PrintStream out) {
        String token = null;
        if (args.length == 3 && args[0].equals("--token-env")) {
            token = env.apply(args[1]);
            args = new String[] {args[2]};
        }
        if (args.length != 1) {
            out.println("usage: java -cp sluice.jar " + HealthCheck.class.getName()
                    + " [--token-env VAR] http://127.0.0.1:6034/health");
            return UNHEALTHY;
        }
        String url = args[0];
        HttpURLConnection c;
        try {
            URI uri = URI.create(url);
            if (!"http".equals(uri.getScheme()) || uri.getHost() == null) {
                out.println("unhealthy: " + url + " is not an http://host:port/path URL");
                return UNHEALTHY;
            }
            c = (HttpURLConnection) uri.toURL().openConnection(Proxy.NO_PROXY);
        } catch (IllegalArgumentException | IOException e) {
            out.println("unhealthy: bad URL " + url + ": " + e.getMessage());
            return UNHEALTHY;
        }
        c.setConnectTimeout((int) TIMEOUT.toMillis());
        c.setReadTimeout((int) TIMEOUT.toMillis());
        c.setInstanceFollowRedirects(false);
        c.setUseCaches(false);
        if (token != null && !token.isEmpty()) {
            c.setRequestProperty("Authorization", "Bearer " + token);
        }
        try {
            int status = c.getResponseCode();
            String body = head(status >= 400 ? c.getErrorStream() : c.getInputStream());
            boolean healthy = status >= 200 && status < 300;
            out.println((healthy ? "healthy: " : "unhealthy: ") + url + " answered " + status + (body.isEmpty() ? "" : " " + body));
            return healthy ? HEALTHY : UNHEALTHY;
        } catch (IOException e) {
            out.println("unhealthy: " + url + ": " + e);
            return UNHEALTHY;
        } finally {
            c.disconnect();
        }
    }

    /** The start of a response body on one line, for the health log. */
    private static String head(InputStream in) throws IOException {
        if (in == null) {
            return "";
        }
        try (in) {
            String s = new String(in.readNBytes(BODY_CHARS * 4), StandardCharsets.UTF_8).replaceAll("\\s+", " ").trim();
            return s.length() > BODY_CHARS ? s.substring(0, BODY_CHARS) + "..." : s;
        }
    }
}
