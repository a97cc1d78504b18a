package io.sluice.launcher;

import ch.qos.logback.classic.Level;
import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.localdb.LocalServer;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;

/**
 * {@code sluice demo}: the point of Sluice in one command. Starts a throwaway MariaDB/MySQL server
 * from this machine's binaries with a small max_connections, Sluice in-process in front of it, and
 * runs the same burst of short-lived clients twice, direct and through Sluice; prints both side by
 * side. Everything it starts is stopped and deleted when it ends, also on Ctrl-C (localdb's shutdown
 * hook; a watchdog kills the server even if the JVM is killed outright). With {@code --replicas N}: a
 * MariaDB primary and N GTID replicas, Sluice in front of all of them, a burst of reads and inserts,
 * and what each server ran by its own counters.
 *
 * <p>Exit codes: 0 the demo ran and no client failed through Sluice, 1 some did, 3 it could not
 * run (no server binary, bad options, the server did not start).
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Shows what Sluice does, on this machine, in under a minute: starts a throwaway MariaDB/MySQL server",
                "(from a local mariadbd or mysqld) with a small max_connections, starts Sluice in front of it, and runs",
                "the same burst of clients twice, direct and through Sluice. Cleans up after itself, also on Ctrl-C.",
                "With --replicas N: a MariaDB primary and N GTID replicas instead, Sluice in front of all of them",
                "(sluice.servers, transaction mode), a burst in which most clients read a row and some insert one, and",
                "per server its role and the SELECTs and INSERTs it counted itself (Com_select, Com_insert) through Sluice."},
        footer = {"", "Exit codes: 0 done (no errors through Sluice), 1 errors through Sluice, 3 could not run",
                "(no server binary, bad options, the server did not start)."})
public final class DemoCommand implements Callable<Integer> {
    static final int EXIT_UNUSABLE = 3;
    /** More servers than this would not start quickly on a small machine. */
    static final int MAX_REPLICAS = 4;
    /** With --replicas, one client in this many inserts; the others read. */
    static final int WRITER_EVERY = 5;

    @Spec
    CommandSpec spec;

    @Option(names = "--clients", paramLabel = "N", defaultValue = "60", description = "clients in the burst, all at once (default ${DEFAULT-VALUE})")
    int clients;

    @Option(names = "--queries", paramLabel = "N", defaultValue = "3", description = "queries per client (default ${DEFAULT-VALUE})")
    int queries;

    @Option(names = "--query-ms", paramLabel = "MS", defaultValue = "50", description = "server time per query (per read with --replicas), SLEEP (default ${DEFAULT-VALUE})")
    int queryMillis;

    @Option(names = "--max-connections", paramLabel = "N", defaultValue = "20",
            description = "the throwaway server's max_connections, each server's with --replicas (default ${DEFAULT-VALUE};"
                    + " MariaDB's minimum is 10)")
    int maxConnections;

    @Option(names = "--pool-size", paramLabel = "N", defaultValue = "10",
            description = "Sluice's server connections at most, per server with --replicas (max-per-user and global-max;"
                    + " default ${DEFAULT-VALUE})")
    int poolSize;

    @Option(names = "--acquire-timeout", paramLabel = "DURATION", defaultValue = "30s",
            description = "how long a client may wait in Sluice's queue (default ${DEFAULT-VALUE})")
    String acquireTimeout;

    @Option(names = "--replicas", paramLabel = "N", defaultValue = "0",
            description = "start a MariaDB primary and N GTID replicas (1.." + MAX_REPLICAS + ") instead of one server;"
                    + " one client in " + WRITER_EVERY + " inserts, the others read (default ${DEFAULT-VALUE}: one server)")
    int replicas;

    @Option(names = "--mysqld", paramLabel = "PATH", description = "the server binary (default: mariadbd or mysqld on PATH or in /usr/sbin)")
    Path mysqld;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "0", description = "Sluice's client port on 127.0.0.1 (default: any free port)")
    int port;

    @Option(names = "--admin-port", paramLabel = "PORT", defaultValue = "0", description = "Sluice's admin port on 127.0.0.1 (default: any free port)")
    int adminPort;

    @Option(names = "--keep-running", description = "after the burst, keep the server and Sluice up until Ctrl-C, to look around")
    boolean keepRunning;

    @Option(names = "--verbose", description = "show Sluice's and the server starter's log lines (stderr)")
    boolean verbose;

    /** Finds the server binary; tests substitute one that finds none. */
    Supplier<Optional<Path>> findServer = LocalServer::findServerBinary;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String problem = checkOptions();
        if (problem != null) {
            err.println("demo: " + problem);
            err.flush();
            return EXIT_UNUSABLE;
        }
        Optional<Path> binary = mysqld != null ? Optional.of(mysqld) : findServer.get();
        if (binary.isEmpty()) {
            err.print(noServerMessage());
            err.flush();
            return EXIT_UNUSABLE;
        }
        if (!Files.isRegularFile(binary.get()) || !Files.isExecutable(binary.get())) {
            err.println("demo: --mysqld " + binary.get() + " is not an executable file");
            err.flush();
            return EXIT_UNUSABLE;
        }
        if (!verbose) {
            quietLogs();
        }
        Burst burst = new Burst(clients, queries, queryMillis, replicas == 0 ? 0 : Math.max(1, clients / WRITER_EVERY));
        Demo.Settings settings = new Demo.Settings(binary.get(), maxConnections, burst, poolSize, acquireTimeout, port, adminPort,
                replicas);
        Demo demo;
        try {
            demo = Demo.start(settings, out);
        } catch (ConfigException e) {
            err.println("demo: these settings make no valid Sluice configuration:");
            err.println(e.getMessage());
            err.flush();
            return EXIT_UNUSABLE;
        } catch (IllegalStateException | SQLException | java.io.UncheckedIOException e) {
            err.println("demo: could not start the throwaway server or Sluice: " + e.getMessage());
            err.flush();
            return EXIT_UNUSABLE;
        }
        Thread onInterrupt = new Thread(() -> {
            err.println();
            err.println("demo: interrupted; stopping Sluice and the throwaway server, deleting " + demo.serverDir());
            err.flush();
            demo.close();
        }, "sluice-demo-interrupted");
        Runtime.getRuntime().addShutdownHook(onInterrupt);
        try (demo) {
            Demo.Outcome outcome = demo.run();
            out.print(DemoReport.render(outcome, keepRunning));
            out.flush();
            if (keepRunning) {
                out.printf("%nSluice and the server keep running. Connect through Sluice with the mysql or mariadb CLI,%n"
                        + "run SELECT SLEEP(30) in a few of them and watch /sessions and /stats:%n"
                        + "  mysql -h 127.0.0.1 -P %d -u %s -p%s%n"
                        + "Press Ctrl-C to stop both and delete %s.%n", demo.sluicePort(), Demo.USER, demo.password(), demo.serverDir());
                out.flush();
                new CountDownLatch(1).await(); // until Ctrl-C: the JVM's shutdown hooks clean up
            }
            return outcome.throughSluice().errors() == 0 ? 0 : 1;
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(onInterrupt);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or about to: it closes the demo
            }
        }
    }

    /** Null if the options make sense, else what is wrong. */
    private String checkOptions() {
        if (clients < 1 || queries < 1 || queryMillis < 0 || poolSize < 1 || maxConnections < 1) {
            return "--clients, --queries, --pool-size and --max-connections must be at least 1, --query-ms at least 0";
        }
        if (poolSize >= maxConnections) {
            return "--pool-size (" + poolSize + ") must be below --max-connections (" + maxConnections
                    + "): the demo's own root connection needs a slot too, and Sluice's point is to stay under the limit";
        }
        if (replicas < 0 || replicas > MAX_REPLICAS) {
            return "--replicas must be 0 (one server) to " + MAX_REPLICAS + ", got " + replicas;
        }
        if (replicas > 0 && clients < 2) {
            return "--replicas needs --clients of at least 2: one client inserts, the others read";
        }
        if (port < 0 || port > 65535 || adminPort < 0 || adminPort > 65535) {
            return "--port and --admin-port must be 0..65535";
        }
        try { // before a server is started for nothing
            ConfigLoader.parse("sluice.users.demo.password = \"x\"\nsluice.pool.acquire-timeout = \""
                    + acquireTimeout.replace("\"", "") + "\"\n");
        } catch (ConfigException e) {
            return "--acquire-timeout " + acquireTimeout + " is not a duration Sluice accepts (e.g. 30s, 1500ms): " + e.getMessage();
        }
        return null;
    }

    static String noServerMessage() {
        String nl = System.lineSeparator();
        return "demo: no MariaDB or MySQL server binary found (looked for mariadbd, then mysqld, on "
                + LocalServer.searchedPlaces() + ")." + nl
                + "The demo starts its own throwaway server from that binary, on a temporary directory and a free port" + nl
                + "on 127.0.0.1; it never touches a server you already run. Install one and run the demo again:" + nl
                + "  Debian/Ubuntu:  sudo apt-get install mariadb-server   (the system service need not run)" + nl
                + "  Fedora/RHEL:    sudo dnf install mariadb-server" + nl
                + "  macOS:          brew install mariadb" + nl
                + "or name a binary you have: sluice demo --mysqld /path/to/mysqld" + nl
                + "Nothing was started." + nl;
    }

    /** The demo prints its own story; Sluice's INFO lines would interleave with it on the terminal. */
    private static void quietLogs() {
        if (LoggerFactory.getLogger("io.sluice") instanceof ch.qos.logback.classic.Logger sluice) {
            sluice.setLevel(Level.WARN);
        }
    }
}
