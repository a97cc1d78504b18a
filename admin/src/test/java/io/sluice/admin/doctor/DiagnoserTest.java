package io.sluice.admin.doctor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.admin.doctor.Diagnosis.Finding;
import io.sluice.admin.doctor.ServerSnapshot.AccountLimit;
import io.sluice.admin.doctor.ServerSnapshot.ProcessFiles;
import io.sluice.admin.doctor.ServerSnapshot.ProcessRow;
import io.sluice.config.ConfigLoader;
import io.sluice.config.PoolMode;
import io.sluice.config.SluiceConfig;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The verdict rules and their ranking on synthetic snapshots: pure logic, no server. */
class DiagnoserTest {
    private static final long OWN_ID = 1;

    /** A server with max_connections {@code max} and the doctor's own thread in its processlist. */
    private static ServerSnapshot.Builder server(int max) {
        ServerSnapshot.Builder b = ServerSnapshot.builder();
        b.endpoint = "db1:3306";
        b.version = "8.4.6";
        b.currentUser = "root@%";
        b.ownConnectionId = OWN_ID;
        b.maxConnections = max;
        b.openFilesLimit = 65535;
        b.tableOpenCache = 400;
        b.refusedMaxConnections = 0;
        b.processes.add(new ProcessRow(OWN_ID, "root", "10.0.0.1", null, "Query", 0, "executing", "SELECT ..."));
        b.accountLimitsSource = "mysql.user";
        return b;
    }

    private static void add(ServerSnapshot.Builder b, int n, String user, String host, String command, long time, String state) {
        long id = 100 + b.processes.size();
        for (int i = 0; i < n; i++) {
            b.processes.add(new ProcessRow(id + i, user, host, "app", command, time, state, null));
        }
    }

    /** Threads_connected, Threads_running and the peak as the processlist implies. */
    private static ServerSnapshot done(ServerSnapshot.Builder b) {
        b.threadsConnected = b.processes.size();
        b.threadsRunning = b.processes.stream().filter(r -> !r.isSleeping()).count();
        if (b.maxUsedConnections < 0) {
            b.maxUsedConnections = b.threadsConnected;
        }
        return b.build();
    }

    private static Diagnosis diagnose(ServerSnapshot s) {
        return Diagnoser.diagnose(s, new DoctorOptions(0, 60), null);
    }

    @Test
    void manySleepingConnectionsUnderPressureAreAnIdleLeak() {
        ServerSnapshot.Builder b = server(50);
        add(b, 40, "app", "10.0.0.7", "Sleep", 600, "");
        add(b, 1, "app", "10.0.0.7", "Query", 0, "Sending data");
        Diagnosis d = diagnose(done(b));

        assertEquals(Verdict.IDLE_LEAK, d.verdict().verdict());
        assertEquals(Severity.WARNING, d.severity(), "42 of 50 is 84%: warning, not yet critical");
        assertEquals(1, d.exitCode());
        assertTrue(d.verdict().summary().startsWith("idle leak: 40 connections sleep (40 longer than 60s)"), d.verdict().summary());
        assertEquals(40, d.connections().sleeping());
        assertEquals(1, d.connections().active());
        assertEquals(40, d.recommendations().kills().size());
        assertEquals("KILL CONNECTION 101", d.recommendations().kills().get(0).statement());
        assertEquals(600, d.recommendations().waitTimeout().recommended());
        assertTrue(d.recommendations().sluiceConfig().contains("mode = transaction"));
        // 1 busy connection: the minimum pool; 50 - 5 reserved fits one instance easily.
        assertEquals(Diagnoser.MIN_POOL, d.recommendations().poolSizing().perInstance());
        assertEquals(45, d.recommendations().poolSizing().ceilingPerInstance());
        assertEquals(1, d.recommendations().poolSizing().instances(), "one distinct client host");
        // Histogram: all 40 in the 5m-30m bucket.
        assertEquals(40, d.processlist().sleepingAges().stream().filter(a -> a.label().equals("5m-30m")).findFirst().orElseThrow().connections());
    }

