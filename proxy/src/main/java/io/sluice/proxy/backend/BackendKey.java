package io.sluice.proxy.backend;

import io.sluice.proxy.protocol.Capabilities;

/**
 * What makes two backend connections interchangeable: the server account, the capability flags
 * that change what the server sends ({@link Capabilities#SERVER_VISIBLE}), and the handshake
 * collation. A client is only ever linked to a backend opened with its own key, so every client
 * sees exactly the protocol it negotiated.
 */
public record BackendKey(String backendUser, int serverVisibleFlags, int collation) {

    public static BackendKey of(String backendUser, Capabilities clientCapabilities, int collation) {
        return new BackendKey(backendUser, clientCapabilities.bits() & Capabilities.SERVER_VISIBLE, collation);
    }

    @Override
    public String toString() {
        return backendUser + "/0x" + Integer.toHexString(serverVisibleFlags) + "/" + collation;
    }
}
