package io.sluice.proxy.session;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static io.sluice.proxy.session.StatementClassifier.CALC_FOUND_ROWS;
import static io.sluice.proxy.session.StatementClassifier.CREATE_TEMPORARY;
import static io.sluice.proxy.session.StatementClassifier.DROP_TEMPORARY;
import static io.sluice.proxy.session.StatementClassifier.GET_LOCK;
import static io.sluice.proxy.session.StatementClassifier.HANDLER_CLOSE;
import static io.sluice.proxy.session.StatementClassifier.HANDLER_OPEN;
import static io.sluice.proxy.session.StatementClassifier.LOCK_TABLES;
import static io.sluice.proxy.session.StatementClassifier.RELEASE_ALL_LOCKS;
import static io.sluice.proxy.session.StatementClassifier.RELEASE_LOCK;
import static io.sluice.proxy.session.StatementClassifier.SET_TRANSACTION;
import static io.sluice.proxy.session.StatementClassifier.SQL_DEALLOCATE;
import static io.sluice.proxy.session.StatementClassifier.SQL_PREPARE;
import static io.sluice.proxy.session.StatementClassifier.TRANSACTION_END;
import static io.sluice.proxy.session.StatementClassifier.UNLOCK_TABLES;
import static io.sluice.proxy.session.StatementClassifier.USER_VARIABLE;
import static io.sluice.proxy.session.StatementClassifier.USER_VARIABLE_SET;
import static io.sluice.proxy.session.StatementClassifier.XA_END;
import static io.sluice.proxy.session.StatementClassifier.XA_START;

/**
 * Why a transaction-mode session keeps its backend: a count per {@link Pin}, and the one table
 * from {@link StatementClassifier} flags to pins that a finished statement applies. The session is
 * pinned while any count is positive.
 *
 * <p>Threading: owned by the session's client event loop; not thread-safe. {@link #list} is what
 * the admin snapshot shows.
 */
final class PinTable {
    private enum Action { PIN, UNPIN, CLEAR }

    /** One row of the table: when a statement carried {@code flag}, do {@code action} to {@code pin}. */
    private record Rule(int flag, Pin pin, Action action) {
    }

    /** Applied to every statement, error or not, in this order (before {@link #ON_SUCCESS}). */
    private static final Rule[] ALWAYS = {
            new Rule(CALC_FOUND_ROWS, Pin.FOUND_ROWS, Action.PIN),
            new Rule(USER_VARIABLE, Pin.USER_VARIABLES, Action.PIN),
            new Rule(CREATE_TEMPORARY, Pin.TEMPORARY_TABLES, Action.PIN),
            new Rule(SQL_PREPARE, Pin.SQL_PREPARED, Action.PIN),
            new Rule(GET_LOCK, Pin.NAMED_LOCKS, Action.PIN),
            new Rule(LOCK_TABLES, Pin.TABLE_LOCKS, Action.PIN),
            new Rule(XA_START, Pin.XA, Action.PIN),
            new Rule(HANDLER_OPEN, Pin.HANDLER, Action.PIN),
            new Rule(SET_TRANSACTION, Pin.NEXT_TRANSACTION, Action.PIN),
    };

    /** Applied only to a statement that succeeded: what it released. */
    private static final Rule[] ON_SUCCESS = {
            new Rule(DROP_TEMPORARY, Pin.TEMPORARY_TABLES, Action.UNPIN),
            new Rule(SQL_DEALLOCATE, Pin.SQL_PREPARED, Action.UNPIN),
            new Rule(RELEASE_LOCK, Pin.NAMED_LOCKS, Action.UNPIN),
            new Rule(RELEASE_ALL_LOCKS, Pin.NAMED_LOCKS, Action.CLEAR),
            new Rule(UNLOCK_TABLES, Pin.TABLE_LOCKS, Action.CLEAR),
            new Rule(XA_END, Pin.XA, Action.CLEAR),
            new Rule(HANDLER_CLOSE, Pin.HANDLER, Action.UNPIN),
    };

