package io.sluice.proxy.session.statements;

import io.sluice.proxy.backend.StatementKey;
import io.sluice.proxy.protocol.ErrPacket;
import io.sluice.proxy.protocol.StatementPackets;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * One client's prepared statements by the ids Sluice gave them, the prepares and statement
 * commands in flight, what MariaDB's id 0xFFFFFFFF ("the statement just prepared") names, and the
 * counts of statements holding a cursor or long data (the session's CURSOR and LONG_DATA pins).
 * Bookkeeping only: no packets, no backend.
 *
 * <p>Threading: owned by the session's client event loop; not thread-safe.
 */
final class StatementTable {
    /** The client's prepared statements by the ids Sluice gave them. */
    private final Map<Integer, ClientStatement> statements = new HashMap<>();
    private int lastStatementId;
    /** The statements of the COM_STMT_PREPAREs in flight, oldest first; each gets its id when the server's OK comes. */
    private final ArrayDeque<ClientStatement> preparing = new ArrayDeque<>();
    /**
     * The client's last successful prepare: what MariaDB's statement id 0xFFFFFFFF names once no
     * prepare is in flight (the server forgets it when a prepare fails or the statement is closed).
     */
    private ClientStatement lastPrepared;
    /** The last COM_STMT_PREPARE on the linked backend was the client's own (not Sluice's re-prepare). */
    private boolean lastPrepareByClient;
    /** The statements of the COM_STMT_EXECUTE / _FETCH / _RESET in flight, oldest first. */
    private final ArrayDeque<ClientStatement> inFlight = new ArrayDeque<>();
    /** Statements with a cursor open, and with long data sent: the session's CURSOR and LONG_DATA pins. */
    private int cursors;
    private int longData;

    int cursors() {
        return cursors;
    }

    int longData() {
        return longData;
    }

    /** Statements open or being prepared (for sluice.pool.max-client-statements). */
    int open() {
        return statements.size() + preparing.size();
    }

    /** COM_RESET_CONNECTION, COM_CHANGE_USER: the client's statements are gone. */
    void clear() {
        statements.clear();
        preparing.clear();
        lastPrepared = null;
        inFlight.clear();
        cursors = 0;
        longData = 0;
    }

    /** The statement with Sluice's id {@code id}, or null. */
    ClientStatement get(int id) {
        return statements.get(id);
    }

    /** A prepare failed or the server forgot its last statement: id 0xFFFFFFFF names nothing now. */
    void forgetLastPrepared() {
        lastPrepared = null;
    }

    /** The client's last successful prepare (what 0xFFFFFFFF names with no prepare in flight), or null. */
    ClientStatement lastPrepared() {
        return lastPrepared;
    }

    /** Sluice prepares a statement on the linked backend: the server's "last statement" is now Sluice's. */
    void preparedBySluice() {
        lastPrepareByClient = false;
    }

    /** The client's own prepare in flight on the linked backend, the newest, when it was the last prepare sent there; or null. */
    ClientStatement clientPrepareInFlight() {
        return lastPrepareByClient ? preparing.peekLast() : null;
    }

    /** The client's COM_STMT_PREPARE for {@code key} is being written: its statement gets an id when the server's OK comes. */
    void prepareSent(StatementKey key, int flags) {
        preparing.addLast(new ClientStatement(0, key, 0, flags));
        lastPrepareByClient = true;
    }

    /** The oldest prepare in flight, whose answer has come; null when none was in flight. */
    ClientStatement prepareAnswered() {
        return preparing.pollFirst();
    }

    /** The prepare of {@code s} worked: it gets a fresh Sluice id and becomes what 0xFFFFFFFF names. Returns the id. */
    int register(ClientStatement s) {
        do {
            lastStatementId++;
        } while (lastStatementId == 0 || lastStatementId == StatementPackets.LAST_PREPARED_ID
                || statements.containsKey(lastStatementId));
        s.id = lastStatementId;
        statements.put(s.id, s);
        lastPrepared = s;
        return s.id;
    }

    /** A COM_SEND_LONG_DATA for {@code clientId} could not be sent: the statement's next execution reports {@code e}. */
    void deferError(int clientId, ErrPacket e) {
        ClientStatement s = statements.get(clientId);
        if (s != null) {
            s.deferredError = e;
        }
    }

    /** A command on {@code s} that gets a response went out; {@link #commandAnswered} takes it back. */
    void sent(ClientStatement s) {
        inFlight.addLast(s);
    }

    /** The oldest statement command in flight, whose response ended; null when none was in flight. */
    ClientStatement commandAnswered() {
        return inFlight.pollFirst();
    }

    /** Long data was sent for {@code s}: it holds state on the backend until its next execution. */
    void longDataSent(ClientStatement s) {
        if (!s.longData) {
            s.longData = true;
            longData++;
        }
    }

    /** The long data of {@code s} was used or dropped. */
    void clearLongData(ClientStatement s) {
        if (s.longData) {
            s.longData = false;
            if (longData > 0) {
                longData--;
            }
        }
    }

    /** Whether {@code s} has a cursor open on the backend now. */
    void cursor(ClientStatement s, boolean cursor) {
        if (cursor != s.cursor) {
            s.cursor = cursor;
            if (cursor) {
                cursors++;
            } else if (cursors > 0) {
                cursors--;
            }
        }
    }

    /**
     * The client closed {@code s}: it leaves the table, and its cursor and long data are dropped.
     * Returns whether it held server state (then the backend's statement must be closed too).
     */
    boolean remove(ClientStatement s) {
        statements.remove(s.id);
        if (s == lastPrepared) {
            lastPrepared = null; // the server forgets its last statement when it is closed
        }
        if (!s.holdsServerState()) {
            return false;
        }
        cursor(s, false);
        clearLongData(s);
        return true;
    }

    /** Whether another statement of this client has its cursor or long data on the backend statement for {@code s}'s key. */
    boolean otherHoldsState(ClientStatement s) {
        for (ClientStatement t : statements.values()) {
            if (t != s && t.holdsServerState() && t.key.equals(s.key)) {
                return true;
            }
        }
        return false;
    }

    /** Whether this session's cursor or long data lives on the backend statement for {@code key} (it must not be evicted). */
    boolean inUse(StatementKey key) {
        for (ClientStatement s : statements.values()) {
            if (s.holdsServerState() && s.key.equals(key)) {
                return true;
            }
        }
        return false;
    }
}
