package io.sluice.proxy.session;

import io.sluice.config.PoolMode;
import io.sluice.proxy.protocol.CommandType;

import java.util.List;

/**
 * One session as the admin endpoint shows it, taken by {@link ClientSession#snapshot()} from any
 * thread: an immutable value, so a view built from it is self-consistent where it reads a field
 * twice (the backend, notably). The values are recent, not one instant: the session's loop moves
 * on while the snapshot is taken.
 *
 * @param clientPort       null when the client address is not an IP socket
 * @param backend          null when no backend is linked
 * @param transactionNanos since the command that opened the open transaction, or -1 when none
 * @param command          the current or last command, or null before the first
 * @param commandNanos     since the current command started, or -1 when idle
 * @param idleNanos        since the last command ended, or -1 when not idle
 * @param statementHead    the first bytes of the current or last COM_QUERY ("" before the first)
 */
public record SessionSnapshot(long id, String user, String clientHost, Integer clientPort, String programName,
                              ClientSession.State state, List<Pin> pins, PoolMode mode, String schema,
                              long connectedAtMillis, Backend backend, long transactionNanos, CommandType command,
                              long commandNanos, long idleNanos, String statementHead) {

    /**
     * The linked backend connection.
     *
     * @param pool          the backend user whose pool it belongs to
     * @param inTransaction the server's SERVER_STATUS_IN_TRANS in its last OK/EOF
     */
    public record Backend(long id, long threadId, String pool, boolean inTransaction) {
    }
}
