package io.sluice.admin.doctor;

import java.util.List;

/**
 * The doctor's answer for a cluster (a primary and its replicas): the one-server {@link Diagnosis}
 * of each server, each labelled with its address and role, under a one-line verdict naming the
 * server short of connections (or saying none is). Plain records, written and read back with
 * {@link Doctor#jsonMapper()} as {@link Diagnosis} is.
 *
 * @param takenAt  when the first server was read, ISO-8601 UTC
 * @param verdict  one line: which server is short of connections, or that none is
 * @param shortOfConnections the endpoints of the servers short of connections (severity above OK, or refusing the
 *                 doctor with ERROR 1040, 1203 or 1226), worst first; empty when none is
 * @param severity the worst over the servers (a server refusing the doctor for its connection limit is CRITICAL)
 * @param exitCode the worst server's exit code: 0, 1, 2, or 3 when a server could not be diagnosed at all
 * @param roles    where the roles come from: {@code "sluice"} (its /stats {@code cluster} section, matched
 *                 by address; a server Sluice does not front keeps the role it reports) or
 *                 {@code "servers"} (each server's read_only and replication status)
 * @param sluiceUrl the Sluice admin endpoint whose view was used, or null
 * @param servers  in the order of {@code sluice.servers} (or of {@code --servers})
 */
public record ClusterDiagnosis(String takenAt, String verdict, List<String> shortOfConnections, Severity severity,
                               int exitCode, String roles, String sluiceUrl, List<Member> servers) {

    /**
     * One server of the cluster.
     *
     * @param endpoint   host:port
     * @param role       primary, replica, read-only (read_only on, not replicating), none (Sluice routes
     *                   nothing there) or unknown
     * @param says       what the server itself says: read_only and replication, or null when not read
     * @param sluice     what Sluice's monitor says of it, or null without a Sluice view
     * @param diagnosis  the one-server diagnosis, or null when it could not be made
     * @param error      why it could not be made, or null
     */
    public record Member(String endpoint, String role, ServerRole says, SluiceRole sluice, Diagnosis diagnosis,
                         Failure error) {
        /** The member's severity: its diagnosis', CRITICAL when it refused the doctor for its limit, else null. */
        Severity severity() {
            if (diagnosis != null) {
                return diagnosis.severity();
            }
            return error != null && error.exitCode() == Severity.CRITICAL.exitCode() ? Severity.CRITICAL : null;
        }

        int exitCode() {
            return diagnosis != null ? diagnosis.exitCode() : error.exitCode();
        }

        /** "127.0.0.1:3307 (replica)". */
        String label() {
            return endpoint + " (" + role + ")";
        }
    }

    /**
     * The server's own word on its role.
     *
     * @param readOnly    {@code @@global.read_only}
     * @param replication "running" (both replication threads run), "stopped" (a replica whose threads do
     *                    not both run: which one, after a colon), "not a replica", or "unknown: ..." when
     *                    the account may not read the replication status
     */
    public record ServerRole(boolean readOnly, String replication) {
        boolean replica() {
            return replication.startsWith("running") || replication.startsWith("stopped");
        }

        /** What the server says, from its own status alone. */
        String role() {
            if (replica()) {
                return "replica";
            }
            if (readOnly) {
                return "read-only";
            }
            return replication.startsWith("unknown") ? "unknown" : "primary";
        }

        @Override
        public String toString() {
            return "read_only " + (readOnly ? "ON" : "OFF") + ", replication " + replication;
        }
    }

    /**
     * Sluice's view of the server, from its /stats {@code cluster} section (see docs/admin.md).
     *
     * @param lagMs              null when unknown
     * @param why                why it takes no reads or no writes, or null
     * @param backendCap         the server's backend cap as Sluice derived it, or null before it was read
     */
    public record SluiceRole(String role, boolean up, boolean readable, Double lagMs, String why,
                             long backendConnections, Long backendCap) {
    }

    /**
     * A server that could not be diagnosed.
     *
     * @param serverErrorCode the server's error code, or 0
     * @param exitCode        2 when the server refused the doctor for its connection limit (1040, 1203,
     *                        1226: itself the diagnosis), else 3
     */
    public record Failure(String message, int serverErrorCode, int exitCode) {
    }
}
