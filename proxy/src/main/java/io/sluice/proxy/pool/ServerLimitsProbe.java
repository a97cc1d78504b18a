package io.sluice.proxy.pool;

import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.Packets;

import java.time.Duration;
import java.util.List;

/**
 * Reads the server's connection limits and load with SQL on a backend nobody else uses meanwhile
 * (a fresh one, one taken idle, or a short-lived one of its own), and returns what it read; the
 * pools apply it ({@code ServerShare}). Stateless; the returned futures complete on the backend's
 * event loop and never fail: what could not be read is reported in the value.
 */
final class ServerLimitsProbe {
    private ServerLimitsProbe() {
    }

    /**
     * What a read of the limits found.
     *
     * @param limits             the limits and the derived cap, or null when the server did not tell
     * @param failure            why not, when {@code limits} is null
     * @param maxUsedConnections the server's Max_used_connections, or -1
     * @param threadsConnected   the server's Threads_connected, or -1
     */
    record Reading(ServerLimits limits, String failure, long maxUsedConnections, long threadsConnected) {
    }

    /**
     * Reads the server's variables (max_connections, max_user_connections, open_files_limit,
     * wait_timeout), the account's own MAX_USER_CONNECTIONS where mysql.user is readable, then how
     * full the server is (Max_used_connections, Threads_connected), on {@code c}; derives the cap
     * from the configured global-max and the share this Sluice takes ({@link ServerLimits#derive}).
     */
    static Future<Reading> read(BackendConnection c, Duration timeout, int globalMax, int headroom, int fleetSize) {
        Promise<Reading> done = c.loop().newPromise();
        query(c, "SELECT @@max_connections, @@max_user_connections, @@open_files_limit, @@wait_timeout", timeout)
                .addListener(v -> {
                    BackendConnection.Reply r = v.isSuccess() ? (BackendConnection.Reply) v.getNow() : null;
                    if (r == null || !r.ok() || r.firstRow() == null || r.firstRow().size() < 4) {
                        done.setSuccess(new Reading(null, r == null ? v.cause().getMessage() : String.valueOf(r.error()), -1, -1));
                        return;
                    }
                    List<String> row = r.firstRow();
                    query(c, "SELECT max_user_connections FROM mysql.user WHERE CONCAT(user, '@', host) = CURRENT_USER()",
                            timeout).addListener(a -> {
                        BackendConnection.Reply ar = a.isSuccess() ? (BackendConnection.Reply) a.getNow() : null;
                        long account = ar != null && ar.ok() && ar.firstRow() != null ? number(ar.firstRow().get(0)) : -1;
                        ServerLimits limits = ServerLimits.derive(number(row.get(0)), number(row.get(1)), account,
                                number(row.get(2)), number(row.get(3)), globalMax, headroom, fleetSize);
                        readLoad(c, timeout, limits, done);
                    });
                });
        return done;
    }

    /** How full the server is, for /stats: the connections of all its clients now, and its peak. */
    private static void readLoad(BackendConnection c, Duration timeout, ServerLimits limits, Promise<Reading> done) {
        query(c, "SHOW GLOBAL STATUS LIKE 'Max_used_connections'", timeout).addListener(m -> {
            long maxUsed = statusValue(m);
            query(c, "SHOW GLOBAL STATUS LIKE 'Threads_connected'", timeout).addListener(t ->
                    done.setSuccess(new Reading(limits, null, maxUsed, statusValue(t))));
        });
    }

    /** The server's Threads_connected read on {@code c}, or -1 (for adaptive sharing). Never fails. */
    static Future<Long> threadsConnected(BackendConnection c, Duration timeout) {
        Promise<Long> done = c.loop().newPromise();
        query(c, "SHOW GLOBAL STATUS LIKE 'Threads_connected'", timeout).addListener(v -> done.setSuccess(statusValue(v)));
        return done;
    }

    private static Future<BackendConnection.Reply> query(BackendConnection c, String sql, Duration timeout) {
        return c.execute(Packets.query(c.channel().alloc(), sql), CommandType.COM_QUERY, timeout);
    }

    /** The value of a one-row SHOW GLOBAL STATUS reply, or -1. */
    private static long statusValue(Future<?> f) {
        BackendConnection.Reply r = f.isSuccess() ? (BackendConnection.Reply) f.getNow() : null;
        return r != null && r.ok() && r.firstRow() != null && r.firstRow().size() > 1 ? number(r.firstRow().get(1)) : -1;
    }

    static long number(String s) {
        try {
            return s == null ? 0 : Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
