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

    static String render(ServerSnapshot s, PoolSizing sizing, long waitTimeout, boolean transactionMode,
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
        b.append("sluice {\n  pool {\n");
        if (transactionMode) {
            b.append("    # a client holds a backend only during a transaction, so sleeping clients cost the server nothing\n");
            b.append("    mode = transaction\n");
        } else {
            b.append("    # session: a client keeps its backend until it leaves; transaction shares backends between transactions\n");
            b.append("    mode = session\n");
        }
        b.append("    # ").append(sizing.instances()).append(" x ").append(sizing.perInstance()).append(" <= max_connections ")
                .append(s.maxConnections()).append(" - ").append(sizing.reserve()).append(" kept free for administrators\n");
        b.append("    global-max = ").append(sizing.perInstance()).append('\n');
        b.append("    max-per-user = ").append(sizing.perInstance()).append('\n');
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
