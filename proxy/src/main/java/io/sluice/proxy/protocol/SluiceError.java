package io.sluice.proxy.protocol;

/**
 * Errors Sluice itself sends to clients, with their documented codes (README "Errors"). Codes are in
 * the 94xx range, away from the server's (1000-1999, 3000+) and the client libraries' (2000-2999).
 * SQLSTATE HY000 keeps the connection usable in JDBC drivers; 08xxx marks a connection that ends.
 */
public enum SluiceError {
    /** No backend connection became free within the acquire timeout. */
    POOL_TIMEOUT(9401, "HY000"),
    /** The pool's wait queue is full. */
    QUEUE_FULL(9402, "HY000"),
    /** Sluice is at its client connection limit. */
    TOO_MANY_CLIENTS(9403, "08004"),
    /** The server cannot be reached or refused every login. */
    SERVER_UNAVAILABLE(9404, "08S01"),
    /** The backend connection serving this session died. */
    BACKEND_LOST(9405, "08S01"),
    /** The client broke the protocol; the connection is closed. */
    PROTOCOL_ERROR(9406, "08S01"),
    /** A command Sluice does not relay (replication, for instance). */
    UNSUPPORTED_COMMAND(9407, "HY000"),
    /** The client took too long to log in, or was idle too long. */
    CLIENT_TIMEOUT(9408, "08S01"),
    /** Sluice is shutting down or paused for maintenance. */
    UNAVAILABLE(9409, "08S01"),
    /** Idle inside a transaction longer than sluice.frontend.idle-in-transaction-timeout; closed, rolled back. */
    IDLE_IN_TRANSACTION_TIMEOUT(9410, "08S01"),
    /** A transaction open longer than sluice.frontend.max-transaction-time; its statement killed, session closed, rolled back. */
    TRANSACTION_TIMEOUT(9411, "08S01"),
    /**
     * No server of the cluster can take this work within the acquire timeout: no primary (none
     * writable, or split brain), or no replica where a read must have one. The session stays usable.
     */
    NO_SERVER(9412, "HY000"),
    /**
     * The transaction was open on a primary that stopped being one (turned read-only, or went
     * away): it is rolled back and nothing of it was committed; the session stays usable. 40001
     * is the SQLSTATE drivers and frameworks retry a transaction on.
     */
    PRIMARY_CHANGED(9413, "40001"),
    /**
     * A client not in sluice.users could not be checked against its server account now: too many
     * lookups this second (sluice.auth.max-lookups-per-second), or the lookup failed.
     */
    ACCOUNT_LOOKUP(9420, "08004");

    private final int code;
    private final String sqlState;

    SluiceError(int code, String sqlState) {
        this.code = code;
        this.sqlState = sqlState;
    }

    public int code() {
        return code;
    }

    public String sqlState() {
        return sqlState;
    }
}