    @Test
    void recentlyUsedSleepersAreOversizedPoolsNotALeak() {
        ServerSnapshot.Builder b = server(50);
        add(b, 46, "app", "10.0.0.7", "Sleep", 3, "");
        Diagnosis d = diagnose(done(b));
        assertEquals(Verdict.IDLE_LEAK, d.verdict().verdict());
        assertEquals(Severity.CRITICAL, d.severity(), "47 of 50 is 94%");
        assertTrue(d.verdict().summary().startsWith("oversized pools:"), d.verdict().summary());
        assertTrue(d.recommendations().kills().isEmpty(), "nothing sleeps past the threshold");
    }

    @Test
    void busyConnectionsUnderPressureAreGenuineLoad() {
        ServerSnapshot.Builder b = server(50);
        add(b, 45, "app", "10.0.0.7", "Query", 12, "User sleep");
        add(b, 2, "app", "10.0.0.8", "Sleep", 1, "");
        Diagnosis d = diagnose(done(b));
        assertEquals(Verdict.GENUINE_LOAD, d.verdict().verdict());
        assertEquals(Severity.CRITICAL, d.severity());
        assertEquals(2, d.exitCode());
        assertTrue(d.verdict().evidence().stream().anyMatch(e -> e.value().startsWith("Query / User sleep: 45")), d.verdict().toString());
        // 45 busy x 1.5 over 2 hosts wants 34 each, but only 45 / 2 = 22 fit.
        assertEquals(2, d.recommendations().poolSizing().instances());
        assertEquals(22, d.recommendations().poolSizing().perInstance());
        assertEquals(28800, d.recommendations().waitTimeout().recommended(), "no leak: keep wait_timeout");
    }

    /** Issue #29: under genuine load the doctor names the statements that hold the connections, from Sluice's digests. */
    @Test
    void genuineLoadNamesTheStatementsByTotalTime() throws Exception {
        ObjectMapper json = new ObjectMapper();
        JsonNode stats = json.readTree("{\"clients\": 47, \"backend_connections\": 45, \"global_max\": 100, \"pools\": []}");
        JsonNode sessions = json.readTree("[]");
        JsonNode digests = json.readTree("""
                {"enabled": true, "order": "total_time", "statements": [
                  {"id": "00000000000000aa", "digest": "SELECT * FROM orders WHERE customer_id = ? FOR UPDATE", "user": "app",
                   "server": "db1:3306", "count": 1200, "errors": 3, "total_time_ms": 540000.0, "avg_time_ms": 450.0,
                   "max_time_ms": 12000.0, "wait_time_ms": 10.0},
                  {"id": "00000000000000bb", "digest": "UPDATE stock SET n = n - ? WHERE id IN (...)", "user": "app",
                   "server": "db1:3306", "count": 9000, "errors": 0, "total_time_ms": 90000.0, "avg_time_ms": 10.0,
                   "max_time_ms": 80.0, "wait_time_ms": 0.0},
                  {"id": "00000000000000cc", "digest": "SELECT ?", "user": "app", "server": "db1:3306", "count": 5,
                   "errors": 0, "total_time_ms": 0.0, "avg_time_ms": 0.0, "max_time_ms": 0.0, "wait_time_ms": 0.0}]}
                """);
        Diagnosis.SluiceView view = Doctor.sluiceView("http://127.0.0.1:6034", stats, sessions, digests);
        assertEquals(2, view.statements().size(), "a statement that took no time names nothing");

        ServerSnapshot.Builder b = server(50);
        add(b, 45, "app", "10.0.0.7", "Query", 12, "Sending data");
        add(b, 2, "app", "10.0.0.8", "Sleep", 1, "");
        Diagnosis d = Diagnoser.diagnose(done(b), new DoctorOptions(0, 60), view);
        assertEquals(Verdict.GENUINE_LOAD, d.verdict().verdict());
        assertTrue(d.verdict().summary().contains("the statement holding them longest: SELECT * FROM orders WHERE customer_id = ? FOR UPDATE"),
                d.verdict().summary());
        List<Diagnosis.Evidence> named = d.verdict().evidence().stream().filter(e -> e.name().startsWith("statement #")).toList();
        assertEquals(2, named.size(), d.verdict().evidence().toString());
        assertEquals("statement #1 by total time in Sluice", named.get(0).name());
        assertEquals("SELECT * FROM orders WHERE customer_id = ? FOR UPDATE (1200 runs, 540.0 s in all, avg 450.0 ms, max 12.0 s, "
                + "3 errors; user app, id 00000000000000aa)", named.get(0).value());
        assertTrue(named.get(1).value().startsWith("UPDATE stock SET n = n - ? WHERE id IN (...) (9000 runs, 90.0 s in all"));
        assertTrue(d.recommendations().actions().stream().anyMatch(a -> a.startsWith("Look at the statements holding the connections "
                + "first (Sluice, GET /digests?order=total_time): SELECT * FROM orders")), d.recommendations().actions().toString());
        String text = TextReport.render(d);
        assertTrue(text.contains("statement #1 by total time in Sluice"), text);

        // An idle leak is not about statements: none named.
        ServerSnapshot.Builder idle = server(50);
        add(idle, 40, "app", "10.0.0.7", "Sleep", 600, "");
        Diagnosis leak = Diagnoser.diagnose(done(idle), new DoctorOptions(0, 60), view);
        assertEquals(Verdict.IDLE_LEAK, leak.verdict().verdict());
        assertFalse(leak.findings().stream().anyMatch(f -> f.evidence().stream().anyMatch(e -> e.name().startsWith("statement #"))));
    }

