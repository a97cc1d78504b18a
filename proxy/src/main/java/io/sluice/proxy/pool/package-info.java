/**
 * Bounded backend pools, one per backend user, under a global cap. Owns: the registry and public
 * API ({@code BackendPools}: acquire, release with direct hand-off to the oldest waiter, KILL QUERY,
 * pause/resume, reconfigure, snapshots), each pool's books ({@code BackendPool}), the cap and
 * fairness policy as pure functions ({@code CapPolicy}), which event loop a connection lives on
 * ({@code LoopAffinity}), the periodic work ({@code Housekeeper}: idle timeout, lifetime, min-idle,
 * the limits refresh, meter flush), and the server's limits ({@code ServerLimitsProbe} reads them,
 * {@code ServerShare} holds and applies them).
 * Threading: every field is guarded by the one {@code BackendPools} lock, taken from any event loop
 * (acquire, release), the housekeeping loop and the admin thread; network work and promise
 * completion run after it is released. Must not import session, frontend or admin.
 */
package io.sluice.proxy.pool;
