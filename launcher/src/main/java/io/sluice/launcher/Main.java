package io.sluice.launcher;

import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sluice.admin.AdminServer;
import io.sluice.admin.Drain;
import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;
import io.sluice.proxy.ProxyServer;
import io.sluice.proxy.StartupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code sluice}: runs the proxy. Flags cover the essentials so a script or container needs no
 * config file; everything else comes from {@code -c FILE} and SLUICE_* environment variables
 * (see {@code reference.conf}). Exit codes: 0 stopped cleanly, 2 invalid configuration, 1 failed.
 */
@Command(name = "sluice", mixinStandardHelpOptions = true, version = "Sluice 0.1.0", subcommands = {DoctorCommand.class, DemoCommand.class},
        description = "A MySQL connection gate: many client sessions, a few bounded backend connections.",
        footer = {"", "Environment variables (override the config file, below flags):",
                "  SLUICE_LISTEN_HOST/PORT, SLUICE_SERVER_HOST/PORT, SLUICE_USER, SLUICE_PASSWORD,",
                "  SLUICE_BACKEND_USER, SLUICE_BACKEND_PASSWORD, SLUICE_FLEET_SIZE, SLUICE_POOL_MODE, SLUICE_POOL_SIZE,",
                "  SLUICE_POOL_GLOBAL_MAX, SLUICE_ACQUIRE_TIMEOUT, SLUICE_MAX_CLIENTS,",
                "  SLUICE_ADMIN_HOST/PORT, SLUICE_ADMIN_TOKEN"})
