package io.sluice.admin.doctor;

import io.sluice.admin.doctor.ServerSnapshot.AccountLimit;
import io.sluice.admin.doctor.ServerSnapshot.ProcessFiles;
import io.sluice.admin.doctor.ServerSnapshot.ProcessRow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads one {@link ServerSnapshot} over a JDBC connection, with whatever privileges the account
 * has: each source that fails (no PROCESS, no SELECT on mysql.*, a column another server lacks)
 * becomes a note, never an error. Only reads; the caller owns the connection.
 */
final class SnapshotCollector {
    private static final Logger log = LoggerFactory.getLogger(SnapshotCollector.class);

    private static final List<String> VARIABLES = List.of("max_connections", "max_user_connections", "wait_timeout",
            "interactive_timeout", "open_files_limit", "table_open_cache", "pid_file", "version", "version_comment");
    private static final List<String> STATUS = List.of("Threads_connected", "Threads_running", "Max_used_connections",
            "Max_used_connections_time", "Connection_errors_max_connections", "Open_files", "Uptime");
    /** "WITH MAX_USER_CONNECTIONS 5" in SHOW GRANTS (MySQL prints it in CREATE USER, MariaDB in GRANT). */
    private static final Pattern GRANT_LIMIT = Pattern.compile("MAX_USER_CONNECTIONS\\s+(-?\\d+)", Pattern.CASE_INSENSITIVE);
    /** A GRANT on *.* that includes PROCESS or ALL PRIVILEGES. */
    private static final Pattern GRANT_PROCESS = Pattern.compile(
            "^GRANT\\s+(.*?)\\s+ON\\s+\\*\\.\\*\\s+TO", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);

    private SnapshotCollector() {
    }

