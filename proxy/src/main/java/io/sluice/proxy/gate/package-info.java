/**
 * The bounded FIFO of requests waiting for one pool's backends ({@code Gate}, {@code Waiter}): their
 * order across keys and event loops, their deadlines and withdrawal, and every rejection text a
 * client reads from it ({@code GateRejection}: 9401, 9402, 9404, 9409).
 * Threading: guarded by the owning pool's lock; the gate takes it itself only when a deadline fires
 * or a client withdraws (on the waiter's event loop). Must not import pool, session or frontend.
 */
package io.sluice.proxy.gate;
