package io.sluice.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.admin.doctor.ClusterDiagnosis;
import io.sluice.admin.doctor.Diagnosis;
import io.sluice.admin.doctor.Doctor;
import io.sluice.admin.doctor.DoctorOptions;
import io.sluice.admin.doctor.TextReport;
import io.sluice.admin.doctor.Unreachable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.Console;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.function.Function;

/**
 * {@code sluice doctor}: diagnoses "Too many connections" on a MySQL or MariaDB server. Connection
 * options follow the mysql CLI, so {@code -h} is the host and help is {@code --help} only. Prints a
 * report (or JSON with {@code --json}) and exits 0 healthy, 1 warning, 2 critical, 3 when it could
 * not run: bad usage, no password source, cannot connect.
 */
@Command(name = "doctor", sortOptions = false,
        description = {"Diagnoses \"Too many connections\" (ERROR 1040) on a MySQL or MariaDB server from live data:",
                "connections against max_connections, the processlist, sleeping connections, timeouts,",
                "per-user caps and file descriptors; then a ranked verdict and what to do about it.",
                "A cluster (--servers, or --admin of a Sluice with sluice.servers): each server, under a first line",
                "naming the server short of connections."},
        footer = {"", "Exit codes: 0 healthy, 1 warning, 2 critical (also when the server refuses the doctor with",
                "ERROR 1040, 1203 or 1226), 3 could not run (usage error, no password, cannot connect).",
                "A cluster exits with its worst server's code.",
                "Least privilege works: without PROCESS the report says what it could not see."})
public final class DoctorCommand implements Callable<Integer> {
    static final int EXIT_UNUSABLE = 3;
    /** TCP connect, and the server's greeting and login, each within this. */
    static final int LOGIN_TIMEOUT_MILLIS = 5000;
    /** Each read of the diagnosis once logged in. */
    static final int QUERY_TIMEOUT_MILLIS = 60_000;
    /** -p given without a value: prompt for the password. */
    private static final String PROMPT = "\u0000prompt";

    @Spec
    CommandSpec spec;

    @Option(names = {"-h", "--host"}, description = "server host (default ${DEFAULT-VALUE})", defaultValue = "127.0.0.1")
    String host;

    @Option(names = {"-P", "--port"}, description = "server port (default ${DEFAULT-VALUE})", defaultValue = "3306")
    int port;

    @Option(names = {"-u", "--user"}, description = "account to log in as (default ${DEFAULT-VALUE}); PROCESS shows every user's threads",
            defaultValue = "root")
    String user;

    @Option(names = {"-p", "--password"}, arity = "0..1", fallbackValue = PROMPT, paramLabel = "PASSWORD",
            description = "password; -p alone prompts for it without echo (a value on the command line shows in ps)")
    String password;

    @Option(names = "--password-env", paramLabel = "VAR", description = "read the password from environment variable VAR")
    String passwordEnv;

    @Option(names = "--password-file", paramLabel = "FILE", description = "read the password from FILE (trailing newlines stripped)")
    Path passwordFile;

    @Option(names = "--instances", paramLabel = "N", description = "application instances sharing the server, for pool sizing (default: distinct client hosts)")
    int instances;

    @Option(names = "--idle-threshold", paramLabel = "SECONDS", defaultValue = "60",
            description = "a connection sleeping longer than this is idle/leaked (default ${DEFAULT-VALUE})")
    long idleThreshold;

    @Option(names = "--kill-idle", description = "run the KILL statements for connections sleeping past the threshold, after confirmation")
    boolean killIdle;

    @Option(names = "--yes", description = "with --kill-idle: do not ask for confirmation (for scripts)")
    boolean yes;

    @Option(names = "--json", description = "print the diagnosis as JSON")
    boolean json;

    @Option(names = "--admin", paramLabel = "URL", description = "a Sluice admin endpoint (http://127.0.0.1:6034): include Sluice's view")
    String adminUrl;

    @Option(names = "--servers", paramLabel = "HOST:PORT,...", split = ",",
            description = {"diagnose each of these servers (a primary and its replicas), with roles as each server says;",
                    "a server without :PORT gets -P. With --admin naming a Sluice that fronts several servers,",
                    "its servers are diagnosed without this option, with roles as Sluice sees them"})
    List<String> servers;

    @Option(names = "--admin-token-env", paramLabel = "VAR", description = "environment variable holding that endpoint's bearer token")
    String adminTokenEnv;

    @Option(names = "--help", usageHelp = true, description = "show this help and exit")
    boolean help;