public final class Main implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(Main.class);

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "HOCON config file (see reference.conf for every key)")
    Path configFile;

    @Option(names = "--listen", paramLabel = "[HOST:]PORT", description = "where clients connect (default 0.0.0.0:6033)")
    String listen;

    @Option(names = "--server", paramLabel = "HOST[:PORT]|/SOCKET", description = "the MySQL server (default 127.0.0.1:3306), or the path of its Unix socket; "
            + "a comma-separated list names a primary and its replicas")
    String server;

    @Option(names = {"-u", "--user"}, description = "a front-end user (clients log in to Sluice as this user)")
    String user;

    @Option(names = {"-p", "--password"}, description = "that user's password (prefer SLUICE_PASSWORD: flags show in ps)")
    String password;

    @Option(names = "--backend-user", description = "server account for that user's pool (default: the same user)")
    String backendUser;

    @Option(names = "--backend-password", description = "its password (default: the same password)")
    String backendPassword;

    @Option(names = "--pool-mode", description = "session | transaction")
    String poolMode;

    @Option(names = "--pool-size", description = "backend connections per backend user")
    Integer poolSize;

    @Option(names = "--global-max", description = "backend connections across all pools")
    Integer globalMax;

    @Option(names = "--acquire-timeout", description = "how long a request may wait for a backend, e.g. 5s")
    String acquireTimeout;

    @Option(names = "--max-clients", description = "client connections accepted at once")
    Integer maxClients;

    @Option(names = "--admin-port", description = "admin HTTP port (default 6034)")
    Integer adminPort;

    /** Turns the flags into config-path overrides for {@link ConfigLoader}. */
    Map<String, String> overrides() {
        Map<String, String> o = new LinkedHashMap<>();
        if (listen != null) {
            hostPort(listen, "sluice.listen", o, true);
        }
        if (server != null && server.contains(",")) {
            o.put("sluice.servers", server); // a primary and its replicas
        } else if (server != null && server.startsWith("/")) {
            o.put("sluice.server.socket", server);
        } else if (server != null) {
            hostPort(server, "sluice.server", o, false);
        }
        if (user != null) {
            if (password != null) {
                o.put(ConfigLoader.userKey(user, "password"), password);
            }
            if (backendUser != null) {
                o.put(ConfigLoader.userKey(user, "backend-user"), backendUser);
            }
            if (backendPassword != null) {
                o.put(ConfigLoader.userKey(user, "backend-password"), backendPassword);
            }
        } else if (password != null || backendUser != null || backendPassword != null) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--password, --backend-user and --backend-password need --user");
        }
        put(o, "sluice.pool.mode", poolMode);
        put(o, "sluice.pool.max-per-user", poolSize);
        put(o, "sluice.pool.global-max", globalMax);
        put(o, "sluice.pool.acquire-timeout", acquireTimeout);
        put(o, "sluice.frontend.max-clients", maxClients);
        put(o, "sluice.admin.port", adminPort);
        return o;
    }

    private static void put(Map<String, String> o, String key, Object value) {
        if (value != null) {
            o.put(key, String.valueOf(value));
        }
    }

    private static void hostPort(String v, String prefix, Map<String, String> o, boolean portOnlyAllowed) {
        int colon = v.lastIndexOf(':');
        if (colon < 0) {
            if (portOnlyAllowed && v.chars().allMatch(Character::isDigit)) {
                o.put(prefix + ".port", v);
            } else {
                o.put(prefix + ".host", v);
            }
            return;
        }
        if (colon > 0) {
            o.put(prefix + ".host", v.substring(0, colon));
        }
        o.put(prefix + ".port", v.substring(colon + 1));
    }

    @Override
    public Integer call() throws Exception {
        SluiceConfig config;
        try {
            config = ConfigLoader.load(Optional.ofNullable(configFile), overrides());
        } catch (ConfigException e) {
            System.err.println(e.getMessage());
            return 2;
        }
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        ProxyServer proxy;
        try {
            proxy = new ProxyServer(config, registry);
        } catch (StartupException e) {
            return cannotStart(e);
        }
        // The admin port is bound before the client port, so a taken admin port stops start-up
        // before any client is accepted; until the client port is open, /ready answers 503.
        // POST /reload re-reads the same sources: the file, the environment, these flags.
        Map<String, String> overrides = overrides();
        AdminServer admin = null;
        try {
            admin = config.admin().enabled() ? new AdminServer(proxy, config.admin(), registry,
                    () -> ConfigLoader.load(Optional.ofNullable(configFile), overrides)).start() : null;
            proxy.start();
        } catch (StartupException e) {
            if (admin != null) {
                admin.close();
            }
            proxy.close();
            return cannotStart(e);
        }
        AdminServer adminServer = admin;
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // SIGTERM: stop accepting (so /ready answers 503), let busy sessions and open
            // transactions finish for up to drain-timeout, then close; the admin endpoint stays
            // up meanwhile so the drain can be watched.
            Duration drain = proxy.config().frontend().drainTimeout();
            log.info("stopping Sluice: accepting no new clients, draining for up to {} ms (sluice.frontend.drain-timeout)",
                    drain.toMillis());
            Drain.Result result = Drain.run(proxy, drain);
            proxy.close();
            if (adminServer != null) {
                adminServer.close();
            }
            log.info("Sluice stopped ({})", result.drained() ? "drained in " + result.waitedMillis() + " ms"
                    : result.busyLeft() + " sessions were still busy and were closed");
            stopped.countDown();
        }, "sluice-shutdown"));
        stopped.await();
        return 0;
    }

    /** A setting this machine cannot honour (a port in use, io_uring blocked by seccomp, an unreadable key): one line, exit 2. */
    private static int cannotStart(StartupException e) {
        System.err.println("sluice: cannot start: " + e.getMessage());
        return 2;
    }

    static final String RECYCLER_CHUNK_SIZE = "io.netty.recycler.chunkSize";

    /**
     * Netty settings for the proxy process, each applied only when the operator has not set it
     * ({@code -Dname=value} wins). Must run before any Netty class reads them.
     * <ul>
     *   <li>{@code io.netty.leakDetection.level=disabled}: the default (SIMPLE) records a stack trace
     *       for about one buffer in 128, ~2% of the event loops' CPU under point selects
     *       (docs/benchmarks.md). The test suite runs every buffer path at PARANOID and fails on a
     *       leak; {@code -Dio.netty.leakDetection.level=simple} turns it back on.</li>
     *   <li>{@code io.netty.recycler.chunkSize=1024}: one backend read of a result set yields a slice
     *       and an outbound entry per row, hundreds at a time, all released together when the client
     *       write completes. Netty's Recycler keeps 32 per thread on its fast path and queues the rest
     *       in a linked queue that allocates a new chunk as it goes: ~9 B of garbage per forwarded row.
     *       With 1,024 the rows of a read fit, and the forwarding path allocates ~0 B per row.</li>
     * </ul>
     */
    static void nettyDefaults() {
        if (System.getProperty("io.netty.leakDetection.level") == null && System.getProperty("io.netty.leakDetectionLevel") == null) {
            System.setProperty("io.netty.leakDetection.level", "disabled");
        }
        if (System.getProperty(RECYCLER_CHUNK_SIZE) == null) {
            System.setProperty(RECYCLER_CHUNK_SIZE, "1024");
        }
    }

    public static void main(String[] args) {
        nettyDefaults();
        int code = new CommandLine(new Main()).execute(args);
        if (code != 0) {
            System.exit(code);
        }
    }
}