    @Test
    void aMixUnderTheDefaultLimitIsALimitTooLow() {
        ServerSnapshot.Builder b = server(151);
        b.refusedMaxConnections = 17;
        add(b, 70, "app", "10.0.0.7", "Sleep", 5, "");
        add(b, 70, "app", "10.0.0.8", "Query", 1, "Sending data");
        Diagnosis d = diagnose(done(b));
        assertEquals(Verdict.LIMIT_TOO_LOW, d.verdict().verdict(), d.findings().toString());
        assertEquals(Severity.CRITICAL, d.severity(), "141 of 151");
        assertTrue(d.verdict().evidence().stream().anyMatch(e -> e.name().contains("ERROR 1040") && e.value().equals("17")));
    }

    @Test
    void aLeakUnderALargeLimitDoesNotBlameTheLimit() {
        ServerSnapshot.Builder b = server(1000);
        add(b, 900, "app", "10.0.0.7", "Sleep", 600, "");
        Diagnosis d = diagnose(done(b));
        assertEquals(List.of(Verdict.IDLE_LEAK), d.findings().stream().map(Finding::verdict).toList());
        assertTrue(d.recommendations().actions().stream().noneMatch(a -> a.contains("max_connections =")),
                "raising max_connections only postpones a leak: " + d.recommendations().actions());
    }

    @Test
    void anAccountAtItsCapIsCriticalEvenWithHeadroom() {
        ServerSnapshot.Builder b = server(500);
        b.accountLimits.add(new AccountLimit("capped", "%", 5));
        b.accountLimits.add(new AccountLimit("capped", "localhost", 0));
        b.accountLimits.add(new AccountLimit("root", "%", 0));
        add(b, 5, "capped", "10.0.0.9", "Sleep", 2, "");
        Diagnosis d = diagnose(done(b));
        assertEquals(Verdict.PER_USER_CAP, d.verdict().verdict());
        assertEquals(Severity.CRITICAL, d.severity());
        assertTrue(d.verdict().summary().contains("'capped'@'%' is at its cap (5 of 5)"), d.verdict().summary());
        assertEquals(1, d.userLimits().size(), "accounts without a cap and without a global one are not listed");
        // pool-max stays within global-max (4 here, the minimum pool), a rule ConfigLoader enforces
        assertTrue(d.recommendations().sluiceConfig().contains("# users.\"capped\" { pool-max = 4 }"), d.recommendations().sluiceConfig());
    }

    @Test
    void theGlobalUserCapAppliesToAccountsWithoutTheirOwn() {
        ServerSnapshot.Builder b = server(500);
        b.maxUserConnections = 10;
        b.accountLimits.add(new AccountLimit("app", "%", 0));
        add(b, 9, "app", "10.0.0.9", "Sleep", 2, "");
        Diagnosis d = diagnose(done(b));
        assertEquals(Verdict.PER_USER_CAP, d.verdict().verdict());
        assertEquals(Severity.WARNING, d.severity(), "9 of 10 is near the cap");
        assertEquals("global", d.userLimits().get(0).source());
    }