    /** The environment; tests substitute their own. */
    Function<String, String> env = System::getenv;
    /** The terminal, or null when there is none (pipes, CI); tests substitute null. */
    Console console = System.console();

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (instances < 0 || idleThreshold < 0) {
            err.println("doctor: --instances and --idle-threshold must not be negative");
            return EXIT_UNUSABLE;
        }
        if (yes && !killIdle) {
            err.println("doctor: --yes only applies to --kill-idle");
            return EXIT_UNUSABLE;
        }
        String secret;
        String token;
        try {
            secret = password();
            token = adminTokenEnv == null ? null : required(adminTokenEnv, "--admin-token-env");
        } catch (IllegalArgumentException e) {
            err.println("doctor: " + e.getMessage());
            return EXIT_UNUSABLE;
        }
        DoctorOptions options = new DoctorOptions(instances, idleThreshold);
        var parsed = spec.commandLine().getParseResult();
        boolean serverGiven = parsed != null && (parsed.hasMatchedOption("--host") || parsed.hasMatchedOption("--port"));
        if (servers != null && parsed.hasMatchedOption("--host")) {
            err.println("doctor: give either -h/--host (one server) or --servers (several), not both");
            return EXIT_UNUSABLE;
        }
        List<Doctor.Target> targets = new ArrayList<>();
        Diagnosis.SluiceView sluice = null;
        try {
            if (servers != null) {
                for (String s : servers) {
                    targets.add(Doctor.Target.parse(s, port));
                }
            }
        } catch (RuntimeException e) {
            err.println("doctor: --servers takes HOST:PORT,HOST:PORT,...: " + e.getMessage());
            return EXIT_UNUSABLE;
        }
        if (adminUrl != null && (servers != null || !serverGiven)) {
            // Sluice's view first: when it fronts several servers, those are the ones to diagnose.
            sluice = Doctor.fetchSluiceView(adminUrl, token);
            if (servers == null) {
                targets.addAll(Doctor.clusterTargets(sluice));
            }
        }
        if (!targets.isEmpty()) {
            if (killIdle) {
                err.println("doctor: --kill-idle works on one server: give its -h/-P instead of several servers");
                return EXIT_UNUSABLE;
            }
            return cluster(targets, secret, options, sluice, out);
        }
        try (Connection c = connect(host, port, secret)) {
            Diagnosis d = sluice != null ? Doctor.diagnose(c, host, port, options, sluice)
                    : Doctor.diagnose(c, host, port, options, adminUrl, token);
            if (json) {
                out.println(mapper().writeValueAsString(d));
            } else {
                out.print(TextReport.render(d));
            }
            out.flush();
            if (killIdle) {
                killIdle(c, d, out, err);
            }
            return d.exitCode();
        } catch (SQLException e) {
            return connectFailed(e, err);
        } catch (IOException e) {
            err.println("doctor: cannot write the report: " + e.getMessage());
            return EXIT_UNUSABLE;
        }
    }

    /** Every server of a cluster, one login each; exit code the worst server's (3 when one could not be diagnosed). */
    private int cluster(List<Doctor.Target> targets, String secret, DoctorOptions options, Diagnosis.SluiceView sluice,
                        PrintWriter out) {
        Doctor.Login login = new Doctor.Login() {
            @Override
            public Connection open(String h, int p) throws SQLException {
                return connect(h, p, secret);
            }

            @Override
            public long timeoutMillis() {
                return LOGIN_TIMEOUT_MILLIS;
            }
        };
        ClusterDiagnosis d = Doctor.diagnoseCluster(targets, login, options, sluice);
        try {
            if (json) {
                out.println(mapper().writeValueAsString(d));
            } else {
                out.print(TextReport.render(d));
            }
        } catch (IOException e) {
            spec.commandLine().getErr().println("doctor: cannot write the report: " + e.getMessage());
            return EXIT_UNUSABLE;
        }
        out.flush();
        return d.exitCode();
    }

    /** The mapper that writes (and, in tests, reads back) the JSON report. */
    static ObjectMapper mapper() {
        return Doctor.jsonMapper(); // snake_case, as GET /doctor and /stats
    }

    private Connection connect(String host, int port, String secret) throws SQLException {
        String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        Properties p = new Properties();
        p.setProperty("user", user);
        if (secret != null) {
            p.setProperty("password", secret);
        }
        // The login must answer within seconds: a server out of file descriptors completes the TCP
        // handshake from its listen backlog and then never greets, which is when the doctor is run.
        p.setProperty("connectTimeout", String.valueOf(LOGIN_TIMEOUT_MILLIS));
        p.setProperty("socketTimeout", String.valueOf(LOGIN_TIMEOUT_MILLIS));
        p.setProperty("allowPublicKeyRetrieval", "true");
        p.setProperty("connectionAttributes", "program_name:sluice-doctor");
        Connection c = DriverManager.getConnection("jdbc:mysql://" + h + ":" + port + "/", p);
        try {
            // Logged in: the diagnosis' reads (the processlist of a loaded server) may take longer.
            c.setNetworkTimeout(Runnable::run, QUERY_TIMEOUT_MILLIS);
        } catch (SQLException e) {
            c.close();
            throw e;
        }
        return c;
    }

    /**
     * ERROR 1040 (server full), 1226 (account at its MAX_USER_CONNECTIONS) and 1203 (at the global
     * max_user_connections) are themselves the critical diagnosis;
     * anything else means the doctor could not run.
     */
    private int connectFailed(SQLException e, PrintWriter err) {
        int code = e.getErrorCode();
        if (code == 1040) {
            err.println("doctor: CRITICAL: " + host + ":" + port + " refuses connections: " + e.getMessage());
            err.println("  The server is at max_connections. An account with CONNECTION_ADMIN (or SUPER) gets one");
            err.println("  reserved connection: run sluice doctor as such an account to see why (MariaDB: extra_port).");
            return 2;
        }
        if (code == 1203 || code == 1226) {
            err.println("doctor: CRITICAL: " + user + " is at its connection cap: " + e.getMessage());
            err.println("  Run sluice doctor as another account to see who holds the connections.");
            return 2;
        }
        Unreachable unreachable = Unreachable.of(e, host, port, LOGIN_TIMEOUT_MILLIS);
        if (unreachable == null) {
            err.println("doctor: cannot diagnose " + host + ":" + port + " as " + user + ": "
                    + Unreachable.firstLine(e.getMessage()) + (code != 0 ? " (error " + code + ")" : ""));
        } else {
            // No login, but a server on this machine can still be looked at from outside.
            err.println("doctor: cannot diagnose " + host + ":" + port + " as " + user + ": " + unreachable.what());
            for (String line : unreachable.server()) {
                err.println("  " + line);
            }
        }
        err.flush();
        return EXIT_UNUSABLE;
    }

    private void killIdle(Connection c, Diagnosis d, PrintWriter out, PrintWriter err) throws SQLException {
        List<Diagnosis.Kill> kills = d.recommendations().kills();
        PrintWriter talk = json ? err : out; // keep stdout pure JSON
        if (kills.isEmpty()) {
            talk.println("--kill-idle: no connection sleeps longer than " + idleThreshold + "s; nothing to kill");
            talk.flush();
            return;
        }
        if (!yes) {
            if (console == null) {
                err.println("--kill-idle: no terminal to confirm on; add --yes to kill without asking");
                err.flush();
                return;
            }
            String answer = console.readLine("Kill %d connection(s) sleeping longer than %ds? Type yes to confirm: ",
                    kills.size(), idleThreshold);
            if (answer == null || !answer.trim().equalsIgnoreCase("yes")) {
                talk.println("--kill-idle: not confirmed; nothing killed");
                talk.flush();
                return;
            }
        }
        int killed = 0;
        for (Doctor.KillResult r : Doctor.killIdle(c, kills, idleThreshold)) {
            talk.println("  " + r.statement() + ": " + (r.killed() ? "killed" : r.error()));
            killed += r.killed() ? 1 : 0;
        }
        talk.println("--kill-idle: killed " + killed + " of " + kills.size());
        talk.flush();
    }

    /** The password from exactly one source, or null for none; never echoed. */
    String password() {
        int sources = (password != null ? 1 : 0) + (passwordEnv != null ? 1 : 0) + (passwordFile != null ? 1 : 0);
        if (sources > 1) {
            throw new IllegalArgumentException("give only one of -p/--password, --password-env, --password-file");
        }
        if (passwordEnv != null) {
            return required(passwordEnv, "--password-env");
        }
        if (passwordFile != null) {
            try {
                return Files.readString(passwordFile, StandardCharsets.UTF_8).replaceAll("[\r\n]+$", "");
            } catch (IOException e) {
                throw new IllegalArgumentException("--password-file " + passwordFile + " cannot be read: " + e.getMessage());
            }
        }
        if (PROMPT.equals(password)) {
            if (console == null) {
                throw new IllegalArgumentException("-p without a value needs a terminal to prompt on; "
                        + "use --password-env VAR or --password-file FILE");
            }
            char[] typed = console.readPassword("Enter password: ");
            if (typed == null) {
                throw new IllegalArgumentException("no password entered");
            }
            return new String(typed);
        }
        return password;
    }

    private String required(String variable, String option) {
        String v = env.apply(variable);
        if (v == null || v.isEmpty()) {
            throw new IllegalArgumentException(option + ": environment variable " + variable + " is not set or empty");
        }
        return v;
    }
}
