package io.sluice.admin.doctor;

import io.sluice.admin.doctor.Diagnosis.PoolSizing;
import io.sluice.admin.doctor.Diagnosis.UserLimit;

import java.util.List;

/**
 * The Sluice configuration that keeps a diagnosed server below its limits, as HOCON using the keys
 * of config's reference.conf ({@code sluice.pool.*}, {@code sluice.users."name".pool-max}). The text
 * loads as is (the per-user lines are comments, since a user entry also needs its password), and it
 * keeps ConfigLoader's rules: max-per-user &lt;= global-max, idle-timeout &lt; max-lifetime, and
 * max-lifetime below the server's wait_timeout.
 */
final class SluiceConfigSnippet {
    /** reference.conf's max-lifetime and idle-timeout defaults, seconds. */
    private static final long DEFAULT_MAX_LIFETIME = 1800;
    private static final long DEFAULT_IDLE_TIMEOUT = 600;

    private SluiceConfigSnippet() {
    }

    /** Sluice's default max-per-user (reference.conf): a healthy server keeps it when it fits. */
    private static final int DEFAULT_MAX_PER_USER = 10;

    /**
     * @param healthy nothing was flagged: the block only bounds Sluice by what the server fits, and
     *                keeps Sluice's defaults (transaction mode, max-per-user 10) where they fit
     */
    static String render(ServerSnapshot s, PoolSizing sizing, long waitTimeout, boolean healthy,
                         List<UserLimit> userLimits) {
        long lifetime = DEFAULT_MAX_LIFETIME;
        if (waitTimeout <= DEFAULT_MAX_LIFETIME + 60) {
            lifetime = Math.max(2, waitTimeout - Math.max(30, waitTimeout / 10));
        }
        long idle = Math.max(1, Math.min(DEFAULT_IDLE_TIMEOUT, lifetime / 2));
        StringBuilder b = new StringBuilder();
        b.append("# From sluice doctor for ").append(s.endpoint()).append(" (max_connections = ")
                .append(s.maxConnections()).append(", wait_timeout = ").append(waitTimeout).append("s), ")
                .append(sizing.instances()).append(" Sluice instance(s), each with this pool block.\n");
        if (healthy) {
            b.append("# Healthy: nothing needs to change; this only bounds Sluice by what the server fits.\n");
        }
        b.append("sluice {\n  pool {\n");
        // Sluice's default; the doctor sees nothing that would need session mode (session state
        // kept across transactions is the application's to know).
        b.append("    # a client holds a backend only during a transaction, so sleeping clients cost the server nothing\n");
        b.append("    mode = transaction\n");
        b.append("    # ").append(sizing.instances()).append(" x ").append(sizing.perInstance()).append(" <= max_connections ")
                .append(s.maxConnections()).append(" - ").append(sizing.reserve()).append(" kept free for administrators\n");
        b.append("    global-max = ").append(sizing.perInstance()).append('\n');
        b.append("    max-per-user = ").append(healthy ? Math.min(DEFAULT_MAX_PER_USER, sizing.perInstance())
                : sizing.perInstance()).append('\n');
        b.append("    # requests beyond the pool wait here instead of getting ERROR 1040 from the server\n");
        b.append("    acquire-timeout = 5s\n");
        b.append("    # retire backends before the server's wait_timeout (").append(waitTimeout).append("s) closes them\n");
        b.append("    max-lifetime = ").append(Diagnoser.duration(lifetime)).append('\n');
        b.append("    idle-timeout = ").append(Diagnoser.duration(idle)).append('\n');
        b.append("  }\n");
        List<UserLimit> capped = userLimits.stream().filter(u -> u.source().equals("account")).toList();
        if (!capped.isEmpty()) {
            b.append("  # Accounts with MAX_USER_CONNECTIONS: add pool-max to the user whose backend-user is that account\n");
            for (UserLimit u : capped) {
                long poolMax = Math.max(1, Math.min(sizing.perInstance(), u.limit() / sizing.instances()));
                b.append("  # users.\"").append(u.user()).append("\" { pool-max = ").append(poolMax)
                        .append(" }   # '").append(u.user()).append("'@'").append(u.host()).append("' allows ")
                        .append(u.limit()).append('\n');
            }
        }
        b.append("}\n");
        return b.toString();
    }
}
