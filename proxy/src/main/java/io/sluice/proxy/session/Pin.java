package io.sluice.proxy.session;

/**
 * Why a session in transaction pool mode keeps its backend connection between statements: state
 * that lives on that one server connection and cannot be moved to another. A session is pinned
 * while any reason holds; each is shown on the admin endpoint. See docs/multiplexing.md.
 */
public enum Pin {
    /** A transaction is open (SERVER_STATUS_IN_TRANS), including autocommit=0 after its first statement. */
    TRANSACTION,
    /** SET TRANSACTION (without SESSION) applies to the next transaction only. */
    NEXT_TRANSACTION,
    /** XA START until XA COMMIT / XA ROLLBACK. */
    XA,
    /** User variables (@x) live on the connection; until the session ends or resets. */
    USER_VARIABLES,
    /** CREATE TEMPORARY TABLE until as many DROP TEMPORARY TABLE. */
    TEMPORARY_TABLES,
    /** LOCK TABLES or FLUSH TABLES WITH READ LOCK until UNLOCK TABLES. */
    TABLE_LOCKS,
    /** GET_LOCK until RELEASE_LOCK / RELEASE_ALL_LOCKS. */
    NAMED_LOCKS,
    /** SQL PREPARE until DEALLOCATE / DROP PREPARE. */
    SQL_PREPARED,
    /** A server-side cursor (COM_STMT_EXECUTE with a cursor type) until its last row is fetched, or the statement is reset, closed or executed again. */
    CURSOR,
    /** COM_STMT_SEND_LONG_DATA sent parameter data to a server statement; until that statement is executed, reset or closed. */
    LONG_DATA,
    /** SQL_CALC_FOUND_ROWS: the next statement (FOUND_ROWS()) must run on the same connection. */
    FOUND_ROWS,
    /** HANDLER ... OPEN until HANDLER ... CLOSE. */
    HANDLER,
    /** The server reported a state change Sluice cannot name or move. */
    UNTRACKED_STATE,
    /** The client changed session_track_* variables, which Sluice relies on. */
    SESSION_TRACKING,
    /** COM_SET_OPTION changed the connection's multi-statement option. */
    SET_OPTION,
    /** A KILL for this session's running query is on its way; the backend must not change hands. */
    KILL_PENDING;

    /** Lower-case name for JSON and metrics tags. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
