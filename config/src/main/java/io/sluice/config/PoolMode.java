package io.sluice.config;

/** How long a client keeps the backend connection it borrowed. */
public enum PoolMode {
    /** From the client's first command until it disconnects. */
    SESSION,
    /** While a transaction, statement or result is in flight, or state pins the client. */
    TRANSACTION
}
