package io.sluice.proxy.session;

import io.sluice.proxy.protocol.CommandType;

/**
 * The one {@code switch} over command types: what a session does with a command-phase packet, as
 * a pure function of the command, the pool mode and where the session stands. The session carries
 * the decision out ({@link CommandPath#onClientPacket}); nothing here touches a buffer or a
 * channel, so a table test drives every decision.
 *
 * <p>Threading: stateless; called on the client's event loop.
 */
final class CommandRouter {
    /** What to do with a command. */
    enum Route {
        /** Sluice is draining and the session is outside a transaction: ERR 9409 and close. */
        SHUT_DOWN,
        /** COM_QUIT: close the client. */
        QUIT,
        /** COM_PING with no response outstanding: Sluice answers OK. */
        ANSWER_OK,
        /** COM_CHANGE_USER: the frontend runs the auth exchange. */
        CHANGE_USER,
        /** COM_CHANGE_USER while a command is still running: a protocol error, the client is closed. */
        REFUSE_CHANGE_USER,
        /** COM_RESET_CONNECTION of an idle transaction-mode session: its state lives in Sluice; wipe it here, answer OK. */
        RESET_LOCALLY,
        /** COM_RESET_CONNECTION with no backend linked: nothing to reset, answer OK. */
        ANSWER_RESET,
        /** COM_PROCESS_KILL: delivered to the target session by Sluice (ids are Sluice's). */
        KILL,
        /** COM_QUERY in session mode: may be a KILL; else forwarded. */
        QUERY,
        /** COM_QUERY in transaction mode: may be a KILL; else classified for pins and movable state, then forwarded. */
        TRACKED_QUERY,
        /** COM_STMT_PREPARE in transaction mode: within the client's statement limit, forwarded and virtualized. */
        VIRTUAL_PREPARE,
        /** COM_STMT_EXECUTE / FETCH / RESET / CLOSE / SEND_LONG_DATA in transaction mode: by Sluice's statement ids. */
        VIRTUAL_STATEMENT,
        /** COM_SET_OPTION in transaction mode: the option lives on the backend; pin, then forward. */
        PIN_AND_FORWARD,
        /** Forwarded to the backend as it is. */
        FORWARD,
        /** Replication and administration commands Sluice does not relay: ERR 9403. */
        UNSUPPORTED,
        /** Not a command (or an empty packet): ERR 1047, as the server answers. */
        UNKNOWN
    }

    private CommandRouter() {
    }

    /**
     * @param multiplexed   transaction pool mode (backends shared between statements)
     * @param draining      Sluice is shutting down gracefully
     * @param inTransaction the server reported a transaction open at the end of the last response
     * @param linked        a backend is linked to the session
     * @param responding    a response is outstanding on the linked backend
     */
    static Route route(CommandType type, boolean multiplexed, boolean draining, boolean inTransaction, boolean linked,
                       boolean responding) {
        if (draining && type != CommandType.COM_QUIT && !inTransaction) {
            // Graceful shutdown: only open transactions may go on; anyone else learns why, and goes.
            return Route.SHUT_DOWN;
        }
        return switch (type) {
            case COM_QUIT -> Route.QUIT;
            case COM_PING -> responding ? Route.FORWARD : Route.ANSWER_OK;
            case COM_CHANGE_USER -> responding ? Route.REFUSE_CHANGE_USER : Route.CHANGE_USER;
            case COM_RESET_CONNECTION -> multiplexed && !responding ? Route.RESET_LOCALLY
                    : !linked ? Route.ANSWER_RESET : Route.FORWARD;
            case COM_PROCESS_KILL -> Route.KILL;
            case COM_QUERY -> multiplexed ? Route.TRACKED_QUERY : Route.QUERY;
            case COM_STMT_PREPARE -> multiplexed ? Route.VIRTUAL_PREPARE : Route.FORWARD;
            case COM_STMT_EXECUTE, COM_STMT_FETCH, COM_STMT_RESET, COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA ->
                    multiplexed ? Route.VIRTUAL_STATEMENT : Route.FORWARD;
            case COM_SET_OPTION -> multiplexed ? Route.PIN_AND_FORWARD : Route.FORWARD;
            case COM_INIT_DB, COM_FIELD_LIST, COM_STATISTICS, COM_DEBUG, COM_REFRESH, COM_PROCESS_INFO, COM_CREATE_DB,
                 COM_DROP_DB -> Route.FORWARD;
            case COM_SLEEP, COM_CONNECT, COM_TIME, COM_DELAYED_INSERT, COM_BINLOG_DUMP, COM_TABLE_DUMP,
                 COM_CONNECT_OUT, COM_REGISTER_SLAVE, COM_DAEMON, COM_BINLOG_DUMP_GTID, COM_SHUTDOWN -> Route.UNSUPPORTED;
            case UNKNOWN -> Route.UNKNOWN;
        };
    }
}
