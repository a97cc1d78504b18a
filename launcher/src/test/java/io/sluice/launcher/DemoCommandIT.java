package io.sluice.launcher;

import io.sluice.localdb.LocalServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code sluice demo} for real, on this machine's mariadbd/mysqld through localdb (as the demo
 * itself runs it): its printed table says what the demo promises — 1040s direct, none through
 * Sluice, never more server connections than the pool — and it leaves nothing behind, also when
 * interrupted with SIGINT (Ctrl-C) in the middle of a run.
 */
class DemoCommandIT {
    private static final int POOL = 10;
    private static final int CLIENTS = 60;
    private static final int QUERIES = 3;

    @BeforeAll
    static void needsAServerBinary() {
        assumeTrue(binary() != null, "no mariadbd or mysqld on this machine");
    }

    /** -Dsluice.test.mysqld as for the other tests, else what the demo finds itself. */
    private static String binary() {
        String configured = System.getProperty("sluice.test.mysqld");
        if (configured != null && !configured.isBlank()) {
            return configured;
        }
        return LocalServer.findServerBinary().map(Path::toString).orElse(null);
    }

    /** The side-by-side table, by row label: [direct, through Sluice]. */
    static Map<String, String[]> table(String out) {
        Map<String, String[]> rows = new HashMap<>();
        for (String line : out.split("\\R")) {
            String[] cells = line.strip().split("\\s{2,}");
            if (cells.length == 3) {
                rows.put(cells[0], new String[] {cells[1], cells[2]});
            }
        }
        return rows;
    }

    private static long number(Map<String, String[]> table, String row, int column) {
        String[] cells = table.get(row);
        assertTrue(cells != null, "no row '" + row + "' in the table");
        Matcher m = Pattern.compile("^(\\d+)").matcher(cells[column]);
        assertTrue(m.find(), row + ": " + cells[column]);
        return Long.parseLong(m.group(1));
    }

    @Test
    void directTheBurstGets1040sThroughSluiceItAllFinishesOnThePool() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute("demo", "--mysqld", binary(), "--clients", Integer.toString(CLIENTS),
                "--queries", Integer.toString(QUERIES), "--max-connections", "20", "--pool-size", Integer.toString(POOL));
        String printed = out.toString();
        assertEquals(0, exit, printed + err);

        Map<String, String[]> t = table(printed);
        int direct = 0;
        int sluice = 1;
        assertTrue(number(t, DemoReport.ERRORS_1040, direct) > 0, "max_connections 20, 60 clients at once:\n" + printed);
        assertEquals(0, number(t, DemoReport.ERRORS_1040, sluice), printed);
        assertEquals(0, number(t, DemoReport.ERRORS_OTHER, sluice), printed);
        assertEquals(0, number(t, DemoReport.ERRORS_OTHER, direct), printed);
        assertEquals(CLIENTS, number(t, DemoReport.CLIENTS_FINISHED, sluice), printed);
        assertEquals((long) CLIENTS * QUERIES, number(t, DemoReport.QUERIES, sluice), printed);
        assertEquals(QUERIES * number(t, DemoReport.CLIENTS_FINISHED, direct), number(t, DemoReport.QUERIES, direct), printed);
        assertTrue(number(t, DemoReport.PEAK, sluice) <= POOL, printed);
        assertTrue(number(t, DemoReport.PEAK, sluice) > 0, printed);
        assertTrue(number(t, DemoReport.PEAK, direct) <= 20, printed);
        // Exact where sampling could miss: every server login during the run, not just the ones seen at once.
        assertTrue(number(t, DemoReport.LOGINS, sluice) <= POOL, printed);
        assertEquals(number(t, DemoReport.CLIENTS_FINISHED, direct), number(t, DemoReport.LOGINS, direct),
                "direct, every client that got in opened its own server connection:\n" + printed);

