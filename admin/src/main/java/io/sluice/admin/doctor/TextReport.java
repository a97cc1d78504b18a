package io.sluice.admin.doctor;

import io.sluice.admin.doctor.Diagnosis.AgeBucket;
import io.sluice.admin.doctor.Diagnosis.Connections;
import io.sluice.admin.doctor.Diagnosis.Count;
import io.sluice.admin.doctor.Diagnosis.Evidence;
import io.sluice.admin.doctor.Diagnosis.Files;
import io.sluice.admin.doctor.Diagnosis.Finding;
import io.sluice.admin.doctor.Diagnosis.Kill;
import io.sluice.admin.doctor.Diagnosis.Recommendations;
import io.sluice.admin.doctor.Diagnosis.SluicePool;
import io.sluice.admin.doctor.Diagnosis.SluiceView;
import io.sluice.admin.doctor.Diagnosis.UserLimit;

import java.util.List;
import java.util.Locale;

/** Renders a {@link Diagnosis} as the human-readable report of {@code sluice doctor}: sections of aligned tables. */
public final class TextReport {
    private TextReport() {
    }

    public static String render(Diagnosis d) {
        StringBuilder out = new StringBuilder();
        var s = d.server();
        out.append("sluice doctor: ").append(s.endpoint()).append("  ").append(s.version());
        if (!s.versionComment().isBlank()) {
            out.append(" (").append(s.versionComment()).append(')');
        }
        out.append("  as ").append(s.account()).append("  at ").append(d.takenAt()).append("\n\n");

        Finding v = d.verdict();
        out.append("VERDICT: ").append(v.severity()).append("  ").append(v.label()).append('\n');
        out.append("  ").append(v.summary()).append("\n\n");

        out.append("Findings, ranked\n");
        Table findings = new Table(">#", "SEVERITY", "VERDICT", ">SCORE", "SUMMARY");
        int i = 1;
        for (Finding f : d.findings()) {
            findings.row(i++, f.severity(), f.label(), String.format(Locale.ROOT, "%.2f", f.score()), f.summary());
        }
        findings.render(out, "  ", true);
        i = 1;
        for (Finding f : d.findings()) {
            out.append("  evidence for #").append(i++).append(" (").append(f.label()).append("):\n");
            Table ev = new Table("NAME", "VALUE");
            for (Evidence e : f.evidence()) {
                ev.row(e.name(), e.value());
            }
            ev.render(out, "    ", false);
        }
        out.append('\n');

        Connections c = d.connections();
        out.append("Connections\n");
        Table conn = new Table("NAME", ">VALUE", "NOTE");
        conn.row("max_connections", c.maxConnections(), "");
        conn.row("Threads_connected", c.connected(), Diagnoser.pct(c.usedPercent()) + " used, headroom " + c.headroom()
                + " (includes this doctor)");
        conn.row("Threads_running", c.running(), "");
        conn.row("Max_used_connections", known(c.maxUsed()), c.maxUsed() < 0 ? "" : Diagnoser.pct(c.peakPercent())
                + (c.maxUsedTime() == null ? " since start or FLUSH STATUS" : " at " + c.maxUsedTime()));
        conn.row("refused (ERROR 1040)", known(c.refused()), "Connection_errors_max_connections since start");
        conn.row("sleeping", c.sleeping(), c.estimated() ? "estimated: Threads_connected - Threads_running" : "client connections in Sleep");
        conn.row("running", c.active(), c.estimated() ? "estimated: Threads_running - 1" : "client connections in a command");
        conn.render(out, "  ", false);
        out.append('\n');

        var p = d.processlist();
        String scope = p.complete() ? "all users" : "own threads only: no PROCESS privilege";
        out.append("Processlist by command / state (").append(p.rows()).append(" client threads, ").append(scope).append(")\n");
        counts(out, "COMMAND / STATE", p.byCommandState());
        out.append("Top users\n");
        counts(out, "USER", p.byUser());
        out.append("Top client hosts\n");
        counts(out, "HOST", p.byHost());
        out.append("Sleeping connections by idle time\n");
        if (!p.complete()) {
            out.append("  only own threads are visible without PROCESS\n");
        }
        long most = p.sleepingAges().stream().mapToLong(AgeBucket::connections).max().orElse(0);
        Table ages = new Table("IDLE FOR", ">CONNECTIONS", "");
        for (AgeBucket b : p.sleepingAges()) {
            int bar = most == 0 ? 0 : (int) Math.ceil(30.0 * b.connections() / most);
            ages.row(b.label(), b.connections(), "#".repeat(bar));
        }
        ages.render(out, "  ", true);
        out.append('\n');

        out.append("Timeouts\n");
        Table t = new Table("NAME", ">SECONDS", "");
        t.row("wait_timeout", d.timeouts().waitTimeout(), "(" + Diagnoser.duration(d.timeouts().waitTimeout()) + ")");
        t.row("interactive_timeout", d.timeouts().interactiveTimeout(), "(" + Diagnoser.duration(d.timeouts().interactiveTimeout()) + ")");
        t.render(out, "  ", false);
        out.append('\n');

        out.append("Per-user connection limits (source: ")
                .append(d.visibility().accountLimitsSource() == null ? "none visible" : d.visibility().accountLimitsSource()).append(")\n");
        if (d.userLimits().isEmpty()) {
            out.append("  no visible account has a MAX_USER_CONNECTIONS, and max_user_connections is 0 (unlimited)\n");
        } else {
            Table u = new Table("ACCOUNT", ">LIMIT", "SOURCE", ">IN USE", ">USED");
            for (UserLimit l : d.userLimits()) {
                u.row(l.user() + "@" + l.host(), l.limit(), l.source(), l.current(), Diagnoser.pct(l.usedPercent()));
            }
            u.render(out, "  ", true);
        }
        out.append('\n');

        Files f = d.files();
        out.append("File descriptors\n");
        Table ft = new Table("NAME", ">VALUE", "NOTE");
        ft.row("open_files_limit", known(f.openFilesLimit()), "");
        ft.row("wanted", f.needed(), "max(10 + max_connections + 2 x table_open_cache, 5 x max_connections)");
        ft.row("Open_files", known(f.openFiles()), "files mysqld has open (not sockets)");
        if (f.processUnknownReason() == null) {
            ft.row("process pid", f.pid(), "");
            ft.row("process fd limit", limit(f.processSoftLimit()), "soft; hard " + limit(f.processHardLimit()));
            ft.row("process fds open", known(f.processOpen()), f.processOpen() < 0 ? "unreadable" : "");
        } else {
            ft.row("process fd limit", "unknown", f.processUnknownReason());
        }
        ft.render(out, "  ", false);
        out.append('\n');

        if (d.sluice() != null) {
            sluice(out, d.sluice());
        }

        Recommendations r = d.recommendations();
        out.append("Recommendations\n");
        var ps = r.poolSizing();
        if (d.severity() == Severity.OK) {
            out.append("  pool size: no change needed; at most ").append(ps.ceilingPerInstance())
                    .append(" per instance x ").append(ps.instances()).append(" instance(s)")
                    .append(ps.instancesAssumed() ? " (assumed)" : "").append(" fits the server\n");
        } else {
            out.append("  pool size: ").append(ps.perInstance()).append(" per instance x ").append(ps.instances())
                    .append(" instance(s)").append(ps.instancesAssumed() ? " (assumed)" : "")
                    .append("; at most ").append(ps.ceilingPerInstance()).append(" per instance fits the server\n");
        }
        out.append("    ").append(ps.rationale()).append('\n');
        var w = r.waitTimeout();
        out.append("  wait_timeout: ").append(w.recommended() == w.current() ? "keep " + w.current() + "s"
                : w.recommended() + "s (now " + w.current() + "s)").append('\n');
        out.append("    ").append(w.reason()).append('\n');
        if (!r.actions().isEmpty()) {
            out.append("  actions:\n");
            for (String a : r.actions()) {
                out.append("    - ").append(a).append('\n');
            }
        }
        List<Kill> kills = r.kills();
        out.append("  KILL statements for connections sleeping past the threshold: ").append(kills.size()).append('\n');
        if (!kills.isEmpty()) {
            Table k = new Table("STATEMENT", "", "ACCOUNT", ">IDLE", "DB");
            for (Kill kill : kills) {
                k.row(kill.statement() + ";", "--", kill.user() + "@" + kill.host(), kill.idleSeconds() + "s",
                        kill.db() == null ? "" : kill.db());
            }
            k.render(out, "    ", false);
        }
        out.append("  Sluice config that keeps this server under its limits:\n");
        for (String line : r.sluiceConfig().split("\n")) {
            out.append("    ").append(line).append('\n');
        }
        out.append('\n');

        out.append("Could not see\n");
        if (d.visibility().notes().isEmpty()) {
            out.append("  nothing: every source was readable\n");
        } else {
            for (String n : d.visibility().notes()) {
                out.append("  - ").append(n).append('\n');
            }
        }
        out.append("\nexit code ").append(d.exitCode()).append(" (").append(d.severity()).append(")\n");
        return out.toString();
    }

