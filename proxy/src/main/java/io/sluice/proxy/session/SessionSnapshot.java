package io.sluice.proxy.session;

import io.sluice.config.PoolMode;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.ServerStatus;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
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
 * @param route            with several servers: where the session's last unit of work went and why; else null
 */
public record SessionSnapshot(long id, String user, String clientHost, Integer clientPort, String programName,
                              ClientSession.State state, List<Pin> pins, PoolMode mode, String schema,
                              long connectedAtMillis, Backend backend, long transactionNanos, CommandType command,
                              long commandNanos, long idleNanos, String statementHead, Route route) {

    /** Where a session's last unit of work went ({@code server}'s address) and why (a {@code sluice_route_total} reason). */
    public record Route(String server, String reason) {
    }

    /**
     * The linked backend connection.
     *
     * @param pool          the backend user whose pool it belongs to
     * @param inTransaction the server's SERVER_STATUS_IN_TRANS in its last OK/EOF
     */
    public record Backend(long id, long threadId, String pool, boolean inTransaction) {
    }

    /**
     * Takes a session's snapshot from its parts, from any thread: {@code backend} read once (it is
     * published with release stores), the rest volatile fields, immutable values or int pin
     * counts, each a recent value.
     */
    static SessionSnapshot of(long id, String user, SocketAddress client, String programName, Activity activity,
                              List<Pin> pins, PoolMode mode, String schema, long connectedAtMillis,
                              BackendConnection backend, Watchdogs watchdogs, Route route) {
        Backend linked = backend == null ? null : new Backend(backend.id(), backend.threadId(), backend.key().backendUser(),
                ServerStatus.has(backend.tracker().lastStatus(), ServerStatus.SERVER_STATUS_IN_TRANS));
        ClientSession.State state = activity.state();
        long idleNanos = state == ClientSession.State.IDLE ? watchdogs.idleNanos(System.nanoTime()) : -1;
        return new SessionSnapshot(id, user, host(client), client instanceof InetSocketAddress i ? i.getPort() : null,
                programName, state, pins, mode, schema, connectedAtMillis, linked, watchdogs.transactionNanos(),
                activity.command(), activity.commandNanos(), idleNanos, activity.statementHead(), route);
    }

    /** A client address as the admin and the logs name it: the IP, or the address as it prints. */
    static String host(SocketAddress a) {
        return a instanceof InetSocketAddress i ? i.getAddress().getHostAddress() : String.valueOf(a);
    }
}
