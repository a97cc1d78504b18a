package io.sluice.admin.doctor;

import io.sluice.admin.doctor.Diagnosis.AgeBucket;
import io.sluice.admin.doctor.Diagnosis.Connections;
import io.sluice.admin.doctor.Diagnosis.Count;
import io.sluice.admin.doctor.Diagnosis.Evidence;
import io.sluice.admin.doctor.Diagnosis.Files;
import io.sluice.admin.doctor.Diagnosis.Finding;
import io.sluice.admin.doctor.Diagnosis.Kill;
import io.sluice.admin.doctor.Diagnosis.PoolSizing;
import io.sluice.admin.doctor.Diagnosis.Processlist;
import io.sluice.admin.doctor.Diagnosis.Recommendations;
import io.sluice.admin.doctor.Diagnosis.SluiceView;
import io.sluice.admin.doctor.Diagnosis.Timeouts;
import io.sluice.admin.doctor.Diagnosis.UserLimit;
import io.sluice.admin.doctor.Diagnosis.Visibility;
import io.sluice.admin.doctor.Diagnosis.WaitTimeout;
import io.sluice.admin.doctor.ServerSnapshot.AccountLimit;
import io.sluice.admin.doctor.ServerSnapshot.ProcessRow;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Turns a {@link ServerSnapshot} into a {@link Diagnosis}: pure logic, no I/O, so every rule is
 * testable on a synthetic snapshot.
 *
 * <p>Pressure comes first: nothing is wrong with 40 sleeping connections while max_connections is
 * far away. Under pressure (Threads_connected at {@value #WARN_USED_PCT}% of max_connections, or the
 * peak at {@value #WARN_PEAK_PCT}%), the mix of the connections names the cause: mostly sleeping is
 * an idle leak or oversized pools, mostly running is genuine load. A small max_connections, an
 * account at its own cap and a file descriptor ceiling are weighed on their own evidence.
 */
final class Diagnoser {
    /** Threads_connected at or above this share of max_connections is a warning. */
    static final int WARN_USED_PCT = 75;
    /** ... and at or above this share, critical: the last connections are about to be refused. */
    static final int CRIT_USED_PCT = 90;
    /** Max_used_connections at or above this share: the limit was (nearly) reached since start. */
    static final int WARN_PEAK_PCT = 90;
    /** MySQL's and MariaDB's default max_connections. */
    static final int DEFAULT_MAX_CONNECTIONS = 151;
    /** What mysqld lowers max_connections to when it gets only 1024 file descriptors. */
    static final int FD_LOWERED_MAX_CONNECTIONS = 214;
    /** The wait_timeout advised against leaks: leaked connections die within ten minutes. */
    static final long ADVISED_WAIT_TIMEOUT = 600;
    /** The smallest pool size advised per instance, so a burst does not queue behind one statement. */
    static final int MIN_POOL = 4;

    /** Sleeping-age histogram bounds, seconds. */
    private static final long[] AGE_BOUNDS = {0, 10, 60, 300, 1800, 3600, 28800};
    private static final String[] AGE_LABELS = {"<10s", "10s-1m", "1m-5m", "5m-30m", "30m-1h", "1h-8h", ">=8h"};

    private Diagnoser() {
    }

    static Diagnosis diagnose(ServerSnapshot s, DoctorOptions options, SluiceView sluice) {
        List<ProcessRow> clients = s.processes().stream()
                .filter(r -> !r.isSystem() && r.id() != s.ownConnectionId())
                .toList();
        List<ProcessRow> sleepingRows = clients.stream().filter(ProcessRow::isSleeping).toList();
        List<ProcessRow> activeRows = clients.stream().filter(r -> !r.isSleeping()).toList();
        long threshold = options.idleThresholdSeconds();
        List<ProcessRow> stale = sleepingRows.stream().filter(r -> r.timeSeconds() > threshold)
                .sorted(Comparator.comparingLong(ProcessRow::timeSeconds).reversed().thenComparingLong(ProcessRow::id))
                .toList();

        Connections connections = connections(s, sleepingRows.size(), activeRows.size());
        Processlist processlist = processlist(s, clients, sleepingRows);
        List<UserLimit> userLimits = userLimits(s);
        Files files = files(s);

        Facts f = new Facts(s, options, connections, clients, sleepingRows, activeRows, stale, userLimits, files, sluice);
        List<Finding> findings = rank(f);
        Severity severity = findings.stream().map(Finding::severity).reduce(Severity.OK, Severity::worst);
        Recommendations recommendations = recommend(f, findings);
        return new Diagnosis(s.takenAt().toString(),
                new Diagnosis.Server(s.endpoint(), s.version(), s.versionComment(), s.currentUser(), s.uptimeSeconds()),
                severity, severity.exitCode(), findings, connections, processlist,
                new Timeouts(s.waitTimeout(), s.interactiveTimeout()), userLimits, files, sluice, recommendations,
                new Visibility(s.processPrivilege(), s.accountLimitsSource(), s.notes()));
    }

    /** Everything the rules read, computed once. */
    private record Facts(ServerSnapshot s, DoctorOptions options, Connections c, List<ProcessRow> clients,
                         List<ProcessRow> sleeping, List<ProcessRow> active, List<ProcessRow> stale,
                         List<UserLimit> userLimits, Files files, SluiceView sluice) {
        Severity pressure() {
            if (c.usedPercent() >= CRIT_USED_PCT) {
                return Severity.CRITICAL;
            }
            if (c.usedPercent() >= WARN_USED_PCT || c.peakPercent() >= WARN_PEAK_PCT) {
                return Severity.WARNING;
            }
            return Severity.OK;
        }

        long clientTotal() {
            return Math.max(1, c.sleeping() + c.active());
        }

        double idleShare() {
            return (double) c.sleeping() / clientTotal();
        }

        double activeShare() {
            return (double) c.active() / clientTotal();
        }

        /** "now" when the current count is the pressure, "at peak" when only Max_used_connections is. */
        String when() {
            return c.usedPercent() >= WARN_USED_PCT ? "now" : "at the peak of " + c.maxUsed();
        }
    }

    // ---- summaries ---------------------------------------------------------------------------------

    private static Connections connections(ServerSnapshot s, long sleepingSeen, long activeSeen) {
        int max = Math.max(1, s.maxConnections());
        long connected = s.threadsConnected();
        long sleeping;
        long active;
        boolean estimated = !s.processPrivilege();
        if (estimated) {
            // Threads_running counts threads not in Sleep, the doctor's own statement included.
            active = Math.max(0, s.threadsRunning() - 1);
            sleeping = Math.max(0, connected - 1 - active);
        } else {
            sleeping = sleepingSeen;
            active = activeSeen;
        }
        return new Connections(s.maxConnections(), connected, s.maxConnections() - connected, percent(connected, max),
                s.threadsRunning(), s.maxUsedConnections(),
                s.maxUsedConnections() < 0 ? -1 : percent(s.maxUsedConnections(), max),
                s.maxUsedConnectionsTime(), s.refusedMaxConnections(), sleeping, active, estimated);
    }

    private static Processlist processlist(ServerSnapshot s, List<ProcessRow> clients, List<ProcessRow> sleeping) {
        List<Count> byCommandState = counts(clients, r -> r.state() == null || r.state().isBlank()
                ? r.command() : r.command() + " / " + r.state(), 20);
        List<Count> byUser = counts(clients, ProcessRow::user, 10);
        List<Count> byHost = counts(clients, ProcessRow::host, 10);
        List<AgeBucket> ages = new ArrayList<>();
        for (int i = 0; i < AGE_BOUNDS.length; i++) {
            long from = AGE_BOUNDS[i];
            long to = i + 1 < AGE_BOUNDS.length ? AGE_BOUNDS[i + 1] : -1;
            long n = sleeping.stream().filter(r -> r.timeSeconds() >= from && (to < 0 || r.timeSeconds() < to)).count();
            ages.add(new AgeBucket(AGE_LABELS[i], from, to, n));
        }
        return new Processlist(clients.size(), s.processPrivilege(), byCommandState, byUser, byHost, ages);
    }

    /** Groups rows by key, largest group first (ties by key), at most {@code limit} groups. */
    static List<Count> counts(List<ProcessRow> rows, Function<ProcessRow, String> key, int limit) {
        Map<String, List<ProcessRow>> groups = rows.stream().collect(Collectors.groupingBy(
                r -> String.valueOf(key.apply(r)), LinkedHashMap::new, Collectors.toList()));
        return groups.entrySet().stream()
                .map(e -> new Count(e.getKey(), e.getValue().size(),
                        e.getValue().stream().filter(ProcessRow::isSleeping).count(),
                        e.getValue().stream().mapToLong(ProcessRow::timeSeconds).max().orElse(0)))
                .sorted(Comparator.comparingLong(Count::connections).reversed().thenComparing(Count::key))
                .limit(limit)
                .toList();
    }

    /**
     * Each account with a cap against the connections attributed to it. MySQL counts per account
     * (user@host pattern as matched at login); the processlist shows user and client host, so a row
     * goes to the most specific matching pattern of its user, or to the user's only account.
     */
    static List<UserLimit> userLimits(ServerSnapshot s) {
        List<ProcessRow> clients = s.processes().stream().filter(r -> !r.isSystem()).toList();
        Map<AccountLimit, Long> use = new LinkedHashMap<>();
        s.accountLimits().forEach(a -> use.put(a, 0L));
        Set<String> unattributedUsers = new HashSet<>();
        for (ProcessRow r : clients) {
            AccountLimit a = account(s.accountLimits(), r);
            if (a != null) {
                use.merge(a, 1L, Long::sum);
            } else {
                unattributedUsers.add(r.user());
            }
        }
        List<UserLimit> out = new ArrayList<>();
        for (var e : use.entrySet()) {
            AccountLimit a = e.getKey();
            boolean own = a.maxUserConnections() > 0;
            long limit = own ? a.maxUserConnections() : Math.max(0, s.maxUserConnections());
            if (limit <= 0 || (!own && e.getValue() == 0)) {
                continue;
            }
            out.add(new UserLimit(a.user(), a.host(), limit, own ? "account" : "global", e.getValue(),
                    percent(e.getValue(), limit)));
        }
        if (s.maxUserConnections() > 0) {
            // Users whose accounts are not readable still live under the global cap.
            for (String user : unattributedUsers.stream().sorted().toList()) {
                long n = clients.stream().filter(r -> user.equals(r.user())).count();
                out.add(new UserLimit(user, "?", s.maxUserConnections(), "global", n, percent(n, s.maxUserConnections())));
            }
        }
        out.sort(Comparator.comparingDouble(UserLimit::usedPercent).reversed()
                .thenComparing(UserLimit::user).thenComparing(UserLimit::host));
        return out;
    }

    /** The account a processlist row logged in as: the most specific matching host pattern of its user. */
    static AccountLimit account(List<AccountLimit> accounts, ProcessRow r) {
        List<AccountLimit> ofUser = accounts.stream().filter(a -> a.user().equals(r.user())).toList();
        AccountLimit best = null;
        int bestRank = Integer.MIN_VALUE;
        for (AccountLimit a : ofUser) {
            if (hostMatches(a.host(), r.host())) {
                int rank = hostSpecificity(a.host());
                if (rank > bestRank) {
                    best = a;
                    bestRank = rank;
                }
            }
        }
        if (best == null && ofUser.size() == 1) {
            best = ofUser.get(0); // e.g. 'localhost' account seen as 127.0.0.1: still the only candidate
        }
        if (best == null) {
            // The anonymous account ''@host takes logins no named account matched.
            best = accounts.stream().filter(a -> a.user().isEmpty() && hostMatches(a.host(), r.host())).findFirst().orElse(null);
        }
        return best;
    }

    /**
     * MySQL host pattern match: % any run, _ one character, case-insensitive. The processlist shows
     * the client host as the server matched it at login (127.0.0.1 stays an address under
     * skip_name_resolve, and then does not match a 'localhost' account), so no aliases apply.
     */
    static boolean hostMatches(String pattern, String host) {
        if (host == null) {
            return false;
        }
        return likeMatch(pattern.toLowerCase(Locale.ROOT), 0, host.toLowerCase(Locale.ROOT), 0);
    }

    private static boolean likeMatch(String p, int pi, String s, int si) {
        while (pi < p.length()) {
            char c = p.charAt(pi);
            if (c == '%') {
                for (int k = si; k <= s.length(); k++) {
                    if (likeMatch(p, pi + 1, s, k)) {
                        return true;
                    }
                }
                return false;
            }
            if (si >= s.length() || (c != '_' && c != s.charAt(si))) {
                return false;
            }
            pi++;
            si++;
        }
        return si == s.length();
    }

    /** Literal hosts sort before patterns, longer literal parts before shorter, '%' last (as MySQL sorts). */
    static int hostSpecificity(String pattern) {
        boolean wild = pattern.indexOf('%') >= 0 || pattern.indexOf('_') >= 0;
        int literal = pattern.replace("%", "").replace("_", "").length();
        return (wild ? 0 : 10_000) + literal;
    }

    private static Files files(ServerSnapshot s) {
        long needed = s.tableOpenCache() >= 0
                ? Math.max(10 + (long) s.maxConnections() + 2 * s.tableOpenCache(), 5L * s.maxConnections())
                : 5L * s.maxConnections();
        var p = s.files();
        return new Files(s.openFilesLimit(), s.openFiles(), s.tableOpenCache(), needed, p.pid(), p.softLimit(),
                p.hardLimit(), p.open(), p.unknownReason());
    }

    // ---- findings ----------------------------------------------------------------------------------

    private static List<Finding> rank(Facts f) {
        List<Finding> out = new ArrayList<>();
        idleLeak(f, out);
        genuineLoad(f, out);
        limitTooLow(f, out);
        perUserCap(f, out);
        fdCeiling(f, out);
        if (out.stream().noneMatch(x -> x.severity() != Severity.OK)) {
            out.add(healthy(f));
        }
        out.sort(Comparator.comparing(Finding::severity).reversed()
                .thenComparing(x -> x.verdict() != Verdict.HEALTHY)
                .thenComparing(Comparator.comparingDouble(Finding::score).reversed()));
        return List.copyOf(out);
    }

    private static void idleLeak(Facts f, List<Finding> out) {
        Connections c = f.c();
        long threshold = f.options().idleThresholdSeconds();
        Severity pressure = f.pressure();
        List<Evidence> ev = new ArrayList<>();
        ev.add(ev("sleeping connections", c.sleeping() + " of " + (c.sleeping() + c.active()) + " client connections ("
                + pct(f.idleShare() * 100) + ")" + (c.estimated() ? ", estimated as Threads_connected - Threads_running" : "")));
        ev.add(ev("sleeping / max_connections", c.sleeping() + " / " + c.maxConnections() + " (" + pct(percent(c.sleeping(), c.maxConnections())) + ")"));
        ev.add(ev("Threads_connected / max_connections", c.connected() + " / " + c.maxConnections() + " (" + pct(c.usedPercent()) + ")"));
        if (c.maxUsed() >= 0) {
            ev.add(ev("Max_used_connections", c.maxUsed() + " (" + pct(c.peakPercent()) + ")"));
        }
        if (!c.estimated()) {
            ev.add(ev("sleeping longer than " + threshold + "s", String.valueOf(f.stale().size())));
            f.sleeping().stream().mapToLong(ProcessRow::timeSeconds).max()
                    .ifPresent(t -> ev.add(ev("longest sleep", t + "s")));
            top(f.sleeping(), ProcessRow::user).ifPresent(t -> ev.add(ev("top sleeping user", t)));
            top(f.sleeping(), ProcessRow::host).ifPresent(t -> ev.add(ev("top sleeping host", t)));
        }
        if (pressure != Severity.OK && f.idleShare() >= 0.5) {
            boolean leak = !c.estimated() && f.stale().size() * 2 >= c.sleeping();
            String who = c.estimated() ? "" : top(f.sleeping(), ProcessRow::user).map(t -> "; most from user " + t).orElse("");
            String summary = leak
                    ? "idle leak: " + c.sleeping() + " connections sleep (" + f.stale().size() + " longer than " + threshold
                    + "s) and hold " + pct(percent(c.sleeping(), c.maxConnections())) + " of max_connections " + f.when() + who
                    : "oversized pools: " + c.sleeping() + " connections sleep and hold "
                    + pct(percent(c.sleeping(), c.maxConnections())) + " of max_connections " + f.when()
                    + (c.estimated() ? "" : " (" + (c.sleeping() - f.stale().size()) + " used within " + threshold + "s: pools larger than their use)") + who;
            out.add(finding(Verdict.IDLE_LEAK, pressure, f.idleShare(), summary, ev));
        } else if (!f.stale().isEmpty() && f.stale().size() >= Math.max(5, c.maxConnections() / 5)) {
            out.add(finding(Verdict.IDLE_LEAK, Severity.OK, 0.2 * f.stale().size() / c.maxConnections(),
                    "watch: " + f.stale().size() + " connections sleep longer than " + threshold
                            + "s, far from max_connections yet", ev));
        }
    }

    private static void genuineLoad(Facts f, List<Finding> out) {
        Connections c = f.c();
        Severity pressure = f.pressure();
        if (pressure == Severity.OK || f.activeShare() < 0.5) {
            return;
        }
        List<Evidence> ev = new ArrayList<>();
        ev.add(ev("running connections", c.active() + " of " + (c.sleeping() + c.active()) + " client connections ("
                + pct(f.activeShare() * 100) + ")" + (c.estimated() ? ", from Threads_running" : "")));
        ev.add(ev("Threads_running", String.valueOf(c.running())));
        ev.add(ev("Threads_connected / max_connections", c.connected() + " / " + c.maxConnections() + " (" + pct(c.usedPercent()) + ")"));
        if (c.maxUsed() >= 0) {
            ev.add(ev("Max_used_connections", c.maxUsed() + " (" + pct(c.peakPercent()) + ")"));
        }
        String longest = "";
        if (!c.estimated()) {
            long max = f.active().stream().mapToLong(ProcessRow::timeSeconds).max().orElse(0);
            longest = " (longest " + max + "s)";
            ev.add(ev("longest running", max + "s"));
            top(f.active(), r -> r.command() + (r.state() == null || r.state().isBlank() ? "" : " / " + r.state()))
                    .ifPresent(t -> ev.add(ev("top command / state", t)));
            top(f.active(), ProcessRow::user).ifPresent(t -> ev.add(ev("top running user", t)));
        }
        List<Diagnosis.Statement> statements = statements(f);
        for (int i = 0; i < statements.size(); i++) {
            ev.add(ev("statement #" + (i + 1) + " by total time in Sluice", describe(statements.get(i))));
        }
        out.add(finding(Verdict.GENUINE_LOAD, pressure, f.activeShare(),
                "genuine load: " + c.active() + " connections are running statements" + longest + ", "
                        + pct(percent(c.active(), c.maxConnections())) + " of max_connections " + f.when()
                        + (statements.isEmpty() ? "" : "; the statement holding them longest: " + abbreviate(statements.get(0).digest()))
                        + "; queue the excess (Sluice) or add capacity", ev));
    }

    /** The statements Sluice counted the most time for (its digests), or none without Sluice's view. */
    private static List<Diagnosis.Statement> statements(Facts f) {
        SluiceView v = f.sluice();
        return v == null || v.error() != null || v.statements() == null ? List.of() : v.statements();
    }

    /** A statement as evidence: its digest, how often, how long, for whom. */
    static String describe(Diagnosis.Statement s) {
        return abbreviate(s.digest()) + " (" + s.count() + " runs, " + millis(s.totalTimeMs()) + " in all, avg "
                + millis(s.avgTimeMs()) + ", max " + millis(s.maxTimeMs())
                + (s.errors() > 0 ? ", " + s.errors() + " errors" : "") + "; user " + s.user() + ", id " + s.id() + ")";
    }

    private static String millis(double ms) {
        return ms >= 1000 ? String.format(java.util.Locale.ROOT, "%.1f s", ms / 1000) : String.format(java.util.Locale.ROOT, "%.1f ms", ms);
    }

    private static String abbreviate(String digest) {
        return digest.length() > 120 ? digest.substring(0, 117) + "..." : digest;
    }

    private static void limitTooLow(Facts f, List<Finding> out) {
        Connections c = f.c();
        Severity pressure = f.pressure();
        if (pressure == Severity.OK) {
            return;
        }
        double score = 0.3;
        List<Evidence> ev = new ArrayList<>();
        ev.add(ev("max_connections", String.valueOf(c.maxConnections())));
        if (c.maxConnections() <= DEFAULT_MAX_CONNECTIONS) {
            score += 0.25;
            ev.add(ev("at or below the server default", c.maxConnections() + " <= " + DEFAULT_MAX_CONNECTIONS));
        }
        if (c.refused() > 0) {
            score += 0.15;
            ev.add(ev("refused with ERROR 1040 since start", String.valueOf(c.refused())));
        }
        if (f.idleShare() > 0.3 && f.activeShare() > 0.3) {
            score += 0.25;
            ev.add(ev("mix", c.sleeping() + " sleeping, " + c.active() + " running: neither explains the load alone"));
        }
        if (score <= 0.3) {
            return; // pressure alone does not say the limit is the problem
        }
        ev.add(ev("Threads_connected / max_connections", c.connected() + " / " + c.maxConnections() + " (" + pct(c.usedPercent()) + ")"));
        if (c.maxUsed() >= 0) {
            ev.add(ev("Max_used_connections", c.maxUsed() + " (" + pct(c.peakPercent()) + ")"));
        }
        out.add(finding(Verdict.LIMIT_TOO_LOW, pressure, Math.min(score, 0.95),
                "max_connections = " + c.maxConnections() + " is small for what connects: " + c.connected()
                        + " connected, peak " + c.maxUsed(), ev));
    }

    private static void perUserCap(Facts f, List<Finding> out) {
        Severity worst = Severity.OK;
        double score = 0;
        List<Evidence> ev = new ArrayList<>();
        UserLimit first = null;
        for (UserLimit u : f.userLimits()) {
            Severity sev = u.current() >= u.limit() ? Severity.CRITICAL
                    : u.usedPercent() >= 80 && u.limit() >= 5 ? Severity.WARNING : Severity.OK;
            if (sev == Severity.OK) {
                continue;
            }
            if (first == null) {
                first = u;
            }
            worst = Severity.worst(worst, sev);
            score = Math.max(score, sev == Severity.CRITICAL ? 0.9 : 0.6);
            ev.add(ev(u.user() + "@" + u.host(), u.current() + " / " + u.limit() + " ("
                    + (u.source().equals("account") ? "MAX_USER_CONNECTIONS" : "global max_user_connections") + ")"));
        }
        if (first == null) {
            return;
        }
        String account = "'" + first.user() + "'@'" + first.host() + "'";
        String summary = first.current() >= first.limit()
                ? "account " + account + " is at its cap (" + first.current() + " of " + first.limit()
                + "): its next connection gets ERROR " + (first.source().equals("account") ? "1226" : "1203")
                : "account " + account + " is near its cap (" + first.current() + " of " + first.limit() + ")";
        if (ev.size() > 1) {
            summary += "; " + (ev.size() - 1) + " more account(s) near theirs";
        }
        if (!f.s().processPrivilege()) {
            ev.add(ev("attribution", "own threads only (no PROCESS privilege)"));
        }
        out.add(finding(Verdict.PER_USER_CAP, worst, score, summary, ev));
    }

    private static void fdCeiling(Facts f, List<Finding> out) {
        Files fl = f.files();
        int max = f.c().maxConnections();
        Severity worst = Severity.OK;
        double score = 0;
        List<String> reasons = new ArrayList<>();
        List<Evidence> ev = new ArrayList<>();
        ev.add(ev("open_files_limit", String.valueOf(fl.openFilesLimit())));
        ev.add(ev("wanted for these settings", fl.needed() + " = max(10 + max_connections + 2 x table_open_cache, 5 x max_connections)"));
        if (fl.processSoftLimit() > 0) {
            ev.add(ev("process fd limit (soft/hard)", fl.processSoftLimit() + " / " + fl.processHardLimit()));
            if (fl.processOpen() >= 0) {
                ev.add(ev("process fds open", fl.processOpen() + " (" + pct(percent(fl.processOpen(), fl.processSoftLimit())) + ")"));
            }
        } else {
            ev.add(ev("process fd limit", "unknown: " + fl.processUnknownReason()));
        }
        if (fl.processSoftLimit() > 0 && fl.processOpen() >= 0) {
            double used = percent(fl.processOpen(), fl.processSoftLimit());
            if (used >= 90) {
                worst = Severity.CRITICAL;
                score = Math.max(score, 0.95);
                reasons.add(fl.processOpen() + " of " + fl.processSoftLimit() + " descriptors are open");
            } else if (used >= 75) {
                worst = Severity.worst(worst, Severity.WARNING);
                score = Math.max(score, 0.7);
                reasons.add(fl.processOpen() + " of " + fl.processSoftLimit() + " descriptors are open");
            }
        }
        if (fl.processSoftLimit() > 0 && fl.processSoftLimit() < max + 10L) {
            worst = Severity.worst(worst, Severity.WARNING);
            score = Math.max(score, 0.8);
            reasons.add("the process may open " + fl.processSoftLimit() + " descriptors, fewer than max_connections + 10");
        }
        if (max == FD_LOWERED_MAX_CONNECTIONS && fl.openFilesLimit() > 0 && fl.openFilesLimit() <= 1024) {
            worst = Severity.worst(worst, Severity.WARNING);
            score = Math.max(score, 0.75);
            reasons.add("max_connections = 214 with open_files_limit " + fl.openFilesLimit()
                    + ": mysqld lowered max_connections to fit 1024 descriptors");
        }
        if (fl.openFiles() >= 0 && fl.openFilesLimit() > 0 && percent(fl.openFiles(), fl.openFilesLimit()) >= 80) {
            worst = Severity.worst(worst, Severity.WARNING);
            score = Math.max(score, 0.6);
            ev.add(ev("Open_files", fl.openFiles() + " (" + pct(percent(fl.openFiles(), fl.openFilesLimit())) + " of open_files_limit)"));
            reasons.add("Open_files is at " + pct(percent(fl.openFiles(), fl.openFilesLimit())) + " of open_files_limit");
        }
        if (fl.openFilesLimit() > 0 && fl.openFilesLimit() < fl.needed()) {
            worst = Severity.worst(worst, Severity.WARNING);
            score = Math.max(score, 0.5);
            reasons.add("open_files_limit " + fl.openFilesLimit() + " is below the " + fl.needed() + " these settings want");
        }
        if (reasons.isEmpty()) {
            return;
        }
        out.add(finding(Verdict.FD_CEILING, worst, score, "file descriptors: " + String.join("; ", reasons), ev));
    }

    private static Finding healthy(Facts f) {
        Connections c = f.c();
        List<Evidence> ev = new ArrayList<>();
        ev.add(ev("Threads_connected / max_connections", c.connected() + " / " + c.maxConnections() + " (" + pct(c.usedPercent()) + ")"));
        ev.add(ev("headroom", String.valueOf(c.headroom())));
        if (c.maxUsed() >= 0) {
            ev.add(ev("Max_used_connections", c.maxUsed() + " (" + pct(c.peakPercent()) + ")"));
        }
        ev.add(ev("sleeping / running", c.sleeping() + " / " + c.active()));
        return finding(Verdict.HEALTHY, Severity.OK, 1.0,
                "healthy: " + c.connected() + " of " + c.maxConnections() + " connections in use (" + pct(c.usedPercent())
                        + ")" + (c.maxUsed() >= 0 ? ", peak " + c.maxUsed() + " (" + pct(c.peakPercent()) + ")" : "")
                        + "; no account at its cap", ev);
    }

    // ---- recommendations ---------------------------------------------------------------------------

    private static Recommendations recommend(Facts f, List<Finding> findings) {
        Set<Verdict> flagged = findings.stream().filter(x -> x.severity() != Severity.OK).map(Finding::verdict)
                .collect(Collectors.toSet());
        PoolSizing sizing = poolSizing(f, flagged);
        WaitTimeout wait = waitTimeout(f, flagged);
        List<Kill> kills = f.stale().stream()
                .map(r -> new Kill(r.id(), r.user(), r.host(), r.db(), r.timeSeconds(), "KILL CONNECTION " + r.id()))
                .toList();
        String snippet = SluiceConfigSnippet.render(f.s(), sizing, wait.recommended(), flagged.isEmpty(), f.userLimits());
        return new Recommendations(sizing, wait, kills, snippet,
                actions(f, flagged, findings.get(0).verdict(), sizing, wait, kills));
    }

    private static PoolSizing poolSizing(Facts f, Set<Verdict> flagged) {
        int max = f.c().maxConnections();
        boolean assumed = f.options().instances() == 0;
        int instances = assumed
                ? (int) Math.max(1, f.clients().stream().map(ProcessRow::host).distinct().count())
                : f.options().instances();
        int reserve = Math.max(2, (int) Math.ceil(max * 0.1));
        int budget = Math.max(1, max - reserve);
        int ceiling = Math.max(1, budget / instances);
        long busy = f.c().active();
        int byDemand = (int) Math.max(MIN_POOL, Math.ceil(busy * 1.5 / instances));
        int perInstance = Math.min(ceiling, byDemand);
        String rationale;
        if (flagged.isEmpty()) {
            // Nothing to fix: the pool is not sized down to today's demand, only bounded by what fits.
            perInstance = ceiling;
            rationale = "healthy: no change needed; up to " + ceiling + " per instance (" + instances + " x " + ceiling
                    + ") fits under max_connections " + max + " - " + reserve + " reserved, and " + busy
                    + " connection(s) run at once now";
        } else if (byDemand > ceiling) {
            rationale = busy + " connections run at once; 1.5x that is " + byDemand + " per instance, more than the "
                    + ceiling + " that fit" + (instances > 1 ? " each of " + instances + " instances" : "")
                    + " under max_connections " + max + " - " + reserve + " reserved: cap each instance at "
                    + ceiling + " and let the excess wait in Sluice's queue, or raise max_connections";
        } else {
            rationale = busy + " connections run at once; " + perInstance + " per instance covers 1.5x that (at least "
                    + MIN_POOL + "), and " + instances + " x " + perInstance + " stays under max_connections " + max
                    + " - " + reserve + " reserved";
        }
        if (assumed) {
            rationale += "; " + instances + " instance(s) assumed from distinct client hosts (use --instances)";
        }
        return new PoolSizing(instances, assumed, reserve, budget, busy, perInstance, ceiling, rationale);
    }

    private static WaitTimeout waitTimeout(Facts f, Set<Verdict> flagged) {
        long current = f.s().waitTimeout();
        long target = Math.max(ADVISED_WAIT_TIMEOUT, 2 * f.options().idleThresholdSeconds());
        boolean leaking = flagged.contains(Verdict.IDLE_LEAK) || !f.stale().isEmpty();
        if (leaking && current > target) {
            Connections c = f.c();
            String why = f.stale().isEmpty()
                    ? c.sleeping() + " sleeping connections hold " + pct(percent(c.sleeping(), c.maxConnections()))
                    + " of max_connections (" + pct(f.idleShare() * 100) + " of client connections)"
                    : f.stale().size() + " connection(s) sleep past " + f.options().idleThresholdSeconds() + "s";
            String reason = why + "; with wait_timeout = "
                    + target + " the server closes a leaked connection after " + duration(target)
                    + " instead of " + duration(current) + "; pools must retire connections sooner (Sluice: max-lifetime below it)";
            if (f.s().interactiveTimeout() > target) {
                reason += "; set interactive_timeout too: interactive clients (the mysql CLI) get it instead";
            }
            return new WaitTimeout(current, target, f.s().interactiveTimeout(), reason);
        }
        return new WaitTimeout(current, current, f.s().interactiveTimeout(), leaking
                ? "keep: " + current + "s already closes idle connections within " + duration(current)
                : "keep: no connection sleeps past " + f.options().idleThresholdSeconds() + "s");
    }

    private static List<String> actions(Facts f, Set<Verdict> flagged, Verdict top, PoolSizing sizing, WaitTimeout wait,
                                        List<Kill> kills) {
        List<String> out = new ArrayList<>();
        Connections c = f.c();
        if (flagged.contains(Verdict.IDLE_LEAK)) {
            String who = f.sleeping().isEmpty() ? "" : " (user " + counts(f.sleeping(), ProcessRow::user, 1).get(0).key()
                    + " holds " + counts(f.sleeping(), ProcessRow::user, 1).get(0).connections() + " of them)";
            out.add("Find the application holding sleeping connections" + who
                    + ": close connections after use, or shrink its pool to " + sizing.perInstance() + " per instance");
        }
        if (wait.recommended() < wait.current()) {
            out.add("SET GLOBAL wait_timeout = " + wait.recommended() + "; SET GLOBAL interactive_timeout = "
                    + wait.recommended() + "; and the same under [mysqld] in my.cnf");
        }
        if (!kills.isEmpty()) {
            out.add("End the " + kills.size() + " connection(s) sleeping past " + f.options().idleThresholdSeconds()
                    + "s: the KILL statements below, or sluice doctor --kill-idle");
        }
        if (flagged.contains(Verdict.GENUINE_LOAD) && !statements(f).isEmpty()) {
            // Issue #29: which statements hold the connections, from Sluice's digests.
            Diagnosis.Statement first = statements(f).get(0);
            out.add("Look at the statements holding the connections first (Sluice, GET /digests?order=total_time): "
                    + abbreviate(first.digest()) + " took " + millis(first.totalTimeMs()) + " over " + first.count()
                    + " runs; EXPLAIN it, index it, or make it shorter");
        }
        // A larger max_connections helps real demand; it only postpones a leak.
        if (flagged.contains(Verdict.GENUINE_LOAD) || top == Verdict.LIMIT_TOO_LOW) {
            long wanted = Math.max((long) Math.ceil(Math.max(c.connected(), c.maxUsed()) * 1.5), c.maxConnections() + 1L);
            out.add("Put Sluice in front so the server sees at most " + sizing.instances() + " x " + sizing.perInstance()
                    + " connections and the rest queue; or, if CPU and memory allow, SET GLOBAL max_connections = "
                    + wanted + " (needs open_files_limit >= " + Math.max(10 + wanted + 2 * Math.max(0, f.files().tableOpenCache()), 5 * wanted) + ")");
        }
        for (UserLimit u : f.userLimits()) {
            if (u.current() >= u.limit() || (u.usedPercent() >= 80 && u.limit() >= 5)) {
                out.add("'" + u.user() + "'@'" + u.host() + "' uses " + u.current() + " of " + u.limit()
                        + ": size its pools to " + Math.max(1, u.limit() / sizing.instances())
                        + " per instance, or ALTER USER '" + u.user() + "'@'" + u.host() + "' WITH MAX_USER_CONNECTIONS "
                        + Math.max(u.limit() * 2, u.current() + 5));
            }
        }
        if (flagged.contains(Verdict.FD_CEILING)) {
            long want = Math.max(65535, f.files().needed());
            out.add("Raise mysqld's descriptor limit: LimitNOFILE=" + want + " in its systemd unit (or ulimit -n), and open_files_limit = "
                    + want + " in my.cnf; then restart");
        }
        if (f.sluice() != null && f.sluice().error() == null) {
            for (Diagnosis.SluicePool p : f.sluice().pools()) {
                if (p.waiting() > 0 && p.busy() >= p.max()) {
                    out.add("Sluice pool " + p.name() + " is full (" + p.busy() + " of " + p.max() + ") with " + p.waiting()
                            + " waiting: " + (c.headroom() > p.waiting() ? "the server has " + c.headroom()
                            + " connections of headroom, raise its pool-max" : "the server has no headroom: the queue is the right place for them"));
                }
            }
        }
        if (!f.s().processPrivilege()) {
            out.add("Run again as an account with PROCESS to see every user's connections (GRANT PROCESS ON *.* TO ...)");
        }
        return out;
    }

    // ---- helpers -----------------------------------------------------------------------------------

    /** The most frequent key among rows as "key: n (p%)", or empty when there are no rows. */
    static Optional<String> top(List<ProcessRow> rows, Function<ProcessRow, String> key) {
        if (rows.isEmpty()) {
            return Optional.empty();
        }
        Count c = counts(rows, key, 1).get(0);
        return Optional.of(c.key() + ": " + c.connections() + " (" + pct(percent(c.connections(), rows.size())) + ")");
    }

    private static Finding finding(Verdict v, Severity sev, double score, String summary, List<Evidence> ev) {
        return new Finding(v, v.label(), sev, Math.round(score * 100) / 100.0, summary, List.copyOf(ev));
    }

    private static Evidence ev(String name, String value) {
        return new Evidence(name, value);
    }

    static double percent(long part, long whole) {
        return whole <= 0 ? 0 : Math.round(part * 1000.0 / whole) / 10.0;
    }

    static String pct(double p) {
        return (p == Math.rint(p) ? String.valueOf((long) p) : String.format(Locale.ROOT, "%.1f", p)) + "%";
    }

    /** 600 -> "10m", 28800 -> "8h", 90 -> "90s". */
    static String duration(long seconds) {
        if (seconds >= 3600 && seconds % 3600 == 0) {
            return seconds / 3600 + "h";
        }
        if (seconds >= 60 && seconds % 60 == 0) {
            return seconds / 60 + "m";
        }
        return seconds + "s";
    }
}
