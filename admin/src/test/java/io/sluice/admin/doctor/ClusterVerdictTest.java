package io.sluice.admin.doctor;

import io.sluice.admin.doctor.ClusterDiagnosis.Failure;
import io.sluice.admin.doctor.ClusterDiagnosis.Member;
import io.sluice.admin.doctor.ClusterDiagnosis.ServerRole;
import io.sluice.admin.doctor.ServerSnapshot.ProcessRow;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cluster verdict on synthetic one-server diagnoses: which server is named short of connections,
 * the worst first, a server refusing the doctor counted as critical, one not diagnosed added at the
 * end, and the exit code the worst server's. Pure logic, no server (as DiagnoserTest).
 */
class ClusterVerdictTest {
    private static final ServerRole PRIMARY = new ServerRole(false, "not a replica");
    private static final ServerRole REPLICA = new ServerRole(true, "running");

    /** A server with {@code max} max_connections and {@code sleeping} idle client connections. */
    private static Diagnosis server(String endpoint, int max, int sleeping) {
        ServerSnapshot.Builder b = ServerSnapshot.builder();
        b.endpoint = endpoint;
        b.currentUser = "root@%";
        b.ownConnectionId = 1;
        b.maxConnections = max;
        b.openFilesLimit = 65535;
        b.tableOpenCache = 400;
        b.refusedMaxConnections = 0;
        b.accountLimitsSource = "mysql.user";
        b.processes.add(new ProcessRow(1, "root", "10.0.0.1", null, "Query", 0, "executing", "SELECT ..."));
        for (int i = 0; i < sleeping; i++) {
            b.processes.add(new ProcessRow(100 + i, "app", "10.0.0.7", "app", "Sleep", 5, "", null));
        }
        b.threadsConnected = b.processes.size();
        b.threadsRunning = 1;
        b.maxUsedConnections = b.threadsConnected;
        return Diagnoser.diagnose(b.build(), DoctorOptions.defaults(), null);
    }

    private static Member member(String endpoint, String role, ServerRole says, Diagnosis d) {
        return new Member(endpoint, role, says, null, d, null);
    }

    @Test
    void noServerShortOfConnectionsSaysSo() {
        ClusterDiagnosis d = ClusterDoctor.of("t", List.of(
                member("db1:3306", "primary", PRIMARY, server("db1:3306", 200, 3)),
                member("db2:3306", "replica", REPLICA, server("db2:3306", 200, 1))), "servers", null);
        assertEquals("OK: none of the 2 servers is short of connections", d.verdict());
        assertEquals(List.of(), d.shortOfConnections());
        assertEquals(Severity.OK, d.severity());
        assertEquals(0, d.exitCode());
    }

    @Test
    void theWorstServerIsNamedFirstAndTheOthersFollow() {
        Diagnosis warning = server("db1:3306", 100, 80); // 81 of 100
        Diagnosis critical = server("db3:3306", 12, 10); // 11 of 12
        assertEquals(Severity.WARNING, warning.severity());
        assertEquals(Severity.CRITICAL, critical.severity());
        ClusterDiagnosis d = ClusterDoctor.of("t", List.of(
                member("db1:3306", "primary", PRIMARY, warning),
                member("db2:3306", "replica", REPLICA, server("db2:3306", 200, 1)),
                member("db3:3306", "replica", REPLICA, critical)), "servers", null);
        assertTrue(d.verdict().startsWith("CRITICAL: db3:3306 (replica) is short of connections: "
                + critical.verdict().label() + " (11 of 12 connected); also WARNING db1:3306 (primary): "
                + warning.verdict().label() + " (81 of 100 connected)"), d.verdict());
        assertEquals(List.of("db3:3306", "db1:3306"), d.shortOfConnections());
        assertEquals(Severity.CRITICAL, d.severity());
        assertEquals(2, d.exitCode());
    }

    @Test
    void aServerRefusingTheDoctorIsShortAndOneNotReachedIsListedAfter() {
        ClusterDiagnosis d = ClusterDoctor.of("t", List.of(
                member("db1:3306", "primary", PRIMARY, server("db1:3306", 200, 3)),
                new Member("db2:3306", "replica", null, null, null,
                        new Failure("refuses the doctor's login: Too many connections", 1040, 2)),
                new Member("db3:3306", "unknown", null, null, null,
                        new Failure("nothing accepts connections on db3:3306 (connection refused)", 0, 3))), "servers", null);
        assertEquals("CRITICAL: db2:3306 (replica) is short of connections: it refuses connections (ERROR 1040); "
                + "db3:3306 (unknown) not diagnosed: nothing accepts connections on db3:3306 (connection refused)", d.verdict());
        assertEquals(List.of("db2:3306"), d.shortOfConnections());
        assertEquals(Severity.CRITICAL, d.severity());
        assertEquals(3, d.exitCode(), "a server not diagnosed at all: the doctor could not run fully");
    }

    @Test
    void theRoleAServerReportsFollowsItsReadOnlyAndReplication() {
        assertEquals("primary", PRIMARY.role());
        assertEquals("replica", REPLICA.role());
        assertEquals("replica", new ServerRole(true, "stopped: IO thread yes, SQL thread no").role());
        assertEquals("read-only", new ServerRole(true, "not a replica").role());
        assertEquals("unknown", new ServerRole(false, "unknown: Access denied").role());
        assertEquals("read_only ON, replication running", REPLICA.toString());
    }

    @Test
    void addressesParseAsStatsAndTheCommandLineWriteThem() {
        assertEquals(new Doctor.Target("10.0.0.5", 3307), Doctor.Target.parse("10.0.0.5:3307", 3306));
        assertEquals(new Doctor.Target("db1", 3306), Doctor.Target.parse(" db1 ", 3306));
        assertEquals(new Doctor.Target("::1", 3308), Doctor.Target.parse("[::1]:3308", 3306));
        assertEquals(new Doctor.Target("::1", 3308), Doctor.Target.parse("::1:3308", 3306));
        assertTrue(Doctor.Target.parse("unix:/run/mysqld.sock", 3306).unreachableReason().startsWith("a Unix socket"));
    }
}
