package io.sluice.proxy.pool;

/**
 * The server's connection limits as Sluice last read them, and the backend cap derived from them.
 *
 * @param maxConnections      {@code @@max_connections}
 * @param maxUserConnections  {@code @@max_user_connections} (0 = unlimited)
 * @param accountLimit        the backend account's own MAX_USER_CONNECTIONS (0 = none, -1 = not visible)
 * @param openFilesLimit      {@code @@open_files_limit}
 * @param waitTimeoutSeconds  {@code @@wait_timeout}
 * @param effectiveCap        the most backend connections this Sluice opens (see {@link #derive})
 * @param reasoning           how the cap was derived, one line, for the log and /stats
 */
public record ServerLimits(long maxConnections, long maxUserConnections, long accountLimit, long openFilesLimit,
                           long waitTimeoutSeconds, long readAtMillis, int effectiveCap, String reasoning) {

    /** Connections a server keeps for itself out of open_files_limit (tables, logs, sockets). */
    static final int FILE_DESCRIPTOR_RESERVE = 10;

    /**
     * Derives the cap: the smallest of the configured global-max, max_connections minus headroom
     * (the server's extra admin slot is separate, so the headroom is for other clients), the
     * per-user limits, and what open_files_limit allows, divided by the number of Sluice instances
     * sharing the server; at least 1.
     */
    static ServerLimits derive(long maxConnections, long maxUserConnections, long accountLimit, long openFilesLimit,
                               long waitTimeoutSeconds, int configuredGlobalMax, int headroom, int fleetSize) {
        long cap = configuredGlobalMax;
        StringBuilder why = new StringBuilder("min(global-max " + configuredGlobalMax);
        long fromServer = maxConnections - headroom;
        why.append(", max_connections ").append(maxConnections).append(" - headroom ").append(headroom).append(" = ").append(fromServer);
        cap = Math.min(cap, fromServer);
        if (maxUserConnections > 0) {
            cap = Math.min(cap, maxUserConnections);
            why.append(", max_user_connections ").append(maxUserConnections);
        }
        if (accountLimit > 0) {
            cap = Math.min(cap, accountLimit);
            why.append(", account MAX_USER_CONNECTIONS ").append(accountLimit);
        }
        if (openFilesLimit > 0) {
            long fromFiles = openFilesLimit - FILE_DESCRIPTOR_RESERVE;
            cap = Math.min(cap, fromFiles);
            why.append(", open_files_limit ").append(openFilesLimit).append(" - ").append(FILE_DESCRIPTOR_RESERVE);
        }
        why.append(')');
        if (fleetSize > 1) {
            cap = cap / fleetSize;
            why.append(" / fleet of ").append(fleetSize);
        }
        int effective = (int) Math.max(1, Math.min(Integer.MAX_VALUE, cap));
        why.append(" = ").append(effective);
        return new ServerLimits(maxConnections, maxUserConnections, accountLimit, openFilesLimit, waitTimeoutSeconds,
                System.currentTimeMillis(), effective, why.toString());
    }
}