    /**
     * A cluster: the one-line verdict first, then a table of the servers (role, what the server and
     * Sluice say, severity, connections), then each server's one-server report under a header
     * naming its address and role.
     */
    public static String render(ClusterDiagnosis d) {
        StringBuilder out = new StringBuilder();
        out.append("VERDICT: ").append(d.verdict()).append('\n');
        out.append("sluice doctor: cluster of ").append(d.servers().size()).append(" servers at ").append(d.takenAt())
                .append(", roles from ").append(d.roles().equals("sluice") ? "Sluice at " + d.sluiceUrl()
                        : "the servers (read_only, replication status)").append("\n\n");
        out.append("Servers\n");
        Table t = new Table("SERVER", "ROLE", "SEVERITY", "VERDICT", ">CONNECTED", ">MAX", "SERVER SAYS", "SLUICE SAYS");
        for (ClusterDiagnosis.Member m : d.servers()) {
            Diagnosis g = m.diagnosis();
            t.row(m.endpoint(), m.role(), g != null ? g.severity() : m.severity() != null ? m.severity() : "unknown",
                    g != null ? g.verdict().label() : "not diagnosed",
                    g != null ? g.connections().connected() : "", g != null ? g.connections().maxConnections() : "",
                    m.says() == null ? "" : m.says().toString(), m.sluice() == null ? "" : sluiceSays(m.sluice()));
        }
        t.render(out, "  ", true);
        for (ClusterDiagnosis.Member m : d.servers()) {
            out.append("\n=== ").append(m.endpoint()).append("  ").append(m.role());
            if (m.says() != null) {
                out.append("  (").append(m.says()).append(')');
            }
            out.append(" ===\n");
            if (m.diagnosis() != null) {
                out.append(render(m.diagnosis()));
            } else {
                out.append("not diagnosed: ").append(m.error().message()).append('\n');
            }
        }
        out.append("\nexit code ").append(d.exitCode()).append(" (worst of the ").append(d.servers().size())
                .append(" servers: ").append(d.severity()).append(")\n");
        return out.toString();
    }

