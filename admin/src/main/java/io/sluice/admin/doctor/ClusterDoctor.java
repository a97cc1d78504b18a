package io.sluice.admin.doctor;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.admin.doctor.ClusterDiagnosis.Failure;
import io.sluice.admin.doctor.ClusterDiagnosis.Member;
import io.sluice.admin.doctor.ClusterDiagnosis.ServerRole;
import io.sluice.admin.doctor.ClusterDiagnosis.SluiceRole;
import io.sluice.admin.doctor.Diagnosis.SluiceView;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Diagnoses each server of a cluster with the one-server doctor, labels it with its role and picks
 * the server short of connections. Blocking (JDBC): call from a worker thread. One login at a time,
 * each closed before the next server is read.
 */
final class ClusterDoctor {
    private ClusterDoctor() {
    }

    static ClusterDiagnosis diagnose(List<Doctor.Target> targets, Doctor.Login login, DoctorOptions options,
                                     SluiceView sluice) {
        String takenAt = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        boolean fromSluice = sluice != null && sluice.error() == null && sluice.stats() != null
                && sluice.stats().path("cluster").path("servers").isArray();
        List<Member> members = new ArrayList<>();
        for (Doctor.Target t : targets) {
            JsonNode entry = fromSluice ? entry(sluice.stats(), t) : null;
            SluiceRole sluiceRole = entry == null ? null : sluiceRole(entry);
            String endpoint = t.unreachableReason() != null ? t.host() : Doctor.endpoint(t.host(), t.port());
            if (t.unreachableReason() != null) {
                members.add(new Member(endpoint, sluiceRole == null ? "unknown" : sluiceRole.role(), null, sluiceRole, null,
                        new Failure(t.unreachableReason(), 0, 3)));
                continue;
            }
            try (Connection c = login.open(t.host(), t.port())) {
                ServerRole says = serverRole(c);
                SluiceView view = sluice == null ? null : entry == null ? sluice : perServer(sluice, entry);
                Diagnosis d = Doctor.diagnose(c, t.host(), t.port(), options, view);
                members.add(new Member(endpoint, sluiceRole != null ? sluiceRole.role() : says.role(), says, sluiceRole, d, null));
            } catch (SQLException e) {
                members.add(new Member(endpoint, sluiceRole == null ? "unknown" : sluiceRole.role(), null, sluiceRole, null,
                        failure(e, t, login)));
            }
        }
        // Sluice's roles when it fronts these servers (--servers may name others than it does).
        boolean sluiceRoles = members.stream().anyMatch(m -> m.sluice() != null);
        return of(takenAt, members, sluiceRoles ? "sluice" : "servers", sluice == null ? null : sluice.url());
    }

    /** The servers' diagnoses summed up: which are short of connections, worst first, and the verdict line. */
    static ClusterDiagnosis of(String takenAt, List<Member> members, String roles, String sluiceUrl) {
        List<Member> shortOnes = members.stream().filter(m -> m.severity() != null && m.severity() != Severity.OK)
                .sorted(Comparator.comparing(Member::severity).reversed().thenComparing(ClusterDoctor::usedPercent,
                        Comparator.reverseOrder()))
                .toList();
        Severity worst = members.stream().map(Member::severity).filter(s -> s != null).reduce(Severity.OK, Severity::worst);
        int exit = members.stream().mapToInt(Member::exitCode).max().orElse(0);
        return new ClusterDiagnosis(takenAt, verdict(members, shortOnes, worst),
                shortOnes.stream().map(Member::endpoint).toList(), worst, exit, roles, sluiceUrl, List.copyOf(members));
    }

    private static double usedPercent(Member m) {
        return m.diagnosis() == null ? 100 : m.diagnosis().connections().usedPercent();
    }

    /**
     * "CRITICAL: 127.0.0.1:3308 (replica) is short of connections: max_connections too low (9 of 10
     * connected); also WARNING 127.0.0.1:3307 (primary): idle leak / oversized pools" or
     * "OK: none of the 3 servers is short of connections", and the servers not diagnosed.
     */
    static String verdict(List<Member> members, List<Member> shortOnes, Severity worst) {
        StringBuilder b = new StringBuilder(worst.name()).append(": ");
        if (shortOnes.isEmpty()) {
            b.append("none of the ").append(members.size()).append(" servers is short of connections");
        } else {
            Member first = shortOnes.get(0);
            b.append(first.label()).append(" is short of connections: ").append(why(first));
            for (Member m : shortOnes.subList(1, shortOnes.size())) {
                b.append("; also ").append(m.severity()).append(' ').append(m.label()).append(": ").append(why(m));
            }
        }
        List<Member> failed = members.stream().filter(m -> m.severity() == null).toList();
        for (Member m : failed) {
            b.append("; ").append(m.label()).append(" not diagnosed: ").append(Unreachable.firstLine(m.error().message()));
        }
        return b.toString();
    }

