package io.sluice.proxy.gate;

import io.sluice.proxy.protocol.SluiceError;
import io.sluice.proxy.protocol.SluiceException;

/**
 * A request the gate could not serve: the pool stayed full for the whole acquire timeout, the queue
 * was full, or the server could not be reached. The message names the pool, its usage, the queue,
 * how long this request waited and the config key to change; it is what the client reads. Every
 * such text is written here, by the factories below.
 */
public final class GateRejection extends SluiceException {
    public GateRejection(SluiceError error, String message) {
        super(error, message);
    }

    /**
     * What a pool looked like when a waiter's deadline passed, for the 9401 text.
     *
     * @param moreWaiting  requests still waiting after this one left
     * @param total        server connections from Sluice, open or being opened
     * @param reserve      sluice.pool.reserve when it is kept from this (not priority) pool, else 0
     * @param lastConnectError the last failed open's error while opens keep failing, else null
     * @param paused       an operator paused the pools
     */
    public record Usage(String pool, int busy, int max, int moreWaiting, int total, int globalCap, int reserve,
                        String lastConnectError, boolean paused, long acquireTimeoutMillis) {
    }

    /** 9401: no connection came free within sluice.pool.acquire-timeout. */
    public static GateRejection timedOut(Usage u, long waitedMillis) {
        return new GateRejection(SluiceError.POOL_TIMEOUT, "Sluice: no backend connection free in pool '" + u.pool()
                + "' after waiting " + waitedMillis + " ms (busy " + u.busy() + "/" + u.max() + ", " + u.moreWaiting()
                + " more waiting, " + u.total() + "/" + u.globalCap() + " server connections from Sluice"
                + (u.reserve() > 0 ? ", of which sluice.pool.reserve keeps " + u.reserve() + " for priority users" : "")
                + (u.lastConnectError() != null ? "; last connect error: " + u.lastConnectError() : "")
                + (u.paused() ? "; Sluice is paused by an operator and hands out no backends until resumed" : "")
                + "); raise sluice.pool.max-per-user if the server has room, raise sluice.pool.acquire-timeout ("
                + u.acquireTimeoutMillis() + " ms), or shorten the transactions that hold connections");
    }

    /** 9402: the gate of {@code pool} holds sluice.pool.max-waiters requests already. */
    public static GateRejection queueFull(String pool, int waiting, int busy, int max) {
        return new GateRejection(SluiceError.QUEUE_FULL, "Sluice: the wait queue of pool '" + pool
                + "' is full (" + waiting + " requests waiting, busy " + busy + "/" + max
                + "); raise sluice.pool.max-waiters, give the pool more connections (sluice.pool.max-per-user), "
                + "or send fewer concurrent requests");
    }

    /** 9404: opening a connection for this request failed (unreachable server, refused login). */
    public static GateRejection serverUnreachable(String address, String pool, String cause) {
        return new GateRejection(SluiceError.SERVER_UNAVAILABLE, "Sluice cannot open a connection to the server " + address
                + " for pool '" + pool + "': " + cause + " (check sluice.server.host/port and the backend "
                + "credentials of users on pool '" + pool + "')");
    }

    /** 9404: no pool logs in as this backend user. */
    public static GateRejection noPool(String backendUser) {
        return new GateRejection(SluiceError.SERVER_UNAVAILABLE, "Sluice has no pool for backend user '" + backendUser + "'");
    }

    /** 9409: Sluice is shutting down. */
    public static GateRejection shuttingDown() {
        return new GateRejection(SluiceError.UNAVAILABLE, "Sluice is shutting down");
    }
}
