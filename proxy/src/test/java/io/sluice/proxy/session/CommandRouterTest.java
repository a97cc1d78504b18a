package io.sluice.proxy.session;

import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.session.CommandRouter.Route;
import org.junit.jupiter.api.Test;

import java.util.EnumSet;

import static io.sluice.proxy.protocol.CommandType.*;
import static io.sluice.proxy.session.CommandRouter.route;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The command router's decisions, per pool mode and session situation (no sockets). */
class CommandRouterTest {
    private static final boolean TX = true;
    private static final boolean SESSION = false;

    /** An idle session with no backend, not draining. */
    private static Route idle(CommandType t, boolean multiplexed) {
        return route(t, multiplexed, false, false, false, false);
    }

    @Test
    void statementCommandsAreVirtualOnlyInTransactionMode() {
        for (CommandType t : EnumSet.of(COM_STMT_EXECUTE, COM_STMT_FETCH, COM_STMT_RESET, COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA)) {
            assertEquals(Route.VIRTUAL_STATEMENT, idle(t, TX), t.name());
            assertEquals(Route.FORWARD, idle(t, SESSION), t.name());
        }
        assertEquals(Route.VIRTUAL_PREPARE, idle(COM_STMT_PREPARE, TX));
        assertEquals(Route.FORWARD, idle(COM_STMT_PREPARE, SESSION));
    }

    @Test
    void queriesAreTrackedOnlyInTransactionMode() {
        assertEquals(Route.TRACKED_QUERY, idle(COM_QUERY, TX));
        assertEquals(Route.QUERY, idle(COM_QUERY, SESSION));
        assertEquals(Route.PIN_AND_FORWARD, idle(COM_SET_OPTION, TX));
        assertEquals(Route.FORWARD, idle(COM_SET_OPTION, SESSION));
    }

    @Test
    void pingIsAnsweredLocallyUnlessAResponseIsOutstanding() {
        assertEquals(Route.ANSWER_OK, idle(COM_PING, TX));
        assertEquals(Route.ANSWER_OK, route(COM_PING, SESSION, false, false, true, false));
        assertEquals(Route.FORWARD, route(COM_PING, SESSION, false, false, true, true));
    }

    @Test
    void resetConnection() {
        assertEquals(Route.RESET_LOCALLY, idle(COM_RESET_CONNECTION, TX));
        assertEquals(Route.RESET_LOCALLY, route(COM_RESET_CONNECTION, TX, false, true, true, false), "pinned, idle");
        assertEquals(Route.FORWARD, route(COM_RESET_CONNECTION, TX, false, true, true, true), "mid-response");
        assertEquals(Route.ANSWER_RESET, idle(COM_RESET_CONNECTION, SESSION));
        assertEquals(Route.FORWARD, route(COM_RESET_CONNECTION, SESSION, false, false, true, false));
    }

    @Test
    void changeUserOnlyBetweenCommands() {
        assertEquals(Route.CHANGE_USER, idle(COM_CHANGE_USER, SESSION));
        assertEquals(Route.CHANGE_USER, route(COM_CHANGE_USER, TX, false, true, true, false));
        assertEquals(Route.REFUSE_CHANGE_USER, route(COM_CHANGE_USER, TX, false, false, true, true));
    }

    @Test
    void drainingLetsOnlyOpenTransactionsAndQuitThrough() {
        assertEquals(Route.SHUT_DOWN, route(COM_QUERY, TX, true, false, false, false));
        assertEquals(Route.SHUT_DOWN, route(COM_PING, SESSION, true, false, true, false));
        assertEquals(Route.TRACKED_QUERY, route(COM_QUERY, TX, true, true, true, false));
        assertEquals(Route.QUIT, route(COM_QUIT, TX, true, false, false, false));
    }

    @Test
    void everyCommandHasADecision() {
        EnumSet<CommandType> unsupported = EnumSet.of(COM_SLEEP, COM_CONNECT, COM_TIME, COM_DELAYED_INSERT, COM_BINLOG_DUMP,
                COM_TABLE_DUMP, COM_CONNECT_OUT, COM_REGISTER_SLAVE, COM_DAEMON, COM_BINLOG_DUMP_GTID, COM_SHUTDOWN);
        EnumSet<CommandType> forwarded = EnumSet.of(COM_INIT_DB, COM_FIELD_LIST, COM_STATISTICS, COM_DEBUG, COM_REFRESH,
                COM_PROCESS_INFO, COM_CREATE_DB, COM_DROP_DB);
        for (CommandType t : CommandType.values()) {
            for (boolean mode : new boolean[] {TX, SESSION}) {
                Route r = idle(t, mode);
                if (unsupported.contains(t)) {
                    assertEquals(Route.UNSUPPORTED, r, t.name());
                } else if (forwarded.contains(t)) {
                    assertEquals(Route.FORWARD, r, t.name());
                }
            }
        }
        assertEquals(Route.UNKNOWN, idle(UNKNOWN, TX));
        assertEquals(Route.KILL, idle(COM_PROCESS_KILL, SESSION));
        assertEquals(Route.QUIT, idle(COM_QUIT, SESSION));
    }
}