    private static String why(Member m) {
        if (m.diagnosis() == null) {
            return "it refuses connections (ERROR " + m.error().serverErrorCode() + ")";
        }
        Diagnosis d = m.diagnosis();
        return d.verdict().label() + " (" + d.connections().connected() + " of " + d.connections().maxConnections()
                + " connected)";
    }

    private static Failure failure(SQLException e, Doctor.Target t, Doctor.Login login) {
        int code = e.getErrorCode();
        if (code == 1040 || code == 1203 || code == 1226) {
            return new Failure("refuses the doctor's login: " + Unreachable.firstLine(e.getMessage()), code,
                    Severity.CRITICAL.exitCode());
        }
        Unreachable u = Unreachable.of(e, t.host(), t.port(), login.timeoutMillis());
        String message = u == null ? Unreachable.firstLine(e.getMessage()) + (code != 0 ? " (error " + code + ")" : "")
                : u.what();
        return new Failure(message, code, 3);
    }

    /**
     * The server's entry in /stats {@code cluster.servers}, by its address as sluice.servers writes
     * it ({@code host:port}, or {@code unix:/path}); null when Sluice does not front that server.
     */
    private static JsonNode entry(JsonNode stats, Doctor.Target t) {
        String address = t.unreachableReason() != null ? t.host() : t.host() + ":" + t.port();
        for (JsonNode s : stats.path("cluster").path("servers")) {
            if (address.equals(s.path("address").asText())) {
                return s;
            }
        }
        return null;
    }

    private static SluiceRole sluiceRole(JsonNode s) {
        JsonNode lag = s.path("lag_ms");
        JsonNode cap = s.path("server_limits").path("backend_cap");
        return new SluiceRole(s.path("role").asText("unknown"), s.path("up").asBoolean(false),
                s.path("readable").asBoolean(false), lag.isNumber() ? lag.asDouble() : null,
                s.path("why").isTextual() ? s.path("why").asText() : null, s.path("backend_connections").asLong(-1),
                cap.isNumber() ? cap.asLong() : null);
    }

    /**
     * Sluice's view narrowed to one server: its pools and backend connections; clients, sessions
     * and global-max stay Sluice's own. {@code stats} is that server's entry of /stats {@code cluster.servers}.
     */
    private static SluiceView perServer(SluiceView all, JsonNode entry) {
        List<Diagnosis.SluicePool> pools = new ArrayList<>();
        long waiting = 0;
        for (JsonNode p : entry.path("pools")) {
            Diagnosis.SluicePool pool = SluiceAdminClient.pool(p);
            pools.add(pool);
            waiting += pool.waiting();
        }
        return new SluiceView(all.url(), null, all.clients(), entry.path("backend_connections").asLong(-1), all.globalMax(),
                pools, all.sessions(), waiting, all.pinned(), entry, all.statements().stream()
                        .filter(s -> s.server().equals(entry.path("address").asText())).toList());
    }

    /**
     * {@code @@global.read_only} and the replication threads ({@code SHOW REPLICA STATUS}, MySQL
     * 8.0.22+ and MariaDB 10.5+, else {@code SHOW SLAVE STATUS}); the status needs REPLICATION CLIENT
     * (MySQL), REPLICA MONITOR or SUPER (MariaDB): without it the replication is "unknown".
     */
    static ServerRole serverRole(Connection c) throws SQLException {
        boolean readOnly;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT @@global.read_only")) {
            rs.next();
            readOnly = rs.getBoolean(1);
        }
        String replication;
        try {
            replication = replication(c, "SHOW REPLICA STATUS");
        } catch (SQLException e) {
            try {
                replication = replication(c, "SHOW SLAVE STATUS");
            } catch (SQLException e2) {
                replication = "unknown: " + Unreachable.firstLine(e2.getMessage());
            }
        }
        return new ServerRole(readOnly, replication);
    }

    private static String replication(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            if (!rs.next()) {
                return "not a replica";
            }
            String io = column(rs, "Slave_IO_Running", "Replica_IO_Running");
            String sqlThread = column(rs, "Slave_SQL_Running", "Replica_SQL_Running");
            if ("Yes".equalsIgnoreCase(io) && "Yes".equalsIgnoreCase(sqlThread)) {
                return "running";
            }
            return "stopped: IO thread " + lower(io) + ", SQL thread " + lower(sqlThread);
        }
    }

    private static String column(ResultSet rs, String... names) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        for (int i = 1; i <= md.getColumnCount(); i++) {
            for (String n : names) {
                if (n.equalsIgnoreCase(md.getColumnLabel(i))) {
                    return rs.getString(i);
                }
            }
        }
        return "unknown";
    }

    private static String lower(String s) {
        return s == null ? "unknown" : s.toLowerCase(Locale.ROOT);
    }
}
