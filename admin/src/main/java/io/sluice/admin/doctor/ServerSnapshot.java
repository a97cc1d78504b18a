package io.sluice.admin.doctor;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What one look at a server saw: the raw facts a {@link Diagnosis} is derived from. Immutable;
 * counters the server did not expose (or the account may not read) are -1, lists hold only what was
 * visible, and {@link #notes} says what could not be seen and why.
 *
 * @param endpoint          host:port the doctor connected to
 * @param local             the server runs on this machine (loopback address), so /proc may describe it
 * @param version           {@code @@version}
 * @param versionComment    {@code @@version_comment}, e.g. "MariaDB Server" or "MySQL Community Server - GPL"
 * @param currentUser       {@code CURRENT_USER()}: the account the doctor logged in as
 * @param ownConnectionId   the doctor's own thread, left out of every breakdown
 * @param maxConnections    {@code @@max_connections}
 * @param maxUserConnections {@code @@max_user_connections}: the cap for accounts without their own; 0 = none
 * @param waitTimeout       {@code @@global.wait_timeout}, seconds
 * @param interactiveTimeout {@code @@global.interactive_timeout}, seconds
 * @param openFilesLimit    {@code @@open_files_limit}
 * @param tableOpenCache    {@code @@table_open_cache}
 * @param threadsConnected  status Threads_connected (includes the doctor's own connection)
 * @param threadsRunning    status Threads_running (includes the doctor's own statement)
 * @param maxUsedConnections status Max_used_connections: the peak since start or FLUSH STATUS
 * @param maxUsedConnectionsTime status Max_used_connections_time, or null where the server has none
 * @param refusedMaxConnections status Connection_errors_max_connections: connections refused with ERROR 1040
 * @param openFiles         status Open_files, or -1
 * @param uptimeSeconds     status Uptime
 * @param processPrivilege  the account holds PROCESS, so {@link #processes} lists every user's threads
 * @param processes         the processlist as visible to the account
 * @param accountLimits     per-account MAX_USER_CONNECTIONS as visible; empty when none is readable
 * @param accountLimitsSource where {@link #accountLimits} came from: "mysql.user", "mysql.global_priv",
 *                          or "own account" (SHOW GRANTS and SHOW CREATE USER of the doctor's account)
 * @param files             the server process's file descriptor limits when it is local and readable
 * @param notes             what the account or this machine could not see, one sentence each
 */
public record ServerSnapshot(
        Instant takenAt,
        String endpoint,
        boolean local,
        String version,
        String versionComment,
        String currentUser,
        long ownConnectionId,
        int maxConnections,
        long maxUserConnections,
        long waitTimeout,
        long interactiveTimeout,
        long openFilesLimit,
        long tableOpenCache,
        long threadsConnected,
        long threadsRunning,
        long maxUsedConnections,
        String maxUsedConnectionsTime,
        long refusedMaxConnections,
        long openFiles,
        long uptimeSeconds,
        boolean processPrivilege,
        List<ProcessRow> processes,
        List<AccountLimit> accountLimits,
        String accountLimitsSource,
        ProcessFiles files,
        List<String> notes) {

    public ServerSnapshot {
        processes = List.copyOf(processes);
        accountLimits = List.copyOf(accountLimits);
        notes = List.copyOf(notes);
    }

    /**
     * One processlist row.
     *
     * @param host the client host without its port ("localhost" for a socket)
     * @param timeSeconds seconds in the current command; for Sleep, how long the connection has been idle
     * @param info the statement's first 200 characters, or null
     */
    public record ProcessRow(long id, String user, String host, String db, String command, long timeSeconds,
                             String state, String info) {
        /** Server threads that are not client connections (event scheduler, replication, InnoDB purge...). */
        boolean isSystem() {
            return "system user".equals(user) || "event_scheduler".equals(user)
                    || "Daemon".equals(command) || (command != null && command.startsWith("Binlog Dump"));
        }

        boolean isSleeping() {
            return "Sleep".equals(command);
        }
    }

    /**
     * An account's own connection cap.
     *
     * @param host the account's host pattern ("%", "10.0.%", "localhost")
     * @param maxUserConnections its MAX_USER_CONNECTIONS; 0 = none of its own (the global applies)
     */
    public record AccountLimit(String user, String host, long maxUserConnections) {
    }

    /**
     * The server process's file descriptors, read from /proc when the server is local.
     *
     * @param pid       the server's process id, or -1 when not found
     * @param softLimit "Max open files" soft limit, or -1
     * @param hardLimit "Max open files" hard limit, or -1
     * @param open      descriptors open now (entries of /proc/PID/fd), or -1
     * @param unknownReason why the limits are unknown, or null when they are known
     */
    public record ProcessFiles(long pid, long softLimit, long hardLimit, long open, String unknownReason) {
        static ProcessFiles unknown(String reason) {
            return new ProcessFiles(-1, -1, -1, -1, reason);
        }
    }

    static Builder builder() {
        return new Builder();
    }

    /** Mutable collector of snapshot fields; {@link SnapshotCollector} and tests fill it in. */
    static final class Builder {
        Instant takenAt = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        String endpoint = "unknown";
        boolean local;
        String version = "";
        String versionComment = "";
        String currentUser = "";
        long ownConnectionId = -1;
        int maxConnections = 151;
        long maxUserConnections;
        long waitTimeout = 28800;
        long interactiveTimeout = 28800;
        long openFilesLimit = -1;
        long tableOpenCache = -1;
        long threadsConnected = 1;
        long threadsRunning = 1;
        long maxUsedConnections = -1;
        String maxUsedConnectionsTime;
        long refusedMaxConnections = -1;
        long openFiles = -1;
        long uptimeSeconds = -1;
        boolean processPrivilege = true;
        final List<ProcessRow> processes = new ArrayList<>();
        final List<AccountLimit> accountLimits = new ArrayList<>();
        String accountLimitsSource;
        ProcessFiles files = ProcessFiles.unknown("not looked up");
        final List<String> notes = new ArrayList<>();

        ServerSnapshot build() {
            return new ServerSnapshot(takenAt, endpoint, local, version, versionComment, currentUser, ownConnectionId,
                    maxConnections, maxUserConnections, waitTimeout, interactiveTimeout, openFilesLimit, tableOpenCache,
                    threadsConnected, threadsRunning, maxUsedConnections, maxUsedConnectionsTime, refusedMaxConnections,
                    openFiles, uptimeSeconds, processPrivilege, processes, accountLimits, accountLimitsSource, files, notes);
        }
    }
}