    @Test
    void descriptorsNearTheProcessLimitAreAnFdCeiling() {
        ServerSnapshot.Builder b = server(500);
        b.files = new ProcessFiles(4242, 1024, 4096, 1000, null);
        add(b, 10, "app", "10.0.0.9", "Sleep", 2, "");
        Diagnosis d = diagnose(done(b));
        assertEquals(Verdict.FD_CEILING, d.verdict().verdict());
        assertEquals(Severity.CRITICAL, d.severity());
        assertTrue(d.verdict().summary().contains("1000 of 1024 descriptors are open"), d.verdict().summary());
    }

    @Test
    void maxConnectionsLoweredTo214IsAnFdCeiling() {
        ServerSnapshot.Builder b = server(214);
        b.openFilesLimit = 1024;
        add(b, 3, "app", "10.0.0.9", "Sleep", 2, "");
        Diagnosis d = diagnose(done(b));
        assertEquals(Verdict.FD_CEILING, d.verdict().verdict());
        assertEquals(Severity.WARNING, d.severity());
        assertTrue(d.verdict().summary().contains("mysqld lowered max_connections"), d.verdict().summary());
    }

    @Test
    void aQuietServerIsHealthy() {
        ServerSnapshot.Builder b = server(151);
        add(b, 3, "app", "10.0.0.9", "Sleep", 2, "");
        Diagnosis d = diagnose(done(b));
        assertEquals(Verdict.HEALTHY, d.verdict().verdict());
        assertEquals(List.of(Verdict.HEALTHY), d.findings().stream().map(Finding::verdict).toList());
        assertEquals(0, d.exitCode());
        assertEquals(28800, d.recommendations().waitTimeout().recommended());
    }

    @Test
    void aHealthyIdleServerIsNotToldToChangeModeOrShrinkItsPool() {
        ServerSnapshot.Builder b = server(151);
        add(b, 3, "app", "10.0.0.9", "Sleep", 2, "");
        Diagnosis d = diagnose(done(b));
        assertEquals(Severity.OK, d.severity());
        String snippet = d.recommendations().sluiceConfig();
        assertFalse(snippet.contains("mode = session"), "Sluice's default transaction mode fits:\n" + snippet);
        assertTrue(snippet.contains("mode = transaction"), snippet);
        // 151 - 16 reserved, one instance: the pool may use what fits; nothing is sized down to the minimum.
        assertEquals(135, d.recommendations().poolSizing().perInstance(), d.recommendations().poolSizing().rationale());
        assertFalse(snippet.contains("global-max = " + Diagnoser.MIN_POOL + "\n"), snippet);
        assertTrue(d.recommendations().poolSizing().rationale().startsWith("healthy: no change needed"),
                d.recommendations().poolSizing().rationale());
        assertTrue(TextReport.render(d).contains("pool size: no change needed"), TextReport.render(d));
    }

    @Test
    void thePoolSizingRationaleSaysWhatDoesNotFit() {
        ServerSnapshot.Builder b = server(50);
        add(b, 40, "app", "10.0.0.7", "Query", 3, "User sleep");
        Diagnosis d = diagnose(done(b));
        var sizing = d.recommendations().poolSizing();
        assertEquals(45, sizing.perInstance());
        // 40 running is fewer than the 45 that fit: what does not fit is 1.5 x 40 = 60.
        assertFalse(sizing.rationale().contains("more than 1 x 45 fit"), sizing.rationale());
        assertTrue(sizing.rationale().startsWith("40 connections run at once; 1.5x that is 60 per instance, more than the 45"),
                sizing.rationale());
    }

    @Test
    void theWaitTimeoutReasonStatesTheSleepersRealShare() {
        ServerSnapshot.Builder b = server(100);
        b.maxUsedConnections = 95; // pressure from the peak; only 20 sleep now, all recently used
        add(b, 20, "app", "10.0.0.9", "Sleep", 5, "");
        Diagnosis d = diagnose(done(b));
        assertEquals(Verdict.IDLE_LEAK, d.verdict().verdict());
        String reason = d.recommendations().waitTimeout().reason();
        assertFalse(reason.contains("most of max_connections"), reason);
        assertTrue(reason.startsWith("20 sleeping connections hold 20% of max_connections"), reason);
    }

