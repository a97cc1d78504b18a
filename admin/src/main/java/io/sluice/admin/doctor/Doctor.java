package io.sluice.admin.doctor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sluice.admin.doctor.Diagnosis.Kill;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * The doctor's entry points. Blocking (JDBC, HTTP): call from a worker thread, never an event loop.
 * The caller owns the JDBC connection; the doctor only reads through it, except {@link #killIdle}.
 */
public final class Doctor {
    private Doctor() {
    }

    /**
     * Looks at the server once and diagnoses it.
     *
     * @param connection an open connection to the server; its account's privileges decide what is seen
     * @param host       the host it connects to (the server counts as local when it is a loopback address)
     * @param port       its port, for the report
     * @param adminUrl   a Sluice admin endpoint to read /stats and /sessions from, or null
     * @param adminToken that endpoint's bearer token, or null
     * @throws SQLException only when the basic variables and status cannot be read at all
     */
    public static Diagnosis diagnose(Connection connection, String host, int port, DoctorOptions options,
                                     String adminUrl, String adminToken) throws SQLException {
        ServerSnapshot snapshot = SnapshotCollector.collect(connection, endpoint(host, port), host);
        Diagnosis.SluiceView sluice = adminUrl == null ? null : SluiceAdminClient.fetch(adminUrl, adminToken);
        return Diagnoser.diagnose(snapshot, options, sluice);
    }

    /**
     * Looks at the server once and diagnoses it, with Sluice's own view already in hand (the admin
     * endpoint's {@code GET /doctor} builds it in-process instead of over HTTP).
     *
     * @param sluice Sluice's view (see {@link #sluiceView}), or null
     * @throws SQLException only when the basic variables and status cannot be read at all
     */
    public static Diagnosis diagnose(Connection connection, String host, int port, DoctorOptions options,
                                     Diagnosis.SluiceView sluice) throws SQLException {
        ServerSnapshot snapshot = SnapshotCollector.collect(connection, endpoint(host, port), host);
        return Diagnoser.diagnose(snapshot, options, sluice);
    }

    /**
     * Sluice's view from the documents its admin endpoint serves, as {@code --admin} reads them.
     *
     * @param url      where the view comes from, for the report
     * @param stats    a {@code GET /stats} document
     * @param sessions a {@code GET /sessions} document
     */
    public static Diagnosis.SluiceView sluiceView(String url, JsonNode stats, JsonNode sessions) {
        return SluiceAdminClient.view(url, stats, sessions, null);
    }

    /** As {@link #sluiceView(String, JsonNode, JsonNode)}, with the statements of a GET /digests document (or null). */
    public static Diagnosis.SluiceView sluiceView(String url, JsonNode stats, JsonNode sessions, JsonNode digests) {
        return SluiceAdminClient.view(url, stats, sessions, digests);
    }

    /**
     * The mapper every JSON document of Sluice is written with ({@code sluice doctor --json},
     * {@code GET /doctor} and the admin endpoint's other routes): field names in snake_case, as
     * {@code /stats} has them (docs/admin.md, "JSON field names"). It reads a diagnosis back too.
     */
    public static ObjectMapper jsonMapper() {
        return new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .enable(SerializationFeature.INDENT_OUTPUT);
    }

    /**
     * Sluice's view read from its admin endpoint ({@code GET /stats} and {@code GET /sessions}), as
     * {@code --admin} reads it; a failure is the view's {@code error}, never an exception.
     */
    public static Diagnosis.SluiceView fetchSluiceView(String adminUrl, String adminToken) {
        return SluiceAdminClient.fetch(adminUrl, adminToken);
    }

    /** Opens the doctor's JDBC login to one server of a cluster; the doctor closes it. */
    public interface Login {
        Connection open(String host, int port) throws SQLException;

        /** How long the connect and then the greeting are each awaited, for the report of a silent server. */
        long timeoutMillis();
    }

    /**
     * One server of a cluster to diagnose.
     *
     * @param unreachableReason why the doctor cannot log in to it at all (a Unix socket: the doctor
     *                          connects over TCP), or null
     */
    public record Target(String host, int port, String unreachableReason) {
        public Target(String host, int port) {
            this(host, port, null);
        }

        /**
         * A server address as /stats and {@code --servers} write it: {@code host:port}, {@code [v6]:port},
         * {@code host} (then {@code defaultPort}) or {@code unix:/path}.
         */
        public static Target parse(String address, int defaultPort) {
            String a = address.strip();
            if (a.startsWith("unix:")) {
                return new Target(a, 0, "a Unix socket (" + a.substring(5) + "): the doctor connects over TCP only; "
                        + "run sluice doctor -h HOST -P PORT against that server's TCP port");
            }
            if (a.startsWith("[")) {
                int end = a.indexOf(']');
                String host = a.substring(1, end);
                return new Target(host, end + 1 < a.length() && a.charAt(end + 1) == ':'
                        ? Integer.parseInt(a.substring(end + 2)) : defaultPort);
            }
            // The last colon: an unbracketed IPv6 address with its port is how ClusterConfig.Member writes it.
            int colon = a.lastIndexOf(':');
            if (colon > 0) {
                return new Target(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1)));
            }
            return new Target(a, defaultPort);
        }
    }

    /**
     * The servers of the cluster Sluice fronts, from its /stats {@code cluster} section; empty when
     * the view has none (one server, or Sluice unreachable).
     */
    public static List<Target> clusterTargets(Diagnosis.SluiceView sluice) {
        if (sluice == null || sluice.error() != null || sluice.stats() == null) {
            return List.of();
        }
        List<Target> out = new ArrayList<>();
        for (JsonNode s : sluice.stats().path("cluster").path("servers")) {
            out.add(Target.parse(s.path("address").asText(), 3306));
        }
        return out;
    }

    /**
     * Diagnoses every server of a cluster, one after the other: each server's one-server diagnosis,
     * labelled with its role (from Sluice's /stats {@code cluster} section when {@code sluice} has
     * one, else from what the server says), under a verdict naming the server short of connections.
     * A server that cannot be diagnosed is reported, never thrown.
     *
     * @param sluice Sluice's view, or null; each server's diagnosis gets the view of its own pools
     */
    public static ClusterDiagnosis diagnoseCluster(List<Target> targets, Login login, DoctorOptions options,
                                                   Diagnosis.SluiceView sluice) {
        return ClusterDoctor.diagnose(targets, login, options, sluice);
    }

    /** The result of one KILL: {@code error} is null when the connection was ended. */
    public record KillResult(long id, String statement, boolean killed, String error) {
    }

    /**
     * Ends connections the diagnosis found sleeping past the threshold. Each one is checked again
     * just before its KILL (still in Sleep, same user, still past the threshold), so a connection
     * that woke up since the diagnosis is skipped rather than killed mid-statement.
     */
    public static List<KillResult> killIdle(Connection connection, List<Kill> kills, long idleThresholdSeconds)
            throws SQLException {
        List<KillResult> out = new ArrayList<>();
        String recheck = "SELECT COMMAND, TIME, USER FROM information_schema.PROCESSLIST WHERE ID = ?";
        try (PreparedStatement ps = connection.prepareStatement(recheck); Statement st = connection.createStatement()) {
            for (Kill k : kills) {
                ps.setLong(1, k.id());
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        out.add(new KillResult(k.id(), k.statement(), false, "gone already"));
                        continue;
                    }
                    if (!"Sleep".equals(rs.getString(1)) || rs.getLong(2) <= idleThresholdSeconds
                            || !k.user().equals(rs.getString(3))) {
                        out.add(new KillResult(k.id(), k.statement(), false, "no longer sleeping past the threshold: skipped"));
                        continue;
                    }
                }
                try {
                    st.execute(k.statement());
                    out.add(new KillResult(k.id(), k.statement(), true, null));
                } catch (SQLException e) {
                    out.add(new KillResult(k.id(), k.statement(), false, e.getMessage()));
                }
            }
        }
        return out;
    }

    static String endpoint(String host, int port) {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
