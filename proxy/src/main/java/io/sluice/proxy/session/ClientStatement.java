package io.sluice.proxy.session;

import io.sluice.proxy.backend.StatementKey;
import io.sluice.proxy.protocol.ErrPacket;

/**
 * A server-side prepared statement as one client sees it in transaction mode: the id Sluice gave
 * it, what it means ({@link StatementKey}, so any backend can prepare it again), and the state the
 * client built on it. Owned by its session's event loop.
 */
final class ClientStatement {
    final int id;
    final StatementKey key;
    final int params;
    /** {@link StatementClassifier} flags of its SQL: what each execution does to the session. */
    final int flags;
    /** Parameter types the client last sent with this statement (new-params-bound flag 1), or null. */
    byte[] types;
    /** A cursor is open on the backend serving the session (pins it). */
    boolean cursor;
    /** Long data was sent to the backend serving the session and awaits the execution (pins it). */
    boolean longData;
    /** An error a command without a reply (SEND_LONG_DATA) ran into, reported by the next execution. */
    ErrPacket deferredError;

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
