/**
 * Bounded backend pools, one per backend user, under a global cap; housekeeping (idle timeout,
 * lifetime with jitter, validation, min-idle); direct hand-off of a released connection to the
 * oldest waiter; pause/resume and reconfigure for the admin actions. State is guarded by the
 * {@code BackendPools} lock. Must not import session or frontend.
 */
package io.sluice.proxy.pool;
