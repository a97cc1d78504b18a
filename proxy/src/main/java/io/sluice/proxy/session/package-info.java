/**
 * Client sessions. {@code ClientSession} is the coordinator and the only code that moves a
 * session's state and its backend link ({@code link}/{@code unlink}); around it, one unit per
 * concern: {@code CommandRouter} (the switch over command types, returning a decision),
 * {@code ModeRules} (what the pool mode decides about the backend), {@code CommandQueue} (the
 * waiting command, held-back packets, read switching), {@code SessionState} (schema, variables,
 * user variables, LAST_INSERT_ID, ROW_COUNT/FOUND_ROWS, read from each OK), {@code PinTable}
 * (statement flags to pins), {@code StateSync} and {@code UserVariables} (state replay),
 * {@code StatementClassifier}, {@code PreviousResult} and {@code ConnectionIdRewrite} (statement
 * rewriting), {@code Watchdogs} + {@code LeakDetector} (leaks, idle in transaction, max
 * query/transaction time), {@code KillStatement} (KILL, delivered as messages to the target's loop),
 * {@code SessionSnapshot} (what the admin reads) and {@code SessionRegistry}. Prepared statements
 * are in {@code session.statements}. Everything runs on the client's event loop; other threads only
 * read volatile fields or take a snapshot. Must not import frontend, gate or the admin module.
 */
package io.sluice.proxy.session;