    @Test
    void aPastPeakAtTheLimitWarnsEvenWhenQuietNow() {
        ServerSnapshot.Builder b = server(100);
        b.maxUsedConnections = 100;
        add(b, 60, "app", "10.0.0.9", "Sleep", 30, "");
        Diagnosis d = diagnose(done(b));
        assertEquals(Severity.WARNING, d.severity());
        assertEquals(Verdict.IDLE_LEAK, d.verdict().verdict());
        assertTrue(d.verdict().summary().contains("at the peak of 100"), d.verdict().summary());
    }

    @Test
    void healthyComesFirstAmongOkFindingsAndWatchItemsFollow() {
        ServerSnapshot.Builder b = server(1000);
        add(b, 300, "app", "10.0.0.9", "Sleep", 4000, "");
        Diagnosis d = diagnose(done(b));
        assertEquals(List.of(Verdict.HEALTHY, Verdict.IDLE_LEAK), d.findings().stream().map(Finding::verdict).toList());
        assertEquals(Severity.OK, d.findings().get(1).severity());
        assertTrue(d.findings().get(1).summary().startsWith("watch: 300 connections"));
        assertEquals(300, d.recommendations().kills().size(), "KILL statements even without pressure");
        assertEquals(600, d.recommendations().waitTimeout().recommended());
    }

    @Test
    void criticalOutranksAWarningWithStrongerEvidence() {
        ServerSnapshot.Builder b = server(100);
        b.accountLimits.add(new AccountLimit("capped", "%", 3));
        add(b, 75, "app", "10.0.0.7", "Sleep", 600, "");     // 77 of 100: warning, idle share ~96%
        add(b, 3, "capped", "10.0.0.8", "Query", 1, "init"); // at its cap: critical
        Diagnosis d = diagnose(done(b));
        assertEquals(List.of(Verdict.PER_USER_CAP, Verdict.IDLE_LEAK, Verdict.LIMIT_TOO_LOW),
                d.findings().stream().map(Finding::verdict).toList());
        assertEquals(Severity.CRITICAL, d.severity());
    }

    @Test
    void withoutProcessTheMixIsEstimatedFromThreadsRunning() {
        ServerSnapshot.Builder b = server(50);
        b.processes.clear();
        b.processPrivilege = false;
        b.currentUser = "monitor@%";
        b.processes.add(new ProcessRow(OWN_ID, "monitor", "10.0.0.1", null, "Query", 0, "executing", null));
        b.notes.add("no PROCESS privilege");
        b.threadsConnected = 45;
        b.threadsRunning = 2;
        b.maxUsedConnections = 45;
        Diagnosis d = Diagnoser.diagnose(b.build(), new DoctorOptions(0, 60), null);
        assertTrue(d.connections().estimated());
        assertEquals(43, d.connections().sleeping());
        assertEquals(1, d.connections().active());
        assertEquals(Verdict.IDLE_LEAK, d.verdict().verdict());
        assertTrue(d.verdict().summary().startsWith("oversized pools: 43 connections sleep"), d.verdict().summary());
        assertFalse(d.processlist().complete());
        assertTrue(d.recommendations().actions().stream().anyMatch(a -> a.contains("GRANT PROCESS")));
    }

    @Test
    void hostPatternsMatchLikeMysql() {
        assertTrue(Diagnoser.hostMatches("%", "10.1.2.3"));
        assertTrue(Diagnoser.hostMatches("10.1.%", "10.1.2.3"));
        assertFalse(Diagnoser.hostMatches("10.1.%", "10.2.2.3"));
        assertTrue(Diagnoser.hostMatches("db_", "db1"));
        assertTrue(Diagnoser.hostMatches("LocalHost", "localhost"));
        assertFalse(Diagnoser.hostMatches("localhost", "127.0.0.1"), "under skip_name_resolve 127.0.0.1 is not localhost");
        var accounts = List.of(new AccountLimit("app", "%", 0), new AccountLimit("app", "10.1.%", 7),
                new AccountLimit("app", "10.1.2.3", 9));
        assertEquals(9, Diagnoser.account(accounts, new ProcessRow(1, "app", "10.1.2.3", null, "Sleep", 0, "", null)).maxUserConnections());
        assertEquals(7, Diagnoser.account(accounts, new ProcessRow(1, "app", "10.1.2.4", null, "Sleep", 0, "", null)).maxUserConnections());
        assertEquals(0, Diagnoser.account(accounts, new ProcessRow(1, "app", "192.168.1.1", null, "Sleep", 0, "", null)).maxUserConnections());
    }

