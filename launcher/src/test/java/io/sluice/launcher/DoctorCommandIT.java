package io.sluice.launcher;

import io.sluice.admin.doctor.Diagnosis;
import io.sluice.admin.doctor.Severity;
import io.sluice.admin.doctor.Verdict;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code sluice doctor} as a script sees it: exit codes, the JSON document read back with Jackson,
 * the password sources and the usage errors. One server with max_connections = 10, so a handful of
 * idle connections makes a warning, a critical, and finally a full server.
 */
class DoctorCommandIT {
    private static final String PASSWORD = "cli-pw";
    private static TestServer server;

    private final List<Connection> opened = new ArrayList<>();
    private final Map<String, String> env = new HashMap<>();

    /** What one run printed and returned. */
    record Run(int exit, String out, String err) {
        Diagnosis diagnosis() throws Exception {
            return DoctorCommand.mapper().readValue(out, Diagnosis.class);
        }
    }

    @BeforeAll
    static void startServer() {
        server = TestServer.start(TestServer.Options.defaults().withMaxConnections(10));
        server.createUser("idler", PASSWORD, "USAGE ON *.*");
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    /** Max_used_connections from an earlier test would make a quiet server a warning: the doctor reads peaks too. */
    @BeforeEach
    void resetPeak() {
        server.execute("FLUSH STATUS");
    }

    @AfterEach
    void closeConnections() throws SQLException {
        for (Connection c : opened) {
            c.close();
        }
        assertEquals(0, server.awaitConnectionCount("idler", 0, Duration.ofSeconds(10)));
    }

    private void openIdle(int n) throws SQLException {
        for (int i = 0; i < n; i++) {
            opened.add(DriverManager.getConnection(server.jdbcUrl(""), "idler", PASSWORD));
        }
    }

    /** Runs {@code sluice doctor ARGS} against the test server as root, password from $ROOT_PW. */
    private Run doctorAsRoot(String... args) {
        env.put("ROOT_PW", server.rootPassword());
        List<String> all = new ArrayList<>(List.of("-h", server.host(), "-P", String.valueOf(server.port()),
                "-u", server.rootUser(), "--password-env", "ROOT_PW"));
        all.addAll(List.of(args));
        return doctor(all.toArray(String[]::new));
    }

    private Run doctor(String... args) {
        CommandLine cmd = new CommandLine(new Main());
        DoctorCommand doctor = (DoctorCommand) cmd.getSubcommands().get("doctor").getCommand();
        doctor.env = env::get;
        doctor.console = null; // as in CI: no terminal to prompt on
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        List<String> all = new ArrayList<>(List.of("doctor"));
        all.addAll(List.of(args));
        int exit = cmd.execute(all.toArray(String[]::new));
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void aQuietServerExitsZeroAndTheJsonReadsBack() throws Exception {
        Run run = doctorAsRoot("--json");
        assertEquals(0, run.exit(), run.err());
        Diagnosis d = run.diagnosis();
        assertEquals(Verdict.HEALTHY, d.verdict().verdict());
        assertEquals(0, d.exitCode());
        assertEquals(10, d.connections().maxConnections());
        assertEquals(server.host() + ":" + server.port(), d.server().endpoint());
    }

    @Test
    void theTextReportIsTheDefault() {
        Run run = doctorAsRoot();
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("VERDICT: OK  healthy"), run.out());
        assertTrue(run.out().contains("max_connections"), run.out());
        assertFalse(run.out().contains(server.rootPassword()), "never echoes the password");
    }

    @Test
    void sevenIdleOfTenIsAWarningAndNineIsCritical() throws Exception {
        openIdle(7); // + the doctor = 8 of 10
        Run warning = doctorAsRoot("--json", "--instances", "2");
        assertEquals(1, warning.exit(), warning.out() + warning.err());
        Diagnosis d = warning.diagnosis();
        assertEquals(Verdict.IDLE_LEAK, d.verdict().verdict());
        assertEquals(Severity.WARNING, d.severity());
        assertEquals(2, d.recommendations().poolSizing().instances());

        openIdle(2); // + the doctor = 10 of 10
        Run critical = doctorAsRoot("--json");
        assertEquals(2, critical.exit(), critical.out() + critical.err());
        assertEquals(Severity.CRITICAL, critical.diagnosis().severity());
    }

    @Test
    void aFullServerRefusingTheDoctorIsCritical() throws Exception {
        openIdle(10); // max_connections reached; only an account with SUPER gets the one extra slot
        env.put("IDLER_PW", PASSWORD);
        Run run = doctor("-h", server.host(), "-P", String.valueOf(server.port()), "-u", "idler", "--password-env", "IDLER_PW");
        assertEquals(2, run.exit(), run.out() + run.err());
        assertTrue(run.err().contains("refuses connections"), run.err());
        assertTrue(run.err().contains("CONNECTION_ADMIN"), run.err());
    }

    @Test
    void killIdleWithYesEndsSleepingConnections() throws Exception {
        openIdle(3);
        Thread.sleep(2_500);
        Run run = doctorAsRoot("--json", "--idle-threshold", "1", "--kill-idle", "--yes");
        assertEquals(0, run.exit(), run.err());
        Diagnosis d = run.diagnosis(); // stdout stays pure JSON; the kill log goes to stderr
        assertEquals(3, d.recommendations().kills().size());
        assertTrue(run.err().contains("--kill-idle: killed 3 of 3"), run.err());
        assertEquals(0, server.awaitConnectionCount("idler", 0, Duration.ofSeconds(10)));
    }

    @Test
    void killIdleWithoutATerminalOrYesKillsNothing() throws Exception {
        openIdle(2);
        Thread.sleep(2_500);
        Run run = doctorAsRoot("--idle-threshold", "1", "--kill-idle");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("KILL CONNECTION "), run.out());
        assertTrue(run.err().contains("no terminal to confirm on"), run.err());
        assertEquals(2, server.connectionCount("idler"));
    }

