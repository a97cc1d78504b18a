/**
 * Bounded backend pools of one server, one per backend user, under a global cap. Owns: the
 * registry and public API ({@code BackendPools}: acquire, release, KILL QUERY, pause/resume,
 * reconfigure, limits, snapshots); the pools and what they count together, which is also the
 * lock ({@code PoolSet}); the hand-off core that decides who gets a connection, serving waiters
 * from idle connections and handing a freed one straight to the oldest waiter ({@code HandOff});
 * opening connections with backoff and forgetting closed ones ({@code Opener}); each pool's books
 * ({@code BackendPool}); the caps applied to the counts, including new readings of the server's
 * limits and adaptive sharing ({@code ServerCaps}), decided by pure functions ({@code CapPolicy});
 * which event loop a connection lives on ({@code LoopAffinity}); the periodic work
 * ({@code Housekeeper}: idle timeout, lifetime, min-idle, the limits refresh, meter flush); and
 * the server's limits ({@code ServerLimitsProbe} reads them, {@code ServerShare} holds them).
 * One {@code BackendPools} is a self-contained unit per server: nothing is static, so a process
 * could hold several.
 * Threading: every field is guarded by the one {@code PoolSet} lock, taken from any event loop
 * (acquire, release), the housekeeping loop and the admin thread; network work and promise
 * completion run after it is released (collected as {@code after} actions). Must not import
 * session, frontend or admin.
 */
package io.sluice.proxy.pool;