        assertTrue(printed.contains("pool size " + POOL + " (max-per-user = global-max = " + POOL + "), acquire-timeout 30s"),
                "prints the settings used:\n" + printed);
        assertTrue(printed.contains("/sessions") && printed.contains("Where to look next"), printed);
        Matcher dir = Pattern.compile("\\(directory (\\S+); deleted when the demo ends\\)").matcher(printed);
        assertTrue(dir.find(), printed);
        assertFalse(Files.exists(Path.of(dir.group(1))), dir.group(1) + " was not deleted");
    }

    /** The rows of the per-server table after {@link DemoReport#SERVERS_HEADING}: server, role, Sluice sees, Com_select, Com_insert. */
    static List<String[]> serverRows(String out) {
        List<String[]> rows = new ArrayList<>();
        String[] lines = out.split("\\R");
        int i = 0;
        while (i < lines.length && !lines[i].startsWith(DemoReport.SERVERS_HEADING)) {
            i++;
        }
        assertTrue(i < lines.length, "no per-server table:\n" + out);
        for (i += 2; i < lines.length; i++) { // past the heading and the column names
            String[] cells = lines[i].strip().split("\\s{2,}");
            if (cells.length != 5) {
                break;
            }
            rows.add(cells);
        }
        return rows;
    }

    @Test
    void withTwoReplicasEveryServerIsListedWithItsRoleAndWritesRanOnlyOnThePrimary() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute("demo", "--mysqld", binary(), "--replicas", "2", "--clients", Integer.toString(CLIENTS),
                "--queries", Integer.toString(QUERIES), "--max-connections", "20", "--pool-size", Integer.toString(POOL));
        String printed = out.toString();
        assumeTrue(exit != DemoCommand.EXIT_UNUSABLE || !err.toString().contains("is MySQL"), "replicas need MariaDB");
        assertEquals(0, exit, printed + err);

        int writers = CLIENTS / DemoCommand.WRITER_EVERY;
        long reads = (long) (CLIENTS - writers) * QUERIES;
        long inserts = (long) writers * QUERIES;
        assertTrue(printed.contains((CLIENTS - writers) + " of them read a row") && printed.contains(writers + " insert one"), printed);
        assertTrue(printed.contains("a primary and 2 GTID replica(s)"), printed);
        assertTrue(printed.contains("pool mode transaction"), "reads may leave the primary in transaction mode only:\n" + printed);

        Map<String, String[]> t = table(printed);
        int direct = 0;
        int sluice = 1;
        assertTrue(number(t, DemoReport.ERRORS_1040, direct) > 0, "max_connections 20, 60 clients at once on the primary:\n" + printed);
        assertEquals(0, number(t, DemoReport.ERRORS_1040, sluice), printed);
        assertEquals(0, number(t, DemoReport.ERRORS_OTHER, sluice), printed);
        assertEquals(CLIENTS, number(t, DemoReport.CLIENTS_FINISHED, sluice), printed);
        assertEquals((long) CLIENTS * QUERIES, number(t, DemoReport.QUERIES, sluice), printed);
        assertTrue(number(t, DemoReport.PEAK, sluice) <= 3L * POOL, "at most the pool on each server:\n" + printed);

        List<String[]> servers = serverRows(printed);
        assertEquals(3, servers.size(), printed);
        String[] primary = servers.get(0);
        assertEquals("primary", primary[1], printed);
        assertEquals("primary", primary[2], "Sluice's monitor agrees:\n" + printed);
        long replicaSelects = 0;
        for (String[] replica : servers.subList(1, 3)) {
            assertEquals("replica of " + primary[0], replica[1], printed);
            assertEquals("replica", replica[2], "Sluice's monitor agrees:\n" + printed);
            replicaSelects += Long.parseLong(replica[3]);
        }
        long allSelects = servers.stream().mapToLong(r -> Long.parseLong(r[3])).sum();
        assertTrue(allSelects >= reads, "every read is a SELECT on some server:\n" + printed);
        // Writes ran only on the primary: it counted exactly the burst's inserts, and each replica
        // exactly as many, which is what applying the primary's binary log adds to a MariaDB
        // replica's Com_insert (one per statement, binlog_format=ROW; LocalClusterIT): none of its own.
        assertEquals(inserts, Long.parseLong(primary[4]), printed);
        for (String[] replica : servers.subList(1, 3)) {
            assertEquals(inserts, Long.parseLong(replica[4]), "replica " + replica[0] + " applied the primary's inserts only:\n" + printed);
        }
        assertTrue(replicaSelects >= reads / 2, "most reads ran on the replicas:\n" + printed);

        Matcher dir = Pattern.compile("\\(directory (\\S+); deleted when the demo ends\\)").matcher(printed);
        int dirs = 0;
        while (dir.find()) {
            dirs++;
            assertFalse(Files.exists(Path.of(dir.group(1))), dir.group(1) + " was not deleted");
        }
        assertEquals(3, dirs, printed);
    }

    /**
     * Whether this JVM was started with SIGINT ignored (as a shell does for background jobs without
     * job control); the demo would inherit that and never see a Ctrl-C. TERM then takes its place:
     * the JVM runs the same shutdown hooks for both.
     */
    private static boolean sigintIgnored() throws java.io.IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) {
            return false;
        }
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("SigIgn:")) {
                return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & (1L << 1)) != 0; // bit of signal 2
            }
        }
        return false;
    }

    @Test
    void ctrlCInTheMiddleStopsTheServerAndDeletesItsDirectory(@TempDir Path tmp) throws Exception {
        Path jar = Path.of("target", "sluice.jar").toAbsolutePath();
        assertTrue(Files.isRegularFile(jar), jar + " missing: this test runs after mvn package");
        Path log = tmp.resolve("demo.out");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", jar.toString(), "demo", "--mysqld", binary(), "--clients", "40", "--queries", "200",
                "--query-ms", "10"));
        Process demo = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            Path serverDir = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240); // a loaded 2-core machine is slow
            while (System.nanoTime() < deadline && demo.isAlive()) {
                String sofar = Files.readString(log, StandardCharsets.UTF_8);
                Matcher dir = Pattern.compile("\\(directory (\\S+); deleted").matcher(sofar);
                if (dir.find() && sofar.contains("Run 1 of 2")) {
                    serverDir = Path.of(dir.group(1));
                    break;
                }
                Thread.sleep(50);
            }
            assertTrue(serverDir != null, "the demo never reached its first run:\n" + Files.readString(log));
            long serverPid = Long.parseLong(Files.readString(serverDir.resolve("server.pid")).trim());
            ProcessHandle server = ProcessHandle.of(serverPid).orElseThrow();

            Thread.sleep(300); // mid-burst: 40 clients x 200 queries take far longer
            String signal = sigintIgnored() ? "TERM" : "INT";
            new ProcessBuilder("kill", "-" + signal, Long.toString(demo.pid())).start().waitFor();
            assertTrue(demo.waitFor(60, TimeUnit.SECONDS), "the demo did not exit on SIG" + signal + ":\n" + Files.readString(log));

            String printed = Files.readString(log);
            assertTrue(printed.contains("demo: interrupted; stopping Sluice and the throwaway server"), printed);
            assertTrue(server.onExit().get(10, TimeUnit.SECONDS) != null && !server.isAlive(), "server " + serverPid + " survived");
            assertFalse(Files.exists(serverDir), serverDir + " survived:\n" + printed);
            try (var dirs = Files.newDirectoryStream(serverDir.getParent(), "sluice-demo-*")) {
                for (Path d : dirs) {
                    Path owner = d.resolve("owner.pid");
                    assertFalse(Files.exists(owner) && Files.readString(owner).trim().equals(Long.toString(demo.pid())),
                            d + " (the data directory template) survived");
                }
            }
        } finally {
            demo.destroyForcibly();
        }
    }
}