    /** Statements whose own flags account for a state change the server reports (no UNTRACKED_STATE pin then). */
    private static final int EXPLAINING = USER_VARIABLE | USER_VARIABLE_SET | CREATE_TEMPORARY | DROP_TEMPORARY
            | SQL_PREPARE | SQL_DEALLOCATE | SET_TRANSACTION | XA_START | XA_END | HANDLER_OPEN | HANDLER_CLOSE
            | LOCK_TABLES | UNLOCK_TABLES;

    private final int[] counts = new int[Pin.values().length];

    boolean pinned() {
        for (int n : counts) {
            if (n > 0) {
                return true;
            }
        }
        return false;
    }

    boolean has(Pin p) {
        return counts[p.ordinal()] > 0;
    }

    void pin(Pin p) {
        counts[p.ordinal()]++;
    }

    void unpin(Pin p) {
        if (counts[p.ordinal()] > 0) {
            counts[p.ordinal()]--;
        }
    }

    /** Sets the count of {@code p}: for pins another unit counts (cursors and long data, in the statement book). */
    void set(Pin p, int n) {
        counts[p.ordinal()] = n;
    }

    /** Drops {@code p} whatever its count. */
    void clear(Pin p) {
        counts[p.ordinal()] = 0;
    }

    /** Whether nothing but an open transaction (and what SET TRANSACTION meant for it) holds the backend. */
    boolean onlyTransaction() {
        for (Pin p : Pin.values()) {
            if (counts[p.ordinal()] > 0 && p != Pin.TRANSACTION && p != Pin.NEXT_TRANSACTION) {
                return false;
            }
        }
        return true;
    }

    /** Drops every pin (COM_RESET_CONNECTION, COM_CHANGE_USER). */
    void clear() {
        Arrays.fill(counts, 0);
    }

    /** The pins that hold, in {@link Pin} order (allocates: for the admin view and log lines). */
    List<Pin> list() {
        List<Pin> out = new ArrayList<>();
        for (Pin p : Pin.values()) {
            if (counts[p.ordinal()] > 0) {
                out.add(p);
            }
        }
        return out;
    }

    /** The server's SERVER_STATUS_IN_TRANS in an OK: a transaction began, or ended (with what SET TRANSACTION meant for it). */
    void transactionStatus(boolean inTransaction) {
        int tx = counts[Pin.TRANSACTION.ordinal()];
        if (inTransaction && tx == 0) {
            pin(Pin.TRANSACTION);
        } else if (!inTransaction && tx > 0) {
            clear(Pin.TRANSACTION);
            clear(Pin.NEXT_TRANSACTION);
        }
    }

    /**
     * A COM_QUERY or COM_STMT_EXECUTE ended: applies what its statements ({@code flags}) did.
     *
     * @param autocommitOff the session runs with autocommit=0: every statement belongs to a
     *                      transaction that lasts until COMMIT or ROLLBACK, even one that touched no
     *                      table (SERVER_STATUS_IN_TRANS clear), so the session keeps its backend
     * @param unexplainedChange the server reported a state change during the response and did not
     *                          say what changed (no variable, schema or characteristics)
     */
    void statementDone(int flags, boolean error, boolean autocommitOff, boolean unexplainedChange) {
        if ((flags & TRANSACTION_END) != 0 && !error) {
            clear(Pin.TRANSACTION);
            clear(Pin.NEXT_TRANSACTION);
        } else if (autocommitOff && counts[Pin.TRANSACTION.ordinal()] == 0) {
            pin(Pin.TRANSACTION);
        }
        clear(Pin.FOUND_ROWS); // FOUND_ROWS() had its one statement
        apply(ALWAYS, flags);
        if (!error) {
            apply(ON_SUCCESS, flags);
        }
        if (unexplainedChange && (flags & EXPLAINING) == 0) {
            counts[Pin.UNTRACKED_STATE.ordinal()] = 1;
        }
    }

    private void apply(Rule[] rules, int flags) {
        for (Rule r : rules) {
            if ((flags & r.flag) != 0) {
                switch (r.action) {
                    case PIN -> pin(r.pin);
                    case UNPIN -> unpin(r.pin);
                    case CLEAR -> clear(r.pin);
                }
            }
        }
    }
}
