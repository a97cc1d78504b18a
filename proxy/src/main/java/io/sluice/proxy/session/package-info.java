/**
 * Client sessions. {@code ClientSession} is the coordinator: it builds a session's units, is what
 * the frontend and the admin talk to, changes its user and ends it; its units ask it what they need
 * through one object. The two directions of a session are {@code CommandPath} (each client command
 * from its arrival to its write on the backend, carrying out the router's decision; it holds the
 * pool mode's rules and the user's backend key, and gives the backend back when nothing ties the
 * session to it) and {@code ResponsePath} (below). Around them, one unit per concern, each with
 * its own fields: {@code CommandRouter} (the switch over command
 * types, returning a decision), {@code ModeRules} (what the pool mode decides about the backend),
 * {@code CommandQueue} (the waiting command, held-back packets, read switching),
 * {@code BackendLink} (the linked backend and the acquire under way: borrow, replay the state
 * before the first command and re-prepare, through {@code OwnCommands}, Sluice's own commands on
 * the backend with one stale check; write commands and their continuations, give back; it tells the
 * session through {@code BackendLink.Owner}), {@code ResponsePath} (the server side, the
 * linked backend's listener: forwards each response, learns the state from its OKs, finds its end,
 * handles a lost backend or a primary turning read-only, and keeps the sequence id an ERR of
 * Sluice's carries), {@code SessionState} (schema, variables,
 * user variables, LAST_INSERT_ID, ROW_COUNT/FOUND_ROWS, read from each OK), {@code PinTable}
 * (statement flags to pins), {@code StateSync} and {@code UserVariables} (state replay),
 * {@code StatementClassifier}, {@code PreviousResult} and {@code ConnectionIdRewrite} (statement
 * rewriting), {@code Activity} (what the session is doing and since when), {@code Watchdogs} +
 * {@code LeakDetector} (leaks, idle in transaction, max query/transaction time: clock, verdicts and
 * checks), {@code KillStatement} + {@code KillDelivery} (KILL, delivered as messages to the
 * target's loop; no session writes another's fields), {@code SessionSnapshot} (the immutable value
 * the admin reads) and {@code SessionRegistry}. With several servers, {@code SessionRouting}
 * (where each unit of work goes) and {@code ClusterFailure} (a primary that turns read-only or
 * dies: retry the statement, 9413 and roll back, or 9405, decided as pure functions; the session
 * carries out the verdict). {@code StatementCommands} carries a multiplexed session's
 * prepared-statement commands through {@code session.statements} (which virtualizes them) and
 * returns a step the command path applies in one place.
 *
 * <p>Threading: a session and all its units run on its client's event loop; server packets are
 * handed over to that loop. Other threads (the admin, the leak detector's pass) only read volatile
 * fields ({@code Activity}, {@code Watchdogs}), the backend published with release stores
 * ({@code BackendLink}), or take a snapshot, and hand any action to the session's loop.
 *
 * <p>Must not import frontend, gate or the admin module (it uses pool, backend and protocol).
 */
package io.sluice.proxy.session;