    @Test
    void theSluiceSnippetLoadsAndKeepsTheConfigRules() throws Exception {
        ServerSnapshot.Builder b = server(50);
        b.accountLimits.add(new AccountLimit("app", "%", 10));
        add(b, 40, "app", "10.0.0.7", "Sleep", 600, "");
        Diagnosis d = diagnose(done(b));
        String snippet = d.recommendations().sluiceConfig();
        SluiceConfig config = ConfigLoader.parse(snippet + "\nsluice.users.app { password = \"x\" }\n");
        assertEquals(PoolMode.TRANSACTION, config.pool().mode());
        assertEquals(d.recommendations().poolSizing().perInstance(), config.pool().globalMax());
        assertTrue(config.pool().maxLifetime().compareTo(Duration.ofSeconds(d.recommendations().waitTimeout().recommended())) < 0,
                "max-lifetime below the advised wait_timeout: " + snippet);
        assertTrue(config.pool().idleTimeout().compareTo(config.pool().maxLifetime()) < 0);
    }

    @Test
    void theDiagnosisRoundTripsThroughJackson() throws Exception {
        ServerSnapshot.Builder b = server(50);
        add(b, 40, "app", "10.0.0.7", "Sleep", 600, "");
        JsonNode stats = new ObjectMapper().readTree("""
                {"clients": 12, "backend_connections": 4, "global_max": 4,
                 "pools": [{"name": "app", "max": 4, "busy": 4, "idle": 0, "waiting": 8, "oldest_wait_ms": 900,
                            "timeouts": 3, "rejections": {"timeout": 3, "queue_full": 0, "server_unavailable": 0}}]}""");
        JsonNode sessions = new ObjectMapper().readTree("""
                [{"id": 1, "state": "query"}, {"id": 2, "state": "waiting"}, {"id": 3, "state": "waiting", "pins": ["TRANSACTION"]}]""");
        var sluice = SluiceAdminClient.view("http://127.0.0.1:6034", stats, sessions);
        Diagnosis d = Diagnoser.diagnose(done(b), new DoctorOptions(3, 60), sluice);
        assertEquals(900, sluice.pools().get(0).oldestWaitMs(), "read from /stats' snake_case oldest_wait_ms");
        ObjectMapper mapper = Doctor.jsonMapper();
        String json = mapper.writeValueAsString(d);
        Diagnosis back = mapper.readValue(json, Diagnosis.class);
        assertEquals(d, back);
        // One convention for every JSON document: snake_case field names, as /stats.
        JsonNode tree = mapper.readTree(json);
        assertEquals(1, tree.path("exit_code").asInt(), json);
        assertEquals(50, tree.path("connections").path("max_connections").asInt(), json);
        assertEquals(900, tree.path("sluice").path("pools").get(0).path("oldest_wait_ms").asLong(), json);
        assertFalse(json.matches("(?s).*\"[a-z]+[A-Z][A-Za-z]*\"\\s*:.*"), "a camelCase key in\n" + json);
        assertEquals(8, back.sluice().waiting());
        assertEquals(1, back.sluice().pinned());
        assertNull(back.sluice().error());
        assertTrue(back.recommendations().actions().stream().anyMatch(a -> a.startsWith("Sluice pool app is full")), back.recommendations().actions().toString());
        assertEquals(3, back.recommendations().poolSizing().instances());
        assertFalse(back.recommendations().poolSizing().instancesAssumed());
        // The text report renders every section.
        String text = TextReport.render(d);
        for (String section : List.of("VERDICT: WARNING  idle leak / oversized pools", "Connections", "Top users",
                "Sleeping connections by idle time", "Per-user connection limits", "File descriptors",
                "Sluice (http://127.0.0.1:6034)", "KILL CONNECTION 101;", "global-max = ", "exit code 1 (WARNING)")) {
            assertTrue(text.contains(section), section + " missing in\n" + text);
        }
    }
}
