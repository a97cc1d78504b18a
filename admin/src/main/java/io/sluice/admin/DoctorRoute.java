package io.sluice.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.sluice.admin.AdminServer.Response;
import io.sluice.admin.doctor.ClusterDiagnosis;
import io.sluice.admin.doctor.Diagnosis;
import io.sluice.admin.doctor.Doctor;
import io.sluice.admin.doctor.DoctorOptions;
import io.sluice.admin.doctor.Unreachable;
import io.sluice.config.BackendTlsConfig;
import io.sluice.config.ClusterConfig;
import io.sluice.config.ServerConfig;
import io.sluice.config.SluiceConfig;
import io.sluice.config.UserConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * {@code GET /doctor}: the {@code sluice doctor} diagnosis of the server Sluice fronts, logged in as
 * a configured user's backend account, with Sluice's own view taken in-process from {@link Views}
 * (what {@code sluice doctor --admin URL} reads over HTTP). JDBC blocks, so the work runs on a
 * worker thread of its own, never on the admin event loop; one diagnosis runs at a time, two more
 * may queue, beyond that the route answers 503. An answer not ready within the timeout (30 s) is
 * a 504, and the worker is interrupted (its JDBC socket timeout ends it in any case).
 */
final class DoctorRoute implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DoctorRoute.class);
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    private static final int QUEUED = 2;

    private final Supplier<SluiceConfig> config;
    private final Views views;
    private final ObjectMapper mapper;
    /** The admin endpoint's own base URL, named as the source of Sluice's view. */
    private final Supplier<String> selfUrl;
    private final ThreadPoolExecutor worker = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(QUEUED), new DefaultThreadFactory("sluice-admin-doctor", true));
    private volatile Duration timeout = DEFAULT_TIMEOUT;

    DoctorRoute(Supplier<SluiceConfig> config, Views views, ObjectMapper mapper, Supplier<String> selfUrl) {
        this.config = config;
        this.views = views;
        this.mapper = mapper;
        this.selfUrl = selfUrl;
    }

    /** For tests: a shorter wait before 504. */
    void timeout(Duration timeout) {
        this.timeout = timeout;
    }

    /**
     * Starts a diagnosis; the future completes on the worker thread (or the timeout's), never on
     * the caller's. Bad parameters complete at once with 400 or 404.
     *
     * <p>Parameters: {@code user} (a front-end user name; its backend account logs in; default: the
     * first user by name with a password, else the sluice.auth lookup account), {@code instances} and {@code idle_threshold} (seconds) as the CLI's
     * {@code --instances} and {@code --idle-threshold}.
     */
    /**
     * The first configured user with a password; with none and sluice.auth.source = server, the
     * lookup account (the one server account Sluice has a password for); else null.
     */
    private static UserConfig defaultUser(SluiceConfig c) {
        UserConfig first = c.users().values().stream().filter(u -> !u.settingsOnly()).findFirst().orElse(null);
        if (first != null || !c.auth().fromServer()) {
            return first;
        }
        String lookup = c.auth().lookupUser().orElseThrow();
        String password = c.auth().lookupPassword().orElseThrow();
        return new UserConfig(lookup, java.util.Optional.of(password), java.util.Optional.empty(), lookup, password,
                java.util.Optional.empty(), java.util.OptionalInt.empty(), false);
    }

    CompletableFuture<Response> start(QueryStringDecoder uri) {
        SluiceConfig c = config.get();
        Map<String, List<String>> params = uri.parameters();
        UserConfig user;
        if (params.containsKey("user")) {
            String name = params.get("user").get(0);
            user = c.users().get(name);
            if (user == null || user.settingsOnly()) {
                return done(Response.error(mapper, 404, "not_found", "no user '" + name + "' in sluice.users; configured: "
                        + c.users().keySet()));
            }
        } else {
            user = defaultUser(c);
            if (user == null) {
                return done(Response.error(mapper, 404, "not_found", "no user with a password in sluice.users to diagnose as"));
            }
        }
        DoctorOptions options;
        try {
            options = new DoctorOptions((int) number(params, "instances", 0, Integer.MAX_VALUE),
                    number(params, "idle_threshold", DoctorOptions.DEFAULT_IDLE_THRESHOLD_SECONDS, Long.MAX_VALUE / 1000));
        } catch (IllegalArgumentException e) {
            return done(Response.error(mapper, 400, "bad_request", e.getMessage()));
        }
        Duration limit = timeout;
        ServerConfig server = c.server();
        Response timedOut = Response.error(mapper, 504, "timeout", "the diagnosis of " + endpoint(server) + " as "
                + user.backendUser() + " did not finish within " + limit.toMillis() + " ms");
        CompletableFuture<Response> result = new CompletableFuture<>();
        Future<?> task;
        try {
            task = worker.submit(() -> result.complete(c.cluster().isCluster()
                    ? diagnoseCluster(server, c.cluster(), user, options, limit)
                    : diagnose(server, user, options, limit)));
        } catch (RejectedExecutionException e) {
            return done(Response.error(mapper, 503, "busy", "a diagnosis is running and " + QUEUED
                    + " more are queued; try again when they are done"));
        }
        result.completeOnTimeout(timedOut, limit.toMillis(), TimeUnit.MILLISECONDS);
        result.thenAccept(r -> {
            if (r == timedOut) {
                log.warn("admin: GET /doctor gave up after {} ms: {} as {} did not answer in time", limit.toMillis(),
                        endpoint(server), user.backendUser());
                task.cancel(true);
            }
        });
        return result;
    }

    private static CompletableFuture<Response> done(Response r) {
        return CompletableFuture.completedFuture(r);
    }

    private static long number(Map<String, List<String>> params, String name, long dflt, long max) {
        List<String> v = params.get(name);
        if (v == null) {
            return dflt;
        }
        try {
            long n = Long.parseLong(v.get(0));
            if (n >= 0 && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(name + " must be a whole number >= 0, got " + v.get(0));
    }

    /**
     * With sluice.server.tls.mode = verify-ca: a throwaway PKCS12 trust store of the CA file, named in
     * {@code p} for Connector/J; the caller deletes it. Null in the other modes.
     */
    private static Path verifyCa(ServerConfig server, Properties p) throws IOException, GeneralSecurityException {
        if (server.tls().mode() != BackendTlsConfig.Mode.VERIFY_CA) {
            return null;
        }
        byte[] random = new byte[16];
        new SecureRandom().nextBytes(random);
        char[] password = HexFormat.of().formatHex(random).toCharArray();
        Path trustStore = trustStore(server.tls().caFile().orElseThrow(), password);
        p.setProperty("trustCertificateKeyStoreUrl", trustStore.toUri().toString());
        p.setProperty("trustCertificateKeyStoreType", "PKCS12");
        p.setProperty("trustCertificateKeyStorePassword", new String(password));
        return trustStore;
    }

    private static void deleteQuietly(Path trustStore) {
        if (trustStore != null) {
            try {
                Files.deleteIfExists(trustStore);
            } catch (IOException e) {
                log.debug("cannot delete {}: {}", trustStore, e.toString());
            }
        }
    }

    /** On the worker: log in, take Sluice's view, diagnose. Every outcome is a response, never an exception. */
    private Response diagnose(ServerConfig server, UserConfig user, DoctorOptions options, Duration limit) {
        long started = System.nanoTime();
        Path trustStore = null;
        try {
            Properties p = jdbcProperties(server, user);
            trustStore = verifyCa(server, p);
            try (Connection c = DriverManager.getConnection("jdbc:mysql://" + endpoint(server) + "/", p)) {
                // Logged in: each read may take longer than the answer is awaited, so the 504 comes
                // first, deterministically.
                c.setNetworkTimeout(Runnable::run, (int) Math.min(Integer.MAX_VALUE, limit.plusSeconds(5).toMillis()));
                Diagnosis.SluiceView sluice = Doctor.sluiceView(selfUrl.get(), mapper.valueToTree(views.stats()),
                        mapper.valueToTree(views.sessions(null, Integer.MAX_VALUE)), mapper.valueToTree(views.topStatements()));
                Diagnosis d = Doctor.diagnose(c, server.host(), server.port(), options, sluice);
                log.info("admin: doctor diagnosed {} as {} in {} ms: {} {}", endpoint(server), user.backendUser(),
                        (System.nanoTime() - started) / 1_000_000, d.severity(), d.verdict().label());
                return Response.json(mapper, 200, d);
            }
        } catch (SQLException e) {
            log.warn("admin: GET /doctor could not diagnose {} as {}: {}", endpoint(server), user.backendUser(), e.getMessage());
            Unreachable unreachable = Unreachable.of(e, server.host(), server.port(), server.connectTimeout().toMillis());
            if (unreachable != null) {
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("error", "server_unreachable");
                body.put("message", "cannot diagnose " + endpoint(server) + " as " + user.backendUser() + ": " + unreachable.what());
                body.put("server_process", unreachable.server());
                return Response.json(mapper, 502, body);
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("error", "server_error");
            body.put("message", "cannot diagnose " + endpoint(server) + " as " + user.backendUser() + " (the backend account of user '"
                    + user.name() + "'): " + e.getMessage());
            body.put("server_error_code", e.getErrorCode());
            if (e.getErrorCode() == 1040 || e.getErrorCode() == 1203 || e.getErrorCode() == 1226) {
                // The server refusing the doctor is itself the diagnosis (see docs/doctor.md, exit code 2).
                body.put("hint", "the server (or this account) is at its connection limit; run sluice doctor as an "
                        + "account with CONNECTION_ADMIN or SUPER, or use ?user= for another account");
            }
            return Response.json(mapper, 502, body);
        } catch (IOException | GeneralSecurityException e) {
            return Response.error(mapper, 500, "internal_error", "cannot build a trust store from sluice.server.tls.ca-file: " + e);
        } finally {
            deleteQuietly(trustStore);
        }
    }

    /**
     * On the worker, with {@code sluice.servers} naming several servers: each one diagnosed as the
     * one server is, labelled with the role Sluice's monitor gives it, under a verdict naming the
     * server short of connections. 200 when at least one server was diagnosed, else 502; each
     * server's failure is in its entry, never an exception.
     */
    private Response diagnoseCluster(ServerConfig shared, ClusterConfig cluster, UserConfig user, DoctorOptions options,
                                     Duration limit) {
        long started = System.nanoTime();
        Path trustStore = null;
        try {
            Properties base = jdbcProperties(shared, user);
            trustStore = verifyCa(shared, base);
            List<Doctor.Target> targets = new ArrayList<>();
            for (ClusterConfig.Member m : cluster.servers()) {
                targets.add(m.socket().isPresent() ? Doctor.Target.parse(m.address(), m.port())
                        : new Doctor.Target(m.host(), m.port()));
            }
            int networkTimeout = (int) Math.min(Integer.MAX_VALUE, limit.plusSeconds(5).toMillis());
            Doctor.Login login = new Doctor.Login() {
                @Override
                public Connection open(String host, int port) throws SQLException {
                    Connection c = DriverManager.getConnection("jdbc:mysql://"
                            + (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port + "/", base);
                    try {
                        c.setNetworkTimeout(Runnable::run, networkTimeout);
                    } catch (SQLException e) {
                        c.close();
                        throw e;
                    }
                    return c;
                }

                @Override
                public long timeoutMillis() {
                    return shared.connectTimeout().toMillis();
                }
            };
            Diagnosis.SluiceView sluice = Doctor.sluiceView(selfUrl.get(), mapper.valueToTree(views.stats()),
                    mapper.valueToTree(views.sessions(null, Integer.MAX_VALUE)), mapper.valueToTree(views.topStatements()));
            ClusterDiagnosis d = Doctor.diagnoseCluster(targets, login, options, sluice);
            log.info("admin: doctor diagnosed {} servers as {} in {} ms: {}", targets.size(), user.backendUser(),
                    (System.nanoTime() - started) / 1_000_000, d.verdict());
            boolean any = d.servers().stream().anyMatch(m -> m.diagnosis() != null);
            return Response.json(mapper, any ? 200 : 502, d);
        } catch (IOException | GeneralSecurityException e) {
            return Response.error(mapper, 500, "internal_error", "cannot build a trust store from sluice.server.tls.ca-file: " + e);
        } finally {
            deleteQuietly(trustStore);
        }
    }

    /**
     * Connector/J properties for the backend account, with TLS as Sluice's own backends use it
     * ({@code sluice.server.tls.mode}); verify-ca also needs the trust store properties. The TCP
     * connect and then the greeting and login each get {@code sluice.server.connect-timeout}: a
     * server out of file descriptors accepts into its backlog and never greets.
     */
    static Properties jdbcProperties(ServerConfig server, UserConfig user) {
        Properties p = new Properties();
        p.setProperty("user", user.backendUser());
        p.setProperty("password", user.backendPassword());
        p.setProperty("connectTimeout", String.valueOf(server.connectTimeout().toMillis()));
        p.setProperty("socketTimeout", String.valueOf(server.connectTimeout().toMillis()));
        p.setProperty("connectionAttributes", "program_name:sluice-doctor");
        // As Sluice's backend login does: caching_sha2_password full auth without TLS asks for the key.
        p.setProperty("allowPublicKeyRetrieval", "true");
        p.setProperty("sslMode", switch (server.tls().mode()) {
            case DISABLED -> "DISABLED";
            case PREFERRED -> "PREFERRED";
            case REQUIRED -> "REQUIRED";
            case VERIFY_CA -> "VERIFY_CA";
        });
        return p;
    }

    /** A PKCS#12 trust store holding every certificate of a PEM file (Connector/J reads no PEM). */
    static Path trustStore(Path caPem, char[] password) throws IOException, GeneralSecurityException {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        List<Certificate> certs = new ArrayList<>();
        try (InputStream in = Files.newInputStream(caPem)) {
            certs.addAll(CertificateFactory.getInstance("X.509").generateCertificates(in));
        }
        if (certs.isEmpty()) {
            throw new GeneralSecurityException("no certificate in " + caPem);
        }
        for (int i = 0; i < certs.size(); i++) {
            ks.setCertificateEntry("ca" + i, certs.get(i));
        }
        Path file = Files.createTempFile("sluice-doctor-ca", ".p12");
        try (OutputStream out = Files.newOutputStream(file)) {
            ks.store(out, password);
        }
        return file;
    }

    private static String endpoint(ServerConfig server) {
        return (server.host().indexOf(':') >= 0 ? "[" + server.host() + "]" : server.host()) + ":" + server.port();
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
