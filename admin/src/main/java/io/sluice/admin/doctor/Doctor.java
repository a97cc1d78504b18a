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
        return SluiceAdminClient.view(url, stats, sessions);
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
