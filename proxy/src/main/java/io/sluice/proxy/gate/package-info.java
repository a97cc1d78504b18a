/**
 * The bounded FIFO of requests waiting for a backend, with deadlines, and the rejection a client
 * reads when it cannot be served. Guarded by the owning pool's lock. Must not import session or frontend.
 */
package io.sluice.proxy.gate;
