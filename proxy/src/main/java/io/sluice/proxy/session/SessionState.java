package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.protocol.OkPacket;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.ResponseTracker;
import io.sluice.proxy.protocol.ServerStatus;

import java.util.HashMap;
import java.util.Map;

/**
 * A session's movable state, as Sluice knows it: the schema selected (both pool modes) and, in
 * transaction mode, the session variables, replayable user variables, LAST_INSERT_ID, what
 * ROW_COUNT() and FOUND_ROWS() return, and the classifier flags of the statement in flight. The
 * server is the source of truth: OK packets update it ({@link #readOk}), and every change is
 * mirrored onto the backend's {@code ServerState}, so the next backend gets only the difference
 * ({@link #setStatementFor}). What a finished statement does to the pins goes to {@link PinTable}.
 *
 * <p>Threading: owned by the session's client event loop; {@link #schema()} is also read by the
 * admin snapshot (an immutable String: a recent value).
 */
final class SessionState implements OkPacket.StateVisitor {
    private final PinTable pins;
    /** Schema the client has selected, as Sluice knows it; restored on a new backend. */
    private String schema;
    /** Session system variables the client changed, as the server reported them (name -> value). */
    private final Map<String, String> variables = new HashMap<>();
    /** User variables set by replayable SETs (name -> literal), restored on whichever backend serves. */
    private final Map<String, String> userVariables = new HashMap<>();
    /** Replayable user-variable assignments of the statement in flight, applied when it succeeds. */
    private Map<String, String> pendingUserVariables;
    /** Last non-zero insert id the server reported for this session (LAST_INSERT_ID()). */
    private long lastInsertId;
    /** What ROW_COUNT() and FOUND_ROWS() (without SQL_CALC_FOUND_ROWS) return after this session's last statement. */
    private long rowCount = -1;
    private long foundRows;
    /** The backend that ran this session's last statement. */
    private BackendConnection lastBackend;
    /** {@link StatementClassifier} flags of the statements in flight. */
    private int statementFlags;
    /** The server reported a state change during the response in flight... */
    private boolean sawStateChange;
    /** ...and reported what changed (variables or schema), so the change is accounted for. */
    private boolean stateChangeExplained;
    /** The backend whose OK is being read ({@link #readOk}), to mirror the changes onto. */
    private BackendConnection reading;
    /** The GTID of this session's last commit that wrote, as the server reported it (MariaDB {@code last_gtid}), or null. */
    private String lastWriteGtid;

    SessionState(PinTable pins, String schema) {
        this.pins = pins;
        this.schema = schema;
    }

    /** The client turned autocommit off (SET autocommit = 0): every statement is in a transaction until COMMIT or ROLLBACK. */
    boolean autocommitOff() {
        return "OFF".equalsIgnoreCase(variables.get("autocommit"));
    }

    /** The statement under way ends its transaction (COMMIT, ROLLBACK): whether it took effect is the server's to say. */
    boolean statementEndsTransaction() {
        return (statementFlags & StatementClassifier.TRANSACTION_END) != 0;
    }

    /** MariaDB reports each committed write's GTID in this variable when the binary log is on. */
    static final String LAST_GTID = "last_gtid";

    /** The GTID of this session's last write the server reported, or null (none, or no binary log). */
    String lastWriteGtid() {
        return lastWriteGtid;
    }

    String schema() {
        return schema;
    }

    /** Login, COM_CHANGE_USER; or null when the schema selected is gone (INIT_DB refused). */
    void selectSchema(String name) {
        schema = name;
    }

    /** The session variables the client changed (read-only for callers by convention: the server's word). */
    Map<String, String> variables() {
        return variables;
    }

    Map<String, String> userVariables() {
        return userVariables;
    }

    /** COM_RESET_CONNECTION, COM_CHANGE_USER: as a fresh session (the schema is set apart). */
    void forget() {
        variables.clear();
        userVariables.clear();
        lastInsertId = 0;
        statementFlags = 0;
        rowCount = -1;
        foundRows = 0;
        lastBackend = null;
    }

    /** A COM_QUERY in transaction mode: what its statement does to the session (pins, user variables, LAST_INSERT_ID). */
    void queryClassified(ByteBuf packet, int from, int end) {
        int flags = StatementClassifier.classify(packet, from, end);
        if ((flags & StatementClassifier.USER_VARIABLE_SET) != 0) {
            Map<String, String> set = UserVariables.parseSimpleSet(packet, from, end);
            if (set == null) {
                flags |= StatementClassifier.USER_VARIABLE;
            } else {
                pendingUserVariables = set;
            }
        }
        statementRuns(flags);
    }

    /** A statement with classifier {@code flags} is on its way (COM_QUERY, or COM_STMT_EXECUTE of a prepared one). */
    void statementRuns(int flags) {
        statementFlags |= flags;
        if ((flags & StatementClassifier.TRACKING_VARIABLE) != 0) {
            pins.pin(Pin.SESSION_TRACKING);
        }
    }

