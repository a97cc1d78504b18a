package io.sluice.admin.doctor;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;

/**
 * The doctor's answer for one server: what it saw, summarised, the ranked findings and what to do.
 * Plain records all the way down, so Jackson writes it for {@code --json} and {@code GET /doctor}
 * and reads it back, with {@link Doctor#jsonMapper()}: field names in snake_case ({@code exitCode}
 * is {@code exit_code} in JSON). Counts the account could not see are -1.
 *
 * @param takenAt  when the server was read, ISO-8601 UTC (a string, so plain Jackson reads it back)
 * @param severity the worst finding's severity
 * @param exitCode {@code severity.exitCode()}: 0 healthy, 1 warning, 2 critical
 * @param findings ranked: worst severity first, then strongest evidence; the first is the verdict
 * @param visibility what the account could and could not see
 */
public record Diagnosis(
        String takenAt,
        Server server,
        Severity severity,
        int exitCode,
        List<Finding> findings,
        Connections connections,
        Processlist processlist,
        Timeouts timeouts,
        List<UserLimit> userLimits,
        Files files,
        SluiceView sluice,
        Recommendations recommendations,
        Visibility visibility) {

    /** The verdict: the first finding. */
    public Finding verdict() {
        return findings.get(0);
    }

    /** @param account CURRENT_USER() of the doctor's login */
    public record Server(String endpoint, String version, String versionComment, String account, long uptimeSeconds) {
    }

    /**
     * One ranked cause with the numbers behind it.
     *
     * @param score strength of the evidence, 0..1, for ranking among findings of one severity
     */
    public record Finding(Verdict verdict, String label, Severity severity, double score, String summary,
                          List<Evidence> evidence) {
    }

    /** A named number (or fact) supporting a finding, e.g. {@code sleeping connections = 40 (80% of max_connections)}. */
    public record Evidence(String name, String value) {
    }

    /**
     * Connection counts against max_connections.
     *
     * @param connected      Threads_connected, including the doctor's own connection
     * @param headroom       maxConnections - connected (one more is reserved for SUPER/CONNECTION_ADMIN)
     * @param usedPercent    connected / maxConnections
     * @param maxUsed        Max_used_connections: the peak since start or FLUSH STATUS
     * @param peakPercent    maxUsed / maxConnections
     * @param refused        Connection_errors_max_connections: refused with ERROR 1040 since start, or -1
     * @param sleeping       client connections in Sleep (estimated when the processlist is partial)
     * @param active         client connections running a command, the doctor's own excluded
     * @param estimated      sleeping/active come from Threads_connected - Threads_running, not the processlist
     */
    public record Connections(int maxConnections, long connected, long headroom, double usedPercent, long running,
                              long maxUsed, double peakPercent, String maxUsedTime, long refused,
                              long sleeping, long active, boolean estimated) {
    }

    /**
     * The visible processlist, the doctor's own thread and server threads excluded.
     *
     * @param rows       client threads seen
     * @param complete   every user's threads were visible (PROCESS held)
     */
    public record Processlist(int rows, boolean complete, List<Count> byCommandState, List<Count> byUser,
                              List<Count> byHost, List<AgeBucket> sleepingAges) {
    }

    /**
     * One group of a breakdown.
     *
     * @param sleeping      how many of them sleep
     * @param maxTimeSeconds the longest TIME in the group
     */
    public record Count(String key, long connections, long sleeping, long maxTimeSeconds) {
    }

    /** Sleeping connections idle for [fromSeconds, toSeconds); toSeconds -1 = no upper bound. */
    public record AgeBucket(String label, long fromSeconds, long toSeconds, long connections) {
    }

    public record Timeouts(long waitTimeout, long interactiveTimeout) {
    }

    /**
     * One account's cap against its current use.
     *
     * @param limit   the effective cap: the account's MAX_USER_CONNECTIONS, else the global max_user_connections
     * @param source  "account" or "global"
     * @param current connections of this account seen now (attributed by user name and host pattern)
     */
    public record UserLimit(String user, String host, long limit, String source, long current, double usedPercent) {
    }

    /**
     * File descriptors. Unknown values are -1.
     *
     * @param needed          what mysqld would want for these settings: max(10 + max_connections +
     *                        2 * table_open_cache, 5 * max_connections)
     * @param processUnknownReason why the process limits are unknown, or null
     */
    public record Files(long openFilesLimit, long openFiles, long tableOpenCache, long needed, long pid,
                        long processSoftLimit, long processHardLimit, long processOpen, String processUnknownReason) {
    }

    /**
     * Sluice's own view, fetched from its admin endpoint.
     *
     * @param error       why the endpoint could not be read, or null
     * @param pools       per pool: name, max, busy, idle, waiting, timeouts
     * @param sessions    client sessions by state
     * @param stats       the raw /stats document
     * @param statements  the statements that took the most time through Sluice (GET /digests?order=total_time),
     *                    largest first; empty when Sluice keeps no digests (or is older than them)
     */
    public record SluiceView(String url, String error, long clients, long backendConnections, long globalMax,
                             List<SluicePool> pools, List<Count> sessions, long waiting, long pinned, JsonNode stats,
                             List<Statement> statements) {
    }

    /**
     * One statement digest as Sluice counted it (docs/digests.md): its normalized text, never a literal value.
     *
     * @param totalTimeMs from each execution's arrival at Sluice to the end of its response, summed
     */
    public record Statement(String id, String digest, String user, String server, long count, long errors,
                            double totalTimeMs, double avgTimeMs, double maxTimeMs, double waitTimeMs) {
    }

    /** Named as in /stats: {@code oldest_wait_ms}, and {@code queue_full} from its {@code rejections}. */
    public record SluicePool(String name, long max, long busy, long idle, long waiting, long oldestWaitMs,
                             long timeouts, long queueFull) {
    }

    /** What to do about it. */
    public record Recommendations(PoolSizing poolSizing, WaitTimeout waitTimeout, List<Kill> kills,
                                  String sluiceConfig, List<String> actions) {
    }

    /**
     * Pool sizes so that {@code instances} application instances never exceed the server's budget.
     *
     * @param instancesAssumed no {@code --instances} was given: the count of distinct client hosts was used
     * @param reserve          connections kept free for administrators, replication and monitoring
     * @param budget           maxConnections - reserve
     * @param busyNow          connections running a command now (the observed demand)
     * @param perInstance      the recommended pool size of each instance
     * @param ceilingPerInstance the most one instance may hold: budget / instances
     */
    public record PoolSizing(int instances, boolean instancesAssumed, int reserve, int budget, long busyNow,
                             int perInstance, int ceilingPerInstance, String rationale) {
    }

    /** @param recommended seconds; equal to current when no change is advised */
    public record WaitTimeout(long current, long recommended, long interactiveCurrent, String reason) {
    }

    /** A connection sleeping past the threshold and the statement that ends it. */
    public record Kill(long id, String user, String host, String db, long idleSeconds, String statement) {
    }

    /**
     * @param processPrivilege PROCESS held: every user's threads visible
     * @param notes            one sentence per thing the doctor could not see
     */
    public record Visibility(boolean processPrivilege, String accountLimitsSource, List<String> notes) {
    }
}
