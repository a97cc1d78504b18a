package io.sluice.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.sluice.admin.AdminFixture.sessions;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * GET / loaded by a real browser: headless Chromium (Debian's {@code chromium}; another binary
 * with -Dsluice.test.chromium=PATH) runs the page's script against a running Sluice, and the DOM
 * it leaves must show the pool and the session that exist. Skipped when no Chromium is installed.
 * Leaves a screenshot in target/dashboard.png for a human to look at.
 */
@ExtendWith(LeakCheckExtension.class)
class DashboardIT {
    static final String USER = "adm_dash";
    static final String PASSWORD = "adm-dash-pw";
    static TestServer server;

    @TempDir
    Path profile;

    @BeforeAll
    static void users() {
        server = TestServer.shared();
        server.createUser(USER, PASSWORD);
    }

    static Path chromium() {
        String configured = System.getProperty("sluice.test.chromium");
        if (configured != null) {
            return Path.of(configured);
        }
        for (String candidate : new String[] {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}) {
            if (Files.isExecutable(Path.of(candidate))) {
                return Path.of(candidate);
            }
        }
        return null;
    }

    @Test
    void pageShowsPoolsAndSessionsAfterItsScriptRan() throws Exception {
        Path chromium = chromium();
        assumeTrue(chromium != null, "no Chromium found (apt-get install chromium, or -Dsluice.test.chromium=PATH)");
        try (AdminFixture f = AdminFixture.start(server, "sluice.users." + USER + ".password = \"" + PASSWORD + "\"\n"
                + "sluice.pool.max-per-user = 4\n");
             Connection c = f.connect(USER, PASSWORD, "dashboard-it")) {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
                assertTrue(rs.next());
            }
            // A failed login for the errors panel, and the session left idle inside a transaction.
            try (Connection wrong = f.connect(USER, "wrong-" + PASSWORD, "dashboard-it-wrong")) {
                throw new AssertionError("a wrong password logged in");
            } catch (java.sql.SQLException expected) {
                // counted as an auth failure
            }
            try (Statement s = c.createStatement()) {
                s.execute("START TRANSACTION");
                s.executeQuery("SELECT 1").close();
            }
            JsonNode session = f.await("/sessions", ss -> sessions(ss, USER, null).get(0).path("idle_in_transaction_ms")
                    .asLong(-1) >= 1500, java.time.Duration.ofSeconds(10)).get(0);
            // Sluice has sampled for seconds before the page opens: the page must start from those.
            JsonNode history = f.await("/stats/history", h -> h.path("samples").size() >= 8, java.time.Duration.ofSeconds(15));
            JsonNode stats = f.get("/stats").json();

            String dom = run(chromium, "--virtual-time-budget=3000", "--dump-dom", f.url("/"));
            // The idle-in-transaction cell holds a duration, marked hot past a second.
            java.util.regex.Matcher idle = java.util.regex.Pattern.compile(
                    "<td class=\"num idle-tx hot\">(\\d+(\\.\\d)? s|\\d+m \\d+s)</td>").matcher(dom);
            assertTrue(idle.find(), "idle-in-transaction cell empty:\n" + dom);
            // The cap in force, each pool's max, and the server's own counts.
            String cap = "cap " + stats.path("backend_cap").asInt();
            assertTrue(dom.contains(cap), cap + " missing:\n" + dom);
            assertTrue(dom.contains("pool max " + USER + " 4"), "pool max missing:\n" + dom);
            assertTrue(dom.matches("(?s).*<div class=\"value\" id=\"t-server\">\\d+ / "
                    + stats.path("server_limits").path("max_connections").asLong() + "</div>.*"), "Threads_connected / max_connections:\n" + dom);
            assertTrue(dom.contains("Threads_connected / max_connections, read "), dom);
            // The errors panel counts the refused login.
            assertTrue(dom.matches("(?s).*auth failures <b class=\"nonzero\">[1-9]\\d*</b>.*"), "errors panel:\n" + dom);
            assertTrue(dom.contains("backend connect failures <b>0</b>"), "errors panel:\n" + dom);
            java.util.regex.Matcher samples = java.util.regex.Pattern.compile("data-samples=\"(\\d+)\"").matcher(dom);
            assertTrue(samples.find(), dom);
            assertTrue(Integer.parseInt(samples.group(1)) >= history.path("samples").size(),
                    "the charts start from the server's history (" + history.path("samples").size() + " samples), got "
                            + samples.group(1));
            assertTrue(dom.contains("<h2 class=\"pool-name\">" + USER + "</h2>"), "pool card missing:\n" + dom);
            assertTrue(dom.contains("data-session=\"" + session.path("id").asLong() + "\""), "session row missing:\n" + dom);
            assertTrue(dom.contains("dashboard-it"), "program_name missing:\n" + dom);
            // Top statements (GET /digests): the digest of SELECT 1, never the literal.
            assertTrue(dom.matches("(?s).*<tr data-digest=\"[0-9a-f]{16}\"><td class=\"stmt\" title=\"SELECT \\?\">SELECT \\?</td>"
                    + "<td>" + USER + "</td>.*"), "top statements panel:\n" + dom);
            assertTrue(dom.contains("digests kept of 5000"), "top statements panel:\n" + dom);
            assertTrue(dom.contains("class=\"pill ok\""), "ready pill should say ready:\n" + dom);
            assertTrue(dom.contains("<div id=\"banner\" style=\"display: none;\"></div>"), "the page shows an error:\n" + dom);

            Path png = Path.of("target", "dashboard.png").toAbsolutePath();
            Files.deleteIfExists(png);
            run(chromium, "--virtual-time-budget=5000", "--window-size=1280,1000", "--hide-scrollbars",
                    "--screenshot=" + png, f.url("/"));
            assertTrue(Files.size(png) > 10_000, "screenshot " + png + " is " + Files.size(png) + " bytes");
        }
    }

    private String run(Path chromium, String... args) throws IOException, InterruptedException {
        return HeadlessChromium.run(chromium, profile, args);
    }
}
