/**
 * Prepared-statement virtualization for transaction pool mode: the client's statement ids are
 * Sluice's own, each statement is prepared lazily on whichever backend serves an execution, and
 * the backend's copy is kept for reuse ({@link io.sluice.proxy.session.statements.StatementBook}).
 * Methods return outcomes; the session carries them out (writes to the client, pins, release).
 * Threading: owned by one session's client event loop. Must not import {@code session} (the
 * session imports this package), {@code frontend} or {@code admin}.
 */
package io.sluice.proxy.session.statements;