    @Test
    void thePasswordComesFromAFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("pw");
        Files.writeString(file, server.rootPassword() + "\n");
        Run run = doctor("-h", server.host(), "-P", String.valueOf(server.port()), "-u", server.rootUser(),
                "--password-file", file.toString(), "--json");
        assertEquals(0, run.exit(), run.err());
    }

    @Test
    void usageErrorsAndConnectFailuresExitThree() {
        Run prompt = doctor("-h", server.host(), "-P", String.valueOf(server.port()), "-u", "root", "-p");
        assertEquals(3, prompt.exit());
        assertTrue(prompt.err().contains("needs a terminal to prompt on"), prompt.err());

        Run twoSources = doctor("-u", "root", "-psecret", "--password-env", "X");
        assertEquals(3, twoSources.exit());
        assertTrue(twoSources.err().contains("only one of"), twoSources.err());

        Run unsetEnv = doctor("-u", "root", "--password-env", "SLUICE_DOCTOR_UNSET");
        assertEquals(3, unsetEnv.exit());
        assertTrue(unsetEnv.err().contains("SLUICE_DOCTOR_UNSET is not set"), unsetEnv.err());

        Run yesAlone = doctor("--yes");
        assertEquals(3, yesAlone.exit());

        Run wrongPassword = doctor("-h", server.host(), "-P", String.valueOf(server.port()), "-u", "root", "-pwrong");
        assertEquals(3, wrongPassword.exit());
        assertTrue(wrongPassword.err().contains("error 1045"), wrongPassword.err());

        Run nobodyThere = doctor("-h", "127.0.0.1", "-P", "1", "-u", "root", "-pwhatever");
        assertEquals(3, nobodyThere.exit());
        assertTrue(nobodyThere.err().startsWith("doctor: cannot diagnose 127.0.0.1:1"), nobodyThere.err());
    }

    /**
     * A server out of file descriptors: the kernel still completes the TCP handshake into the listen
     * backlog, but mysqld cannot accept(), so no greeting ever comes. A listening socket nobody
     * accepts on is exactly that. The doctor must give up within seconds, not after its statement
     * timeout, say so, and describe the listening process (here: this JVM) from /proc.
     */
    @Test
    void aServerThatNeverGreetsFailsWithinSecondsAndDescribesTheListener() throws Exception {
        try (ServerSocket mute = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            long started = System.nanoTime();
            Run run = doctor("-h", "127.0.0.1", "-P", String.valueOf(mute.getLocalPort()), "-u", "root", "-pwhatever");
            long millis = (System.nanoTime() - started) / 1_000_000;
            assertEquals(3, run.exit(), run.out() + run.err());
            assertTrue(millis < 15_000, "took " + millis + " ms:\n" + run.err());
            assertTrue(run.err().contains("accepted the connection but sent no greeting within 5 s"), run.err());
            assertTrue(run.err().contains("Too many open files"), "names the likely cause:\n" + run.err());
            assertTrue(run.err().contains("pid " + ProcessHandle.current().pid()), "the listener found in /proc:\n" + run.err());
            assertTrue(run.err().matches("(?s).*\\d+ descriptors open of its limit \\d+.*"), run.err());
            assertFalse(run.err().contains("it is out of file descriptors"), "this JVM has descriptors to spare:\n" + run.err());
        }
    }

    /** As above, with a listener that really has every descriptor of its limit in use. */
    @Test
    void aListenerOutOfDescriptorsIsNamedSo() throws Exception {
        Path python = Path.of("/usr/bin/python3");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(python), "no /usr/bin/python3");
        Process p = new ProcessBuilder(python.toString(), "-c", """
                import os, resource, socket, sys, time
                resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
                s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
                print(s.getsockname()[1], flush=True)
                held = []
                try:
                    while True: held.append(os.open("/dev/null", os.O_RDONLY))
                except OSError:
                    pass
                time.sleep(60)
                """).redirectErrorStream(true).start();
        try {
            String port = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream())).readLine();
            Run run = doctor("-h", "localhost", "-P", port.trim(), "-u", "root", "-pwhatever");
            assertEquals(3, run.exit(), run.out() + run.err());
            assertTrue(run.err().contains("pid " + p.pid() + " (python3)"), run.err());
            assertTrue(run.err().contains("of its limit 64"), run.err());
            assertTrue(run.err().contains("it is out of file descriptors"), run.err());
        } finally {
            p.destroyForcibly().waitFor();
        }
    }

    @Test
    void helpIsDoubleDashOnlyBecauseDashHIsTheHost() {
        Run help = doctor("--help");
        assertEquals(0, help.exit());
        assertTrue(help.out().contains("-h, --host"), help.out());
        assertTrue(help.out().contains("Exit codes: 0 healthy, 1 warning, 2 critical"), help.out());
    }
}