    /**
     * @param endpoint host:port, for the report
     * @param host     the host connected to, to tell whether the server is on this machine
     */
    static ServerSnapshot collect(Connection c, String endpoint, String host) throws SQLException {
        ServerSnapshot.Builder b = ServerSnapshot.builder();
        b.endpoint = endpoint;
        b.local = isLoopback(host);
        try (Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT CONNECTION_ID(), CURRENT_USER()")) {
                rs.next();
                b.ownConnectionId = rs.getLong(1);
                b.currentUser = rs.getString(2);
            }
            Map<String, String> vars = nameValues(st, "SHOW GLOBAL VARIABLES WHERE Variable_name IN " + in(VARIABLES));
            b.version = vars.getOrDefault("version", "");
            b.versionComment = vars.getOrDefault("version_comment", "");
            b.maxConnections = (int) num(vars.get("max_connections"), 151);
            b.maxUserConnections = num(vars.get("max_user_connections"), 0);
            b.waitTimeout = num(vars.get("wait_timeout"), 28800);
            b.interactiveTimeout = num(vars.get("interactive_timeout"), 28800);
            b.openFilesLimit = num(vars.get("open_files_limit"), -1);
            b.tableOpenCache = num(vars.get("table_open_cache"), -1);

            Map<String, String> status = nameValues(st, "SHOW GLOBAL STATUS WHERE Variable_name IN " + in(STATUS));
            b.threadsConnected = num(status.get("Threads_connected"), 1);
            b.threadsRunning = num(status.get("Threads_running"), 1);
            b.maxUsedConnections = num(status.get("Max_used_connections"), -1);
            String peakTime = status.get("Max_used_connections_time");
            b.maxUsedConnectionsTime = peakTime == null || peakTime.isBlank() ? null : peakTime;
            b.refusedMaxConnections = num(status.get("Connection_errors_max_connections"), -1);
            b.openFiles = num(status.get("Open_files"), -1);
            b.uptimeSeconds = num(status.get("Uptime"), -1);

            List<String> grants = grants(st, b);
            processlist(st, b);
            b.processPrivilege = hasProcess(grants) || b.processes.stream()
                    .anyMatch(r -> !r.isSystem() && !sameUser(r.user(), b.currentUser));
            if (!b.processPrivilege) {
                b.notes.add("no PROCESS privilege: the processlist shows only " + b.currentUser
                        + "'s own threads; sleeping/running counts are estimated from Threads_connected - Threads_running,"
                        + " and per-user use and KILL statements cover own threads only");
            }
            accountLimits(st, b, grants);
            b.files = processFiles(vars.get("pid_file"), b.local, b.notes);
        }
        return b.build();
    }

    private static List<String> grants(Statement st, ServerSnapshot.Builder b) {
        try (ResultSet rs = st.executeQuery("SHOW GRANTS")) {
            List<String> out = new ArrayList<>();
            while (rs.next()) {
                out.add(rs.getString(1));
            }
            return out;
        } catch (SQLException e) {
            b.notes.add("SHOW GRANTS failed (" + e.getMessage() + "): privileges guessed from what is visible");
            return List.of();
        }
    }

    static boolean hasProcess(List<String> grants) {
        for (String g : grants) {
            Matcher m = GRANT_PROCESS.matcher(g);
            if (m.find()) {
                String privs = m.group(1).toUpperCase(Locale.ROOT);
                if (privs.contains("ALL PRIVILEGES") || privs.matches("(^|.*[ ,])PROCESS([ ,].*|$)")) {
                    return true;
                }
            }
        }
        return false;
    }

    private static void processlist(Statement st, ServerSnapshot.Builder b) throws SQLException {
        String sql = "SELECT ID, USER, HOST, DB, COMMAND, TIME, STATE, LEFT(INFO, 200) FROM information_schema.PROCESSLIST";
        try (ResultSet rs = st.executeQuery(sql)) {
            readProcesses(rs, b);
        } catch (SQLException e) {
            log.debug("information_schema.PROCESSLIST unreadable, using SHOW FULL PROCESSLIST: {}", e.getMessage());
            b.processes.clear();
            try (ResultSet rs = st.executeQuery("SHOW FULL PROCESSLIST")) {
                readProcesses(rs, b);
            }
        }
    }

    private static void readProcesses(ResultSet rs, ServerSnapshot.Builder b) throws SQLException {
        while (rs.next()) {
            String info = rs.getString(8);
            if (info != null && info.length() > 200) {
                info = info.substring(0, 200);
            }
            b.processes.add(new ProcessRow(rs.getLong(1), rs.getString(2), clientHost(rs.getString(3)), rs.getString(4),
                    rs.getString(5), rs.getLong(6), rs.getString(7), info));
        }
    }

    /** "10.0.0.7:53412" -> "10.0.0.7"; "[::1]:5000" -> "::1"; "localhost" stays. */
    static String clientHost(String host) {
        if (host == null || host.isEmpty()) {
            return "";
        }
        if (host.startsWith("[")) {
            int end = host.indexOf(']');
            return end > 0 ? host.substring(1, end) : host;
        }
        int colon = host.lastIndexOf(':');
        if (colon > 0 && host.indexOf(':') == colon) {
            return host.substring(0, colon);
        }
        return host;
    }

    private static void accountLimits(Statement st, ServerSnapshot.Builder b, List<String> grants) {
        // MySQL 8 and MariaDB (where mysql.user is a view over global_priv) both have this column.
        try (ResultSet rs = st.executeQuery("SELECT User, Host, max_user_connections FROM mysql.user")) {
            while (rs.next()) {
                b.accountLimits.add(new AccountLimit(rs.getString(1), rs.getString(2), Math.max(0, rs.getLong(3))));
            }
            b.accountLimitsSource = "mysql.user";
            return;
        } catch (SQLException e) {
            b.accountLimits.clear();
            log.debug("mysql.user unreadable: {}", e.getMessage());
        }
        try (ResultSet rs = st.executeQuery("SELECT User, Host, "
                + "CAST(JSON_VALUE(Priv, '$.max_user_connections') AS SIGNED) FROM mysql.global_priv")) {
            while (rs.next()) {
                b.accountLimits.add(new AccountLimit(rs.getString(1), rs.getString(2), Math.max(0, rs.getLong(3))));
            }
            b.accountLimitsSource = "mysql.global_priv";
            return;
        } catch (SQLException e) {
            b.accountLimits.clear();
            log.debug("mysql.global_priv unreadable: {}", e.getMessage());
        }
        // Least privilege: the account's own limit. MariaDB prints it in SHOW GRANTS; MySQL only in
        // SHOW CREATE USER, which any account may run for itself.
        List<String> own = new ArrayList<>(grants);
        try (ResultSet rs = st.executeQuery("SHOW CREATE USER CURRENT_USER()")) {
            while (rs.next()) {
                own.add(rs.getString(1));
            }
        } catch (SQLException e) {
            log.debug("SHOW CREATE USER CURRENT_USER() failed: {}", e.getMessage());
        }
        String[] account = splitAccount(b.currentUser);
        long limit = 0;
        for (String line : own) {
            Matcher m = GRANT_LIMIT.matcher(line);
            if (m.find()) {
                limit = Math.max(0, Long.parseLong(m.group(1)));
            }
        }
        b.accountLimits.add(new AccountLimit(account[0], account[1], limit));
        b.accountLimitsSource = "own account";
        b.notes.add("no SELECT on mysql.user: MAX_USER_CONNECTIONS is known for " + b.currentUser + " only");
    }

    /** "app@%" -> {"app", "%"}; the user part may itself contain '@'. */
    static String[] splitAccount(String currentUser) {
        int at = currentUser.lastIndexOf('@');
        return at < 0 ? new String[] {currentUser, "%"} : new String[] {currentUser.substring(0, at), currentUser.substring(at + 1)};
    }

    private static boolean sameUser(String user, String currentUser) {
        return user != null && user.equals(splitAccount(currentUser)[0]);
    }

    /**
     * Best effort: the server's pid from {@code @@pid_file}, checked to be a mysqld or mariadbd, then
     * its "Max open files" from /proc/PID/limits and its open descriptors from /proc/PID/fd.
     */
    static ProcessFiles processFiles(String pidFile, boolean local, List<String> notes) {
        ProcessFiles unknown = null;
        if (!local) {
            unknown = ProcessFiles.unknown("the server is not on this machine (not a loopback address)");
        } else if (pidFile == null || pidFile.isBlank()) {
            unknown = ProcessFiles.unknown("@@pid_file is empty");
        }
        if (unknown != null) {
            notes.add("process fd limit unknown: " + unknown.unknownReason());
            return unknown;
        }
        long pid;
        try {
            pid = Long.parseLong(Files.readString(Path.of(pidFile), StandardCharsets.US_ASCII).trim());
        } catch (IOException | NumberFormatException | java.nio.file.InvalidPathException e) {
            return noteUnknown(notes, "cannot read " + pidFile + " (" + e.getClass().getSimpleName() + ")");
        }
        Path proc = Path.of("/proc", Long.toString(pid));
        try {
            String comm = Files.readString(proc.resolve("comm"), StandardCharsets.UTF_8).trim();
            if (!comm.contains("mysqld") && !comm.contains("mariadbd")) {
                return noteUnknown(notes, "pid " + pid + " from " + pidFile + " is " + comm + ", not mysqld or mariadbd");
            }
        } catch (IOException e) {
            return noteUnknown(notes, "pid " + pid + " from " + pidFile + " is not running here");
        }
        long soft;
        long hard;
        try {
            long[] limits = ProcFiles.openFilesLimit(proc);
            soft = limits[0];
            hard = limits[1];
        } catch (IOException | RuntimeException e) {
            return noteUnknown(notes, "cannot read /proc/" + pid + "/limits (" + e.getClass().getSimpleName() + ")");
        }
        long open = -1;
        try {
            open = ProcFiles.openDescriptors(proc);
        } catch (IOException | RuntimeException e) {
            notes.add("descriptors open by pid " + pid + " unknown: /proc/" + pid + "/fd is not readable");
        }
        return new ProcessFiles(pid, soft, hard, open, soft < 0 ? "no \"Max open files\" line in /proc/" + pid + "/limits" : null);
    }

    private static ProcessFiles noteUnknown(List<String> notes, String reason) {
        notes.add("process fd limit unknown: " + reason);
        return ProcessFiles.unknown(reason);
    }

    static boolean isLoopback(String host) {
        if (host == null || host.isBlank() || host.equalsIgnoreCase("localhost")) {
            return true;
        }
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private static Map<String, String> nameValues(Statement st, String sql) throws SQLException {
        Map<String, String> out = new HashMap<>();
        try (ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getString(2));
            }
        }
        return out;
    }

    private static String in(List<String> names) {
        return "('" + String.join("', '", names) + "')";
    }

    private static long num(String v, long fallback) {
        if (v == null || v.isBlank()) {
            return fallback;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            try {
                return (long) Double.parseDouble(v.trim());
            } catch (NumberFormatException e2) {
                return fallback;
            }
        }
    }
}
