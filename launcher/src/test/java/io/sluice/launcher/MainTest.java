package io.sluice.launcher;

import io.sluice.config.ConfigLoader;
import io.sluice.config.PoolMode;
import io.sluice.config.SluiceConfig;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The essentials as flags alone: a script or container needs no config file. */
class MainTest {

    private static Main parse(String... args) {
        Main main = new Main();
        new CommandLine(main).parseArgs(args);
        return main;
    }

    @Test
    void nettyDefaultsApplyUnlessTheOperatorSetsThem() {
        String[] keys = {"io.netty.leakDetection.level", "io.netty.leakDetectionLevel", Main.RECYCLER_CHUNK_SIZE};
        Map<String, String> saved = new java.util.HashMap<>();
        for (String k : keys) {
            String v = System.getProperty(k);
            if (v != null) {
                saved.put(k, v);
            }
        }
        try {
            for (String k : keys) {
                System.clearProperty(k);
            }
            Main.nettyDefaults();
            assertEquals("disabled", System.getProperty("io.netty.leakDetection.level"));
            assertEquals("1024", System.getProperty(Main.RECYCLER_CHUNK_SIZE));

            for (String k : keys) {
                System.clearProperty(k);
            }
            System.setProperty("io.netty.leakDetectionLevel", "simple"); // the older spelling counts too
            System.setProperty(Main.RECYCLER_CHUNK_SIZE, "64");
            Main.nettyDefaults();
            assertEquals(null, System.getProperty("io.netty.leakDetection.level"));
            assertEquals("simple", System.getProperty("io.netty.leakDetectionLevel"));
            assertEquals("64", System.getProperty(Main.RECYCLER_CHUNK_SIZE));
        } finally {
            for (String k : keys) {
                System.clearProperty(k);
            }
            saved.forEach(System::setProperty);
        }
    }

    @Test
    void flagsBecomeConfigOverrides() {
        Main main = parse("--listen", "127.0.0.1:7000", "--server", "db.internal:3307", "--user", "app.rw", "--password", "pw",
                "--backend-user", "svc", "--pool-mode", "transaction", "--pool-size", "7", "--global-max", "20",
                "--acquire-timeout", "750ms", "--max-clients", "99", "--admin-port", "7001");
        SluiceConfig c = ConfigLoader.load(Optional.empty(), main.overrides(), Map.of());
        assertEquals("127.0.0.1", c.listen().host());
        assertEquals(7000, c.listen().port());
        assertEquals("db.internal", c.server().host());
        assertEquals(3307, c.server().port());
        assertEquals("svc", c.users().get("app.rw").backendUser());
        assertEquals(PoolMode.TRANSACTION, c.pool().mode());
        assertEquals(7, c.pool().maxPerUser());
        assertEquals(20, c.pool().globalMax());
        assertEquals(Duration.ofMillis(750), c.pool().acquireTimeout());
        assertEquals(99, c.frontend().maxClients());
        assertEquals(7001, c.admin().port());
    }

    @Test
    void aBarePortListensOnAllAddresses() {
        SluiceConfig c = ConfigLoader.load(Optional.empty(), parse("--listen", "6044", "-u", "a", "-p", "b").overrides(), Map.of());
        assertEquals("0.0.0.0", c.listen().host());
        assertEquals(6044, c.listen().port());
    }

    @Test
    void aServerPathIsTheServersUnixSocket() {
        SluiceConfig c = ConfigLoader.load(Optional.empty(),
                parse("--server", "/run/mysqld/mysqld.sock", "-u", "a", "-p", "b").overrides(), Map.of());
        assertEquals(Optional.of(java.nio.file.Path.of("/run/mysqld/mysqld.sock")), c.server().socket());
        assertEquals("127.0.0.1", c.server().host(), "host and port keep their defaults, for the doctor");
        assertEquals(3306, c.server().port());
    }

    /** Runs the launcher with these flags; returns its exit code and what it printed to stderr. */
    private static Map.Entry<Integer, String> run(String... args) {
        java.io.PrintStream old = System.err;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(captured, true));
        int code;
        try {
            CommandLine cl = new CommandLine(new Main());
            cl.setErr(new PrintWriter(new StringWriter()));
            code = cl.execute(args);
        } finally {
            System.setErr(old);
        }
        return Map.entry(code, captured.toString());
    }

    @Test
    void invalidConfigurationExitsWithCode2AndNamesTheKey() {
        var r = run("--user", "app", "--password", "x", "--pool-size", "0", "--admin-port", "0", "--listen", "0");
        assertEquals(2, r.getKey());
        assertTrue(r.getValue().contains("sluice.pool.max-per-user"), r.getValue());
    }

    /** A port another process holds: one line that names the address and the settings, exit code 2, no stack trace. */
    @Test
    void aTakenListenPortExitsWithCode2AndNamesTheSetting() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            // The server port is closed (refused at once); Sluice starts without a server, so only the bind can fail.
            var r = run("--user", "app", "--password", "x", "--server", "127.0.0.1:1", "--admin-port", "0",
                    "--listen", "127.0.0.1:" + taken.getLocalPort());
            assertEquals(2, r.getKey(), r.getValue());
            assertTrue(r.getValue().contains("sluice: cannot start: cannot listen on 127.0.0.1:" + taken.getLocalPort()
                    + " (sluice.listen.host, sluice.listen.port): "), r.getValue());
            assertTrue(r.getValue().contains("in use"), r.getValue());
            assertTrue(!r.getValue().contains("\tat "), "a stack trace was printed:\n" + r.getValue());
        }
    }

    @Test
    void aTakenAdminPortExitsWithCode2AndNamesTheSetting() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            var r = run("--user", "app", "--password", "x", "--server", "127.0.0.1:1", "--listen", "127.0.0.1:0",
                    "--admin-port", Integer.toString(taken.getLocalPort())); // on 127.0.0.1, the default
            assertEquals(2, r.getKey(), r.getValue());
            assertTrue(r.getValue().contains("sluice: cannot start: cannot serve the admin endpoint on 127.0.0.1:"
                    + taken.getLocalPort() + " (sluice.admin.host, sluice.admin.port): "), r.getValue());
            assertTrue(!r.getValue().contains("\tat "), "a stack trace was printed:\n" + r.getValue());
        }
    }

    /** Issue #25: with the admin port taken, Sluice opened the client port first, then exited 2; no client may get in. */
    @Test
    void aTakenAdminPortStopsStartupBeforeTheClientPortOpens() throws Exception {
        ch.qos.logback.classic.Logger proxyLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
                io.sluice.proxy.ProxyServer.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> events = new ch.qos.logback.core.read.ListAppender<>();
        events.start();
        proxyLog.addAppender(events);
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            var r = run("--user", "app", "--password", "x", "--server", "127.0.0.1:1", "--listen", "127.0.0.1:0",
                    "--admin-port", Integer.toString(taken.getLocalPort()));
            assertEquals(2, r.getKey(), r.getValue());
        } finally {
            proxyLog.detachAppender(events);
        }
        assertTrue(events.list.stream().noneMatch(e -> e.getFormattedMessage().startsWith("Sluice listening on")),
                "the client port was opened: " + events.list);
    }
}
