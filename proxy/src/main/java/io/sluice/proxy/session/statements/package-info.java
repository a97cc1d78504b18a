/**
 * Prepared-statement virtualization for transaction pool mode: the client's statement ids are
 * Sluice's own, each statement is prepared lazily on whichever backend serves an execution, and
 * the backend's copy is kept for reuse. {@code StatementBook} is the session's one entry point:
 * it answers what needs no server, maps commands onto the backend's statement and reads the
 * responses to prepares and executions; {@code StatementTable} keeps the books (statements by
 * Sluice's id, what 0xFFFFFFFF names, prepares and commands in flight, the cursor and long-data
 * counts behind the session's pins); {@code BackendCopies} keeps and closes the backends' copies
 * and puts in the parameter types a backend's statement needs. Methods return outcomes; the
 * session carries them out (writes to the client, pins, release, re-prepare).
 * Threading: owned by one session's client event loop. Must not import {@code session} (the
 * session imports this package), {@code frontend} or {@code admin}.
 */
package io.sluice.proxy.session.statements;