    private static String sluiceSays(ClusterDiagnosis.SluiceRole s) {
        StringBuilder b = new StringBuilder(s.role()).append(s.up() ? ", up" : ", down");
        if (s.role().equals("replica")) {
            b.append(s.readable() ? ", readable" : ", no reads");
            b.append(", lag ").append(s.lagMs() == null ? "unknown" : Math.round(s.lagMs()) + " ms");
        }
        b.append(", ").append(s.backendConnections()).append(" backends");
        if (s.backendCap() != null) {
            b.append(" of cap ").append(s.backendCap());
        }
        if (s.why() != null) {
            b.append(": ").append(s.why());
        }
        return b.toString();
    }

    private static void sluice(StringBuilder out, SluiceView v) {
        out.append("Sluice (").append(v.url()).append(")\n");
        if (v.error() != null) {
            out.append("  unreachable: ").append(v.error()).append("\n\n");
            return;
        }
        Table t = new Table("NAME", ">VALUE");
        t.row("client sessions", v.clients());
        t.row("backend connections", v.backendConnections());
        t.row("global-max", v.globalMax());
        t.row("waiting for a backend", v.waiting());
        t.row("pinned sessions", v.pinned());
        t.render(out, "  ", false);
        if (!v.pools().isEmpty()) {
            Table pt = new Table("POOL", ">MAX", ">BUSY", ">IDLE", ">WAITING", ">OLDEST WAIT", ">TIMEOUTS", ">QUEUE FULL");
            for (SluicePool p : v.pools()) {
                pt.row(p.name(), p.max(), p.busy(), p.idle(), p.waiting(), p.oldestWaitMs() + "ms", p.timeouts(), p.queueFull());
            }
            pt.render(out, "  ", true);
        }
        if (!v.sessions().isEmpty()) {
            Table st = new Table("SESSION STATE", ">SESSIONS");
            for (Count c : v.sessions()) {
                st.row(c.key(), c.connections());
            }
            st.render(out, "  ", true);
        }
        out.append('\n');
    }

    private static void counts(StringBuilder out, String keyHeader, List<Count> counts) {
        if (counts.isEmpty()) {
            out.append("  (none visible)\n\n");
            return;
        }
        Table t = new Table(keyHeader, ">CONNECTIONS", ">SLEEPING", ">MAX TIME");
        for (Count c : counts) {
            t.row(c.key(), c.connections(), c.sleeping(), c.maxTimeSeconds() + "s");
        }
        t.render(out, "  ", true);
        out.append('\n');
    }

    private static String known(long v) {
        return v < 0 ? "unknown" : String.valueOf(v);
    }

    private static String limit(long v) {
        return v == Long.MAX_VALUE ? "unlimited" : known(v);
    }
}