    /**
     * Whether the COM_QUERY about to run on {@code backend} reads ROW_COUNT()/FOUND_ROWS() that the
     * server has from another statement than this session's last: then Sluice puts in its own values.
     */
    boolean readsOthersPreviousResult(BackendConnection backend, long sessionId) {
        return (statementFlags & StatementClassifier.PREVIOUS_RESULT) != 0
                && !(backend == lastBackend && backend.state().lastStatementBy() == sessionId);
    }

    long rowCount() {
        return rowCount;
    }

    long foundRows() {
        return foundRows;
    }

    /** A COM_QUERY or COM_STMT_EXECUTE of session {@code sessionId} is written to {@code backend}. */
    void statementSent(BackendConnection backend, long sessionId) {
        lastBackend = backend;
        backend.state().statementRanFor(sessionId);
    }

    /** LAST_INSERT_ID to restore on {@code b}: when the statement about to run reads it and {@code b} has another. */
    long insertIdToRestore(BackendConnection b) {
        return (statementFlags & StatementClassifier.LAST_INSERT_ID) != 0 && lastInsertId != 0
                && b.state().lastInsertId() != lastInsertId ? lastInsertId : 0;
    }

    /** The batched SET that brings {@code b} to this session's variables (and {@code insertId}), or null when it matches. */
    String setStatementFor(BackendConnection b, long insertId) {
        return StateSync.setStatement(variables, b.state().variables(), b.state().loginVariables(), userVariables,
                b.state().userVariables(), insertId);
    }

    /** The SET from {@link #setStatementFor} succeeded on {@code b} (with {@code insertId}). */
    void restoredOn(BackendConnection b, long insertId) {
        b.state().variablesSet(variables, userVariables);
        b.state().statementRanFor(0); // the SET is now its last statement
        if (insertId != 0) {
            b.state().insertId(insertId);
        }
    }

    /**
     * An OK packet from a session-tracking backend {@code b} (decoded in {@code ok}, read from
     * {@code packet}): the transaction status, the insert id and the state changes.
     */
    void readOk(OkPacket ok, ByteBuf packet, BackendConnection b) {
        pins.transactionStatus(ServerStatus.has(ok.status(), ServerStatus.SERVER_STATUS_IN_TRANS));
        long insertId = ok.lastInsertId();
        if (insertId != 0) {
            lastInsertId = insertId;
            b.state().insertId(insertId);
        }
        reading = b;
        ok.visitSessionStateOf(packet, this);
        reading = null;
    }

    /**
     * A COM_QUERY, COM_STMT_EXECUTE or COM_STMT_FETCH response ended well on {@code tracker}'s
     * backend ({@code packet} its last): what ROW_COUNT() and FOUND_ROWS() return now. A cursor's
     * rows come with COM_STMT_FETCH; the tracker counts them on from the execute.
     */
    void resultEnded(ResponseTracker tracker, ByteBuf packet) {
        if (tracker.lastWasResultSet()) {
            rowCount = -1;
            foundRows = tracker.lastResultRows();
        } else if (Packets.header(packet) == Packets.OK) {
            rowCount = tracker.ok().affectedRows(); // an OK ending a QUERY/EXECUTE: decoded by the tracker
        }
    }

    /** A COM_QUERY or COM_STMT_EXECUTE ended ({@code backend} the linked one, or null): its user variables, then its pins. */
    void statementDone(boolean error, BackendConnection backend) {
        int f = statementFlags;
        statementFlags = 0;
        Map<String, String> setUser = pendingUserVariables;
        pendingUserVariables = null;
        if (setUser != null && !error) {
            userVariables.putAll(setUser);
            if (backend != null) {
                backend.state().userVariablesAssigned(setUser);
            }
        }
        pins.statementDone(f, error, autocommitOff(), sawStateChange && !stateChangeExplained);
        sawStateChange = false;
        stateChangeExplained = false;
    }

    // ---- OkPacket.StateVisitor: the server's session-state changes, mirrored onto the backend being read

    @Override
    public void systemVariable(String name, String value) {
        stateChangeExplained = true;
        if (name.startsWith("session_track_")) {
            pins.pin(Pin.SESSION_TRACKING);
            return;
        }
        if (name.equals(LAST_GTID)) {
            // The server's answer about a commit (binary log on), not state the client set: it is
            // read-only, so it is never replayed; it is where this session's last write stands.
            if (!value.isEmpty()) {
                lastWriteGtid = value;
            }
            return;
        }
        variables.put(name, value);
        if (reading != null) {
            reading.state().variableChanged(name, value);
        }
    }

    @Override
    public void schema(String name) {
        stateChangeExplained = true;
        schema = name.isEmpty() ? null : name;
        if (reading != null) {
            reading.state().schemaSelected(schema);
        }
    }

    @Override
    public void stateChanged() {
        sawStateChange = true;
    }

    @Override
    public void transactionCharacteristics(String statement) {
        stateChangeExplained = true;
    }
}
