package io.sluice.proxy.session.statements;

import io.sluice.proxy.backend.StatementKey;
import io.sluice.proxy.protocol.ErrPacket;

/**
 * A server-side prepared statement as one client sees it in transaction mode: the id Sluice gave
 * it, what it means ({@link StatementKey}, so any backend can prepare it again), and the state the
 * client built on it. Owned by its session's event loop.
 */
final class ClientStatement {
    /** Sluice's id for it; 0 while its COM_STMT_PREPARE awaits the server's answer. */
    int id;
    /** What it means; for a statement whose prepare is in flight, the context at the time it was sent. */
    StatementKey key;
    /** Parameter count, from the server's answer to the prepare. */
    int params;
    /** The session's statement-classifier flags of its SQL: what each execution does to the session. */
    final int flags;
    /** Parameter types the client last sent with this statement (new-params-bound flag 1), or null. */
    byte[] types;
    /** A cursor is open on the backend serving the session (pins it). */
    boolean cursor;
    /** Long data was sent to the backend serving the session and awaits the execution (pins it). */
    boolean longData;
    /** An error a command without a reply (SEND_LONG_DATA) ran into, reported by the next execution. */
    ErrPacket deferredError;
    /**
     * While its prepare is in flight: the client closed it already with id 0xFFFFFFFF ("the
     * statement just prepared"), so it is forgotten as soon as the server's answer arrives.
     */
    boolean closedEarly;
    /** While its prepare is in flight: a copy of the first execution sent with id 0xFFFFFFFF, to learn its parameter types. */
    byte[] firstExecute;
    /** A command named it by 0xFFFFFFFF before its prepare's answer came, so it went to the server statement just made. */
    boolean sentAhead;

    ClientStatement(int id, StatementKey key, int params, int flags) {
        this.id = id;
        this.key = key;
        this.params = params;
        this.flags = flags;
    }

    /** Whether server-side state of this client lives on the backend's statement. */
    boolean holdsServerState() {
        return cursor || longData;
    }
}
