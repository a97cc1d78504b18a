package io.sluice.proxy.backend;

import io.sluice.proxy.protocol.Capabilities;

/**
 * What makes two backend connections interchangeable: the server account, the capability flags
 * that change what the server sends ({@link Capabilities#SERVER_VISIBLE}), and the handshake
 * collation. A client is only ever linked to a backend opened with its own key, so every client
 * sees exactly the protocol it negotiated.
 */
public record BackendKey(String backendUser, int serverVisibleFlags, int collation, boolean multiplexed) {

    /**
     * The key for a client's backend. Multiplexed backends (transaction pool mode) always track
     * session state (CLIENT_SESSION_TRACK, every system variable, schema, state changes), which is
     * how Sluice learns what to restore; clients that did not ask for tracking get OK packets with
     * the tracking data stripped.
     */
    public static BackendKey of(String backendUser, Capabilities clientCapabilities, int collation, boolean multiplexed) {
        int flags = clientCapabilities.bits() & Capabilities.SERVER_VISIBLE;
        if (multiplexed) {
            flags |= Capabilities.CLIENT_SESSION_TRACK;
        }
        return new BackendKey(backendUser, flags, collation, multiplexed);
    }

    /**
     * Written out rather than the record's generated equals (an invokedynamic call site), which
     * showed up in profiles: the pool compares keys on every acquire and release.
     */
    @Override
    public boolean equals(Object o) {
        return o == this || o instanceof BackendKey k && serverVisibleFlags == k.serverVisibleFlags && collation == k.collation
                && multiplexed == k.multiplexed && backendUser.equals(k.backendUser);
    }

    @Override
    public int hashCode() {
        return (backendUser.hashCode() * 31 + serverVisibleFlags) * 31 + collation * 2 + (multiplexed ? 1 : 0);
    }

    @Override
    public String toString() {
        return backendUser + "/0x" + Integer.toHexString(serverVisibleFlags) + "/" + collation + (multiplexed ? "/tx" : "");
    }
}
