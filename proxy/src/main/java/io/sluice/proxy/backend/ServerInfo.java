package io.sluice.proxy.backend;

import io.sluice.proxy.protocol.Capabilities;
import io.sluice.proxy.protocol.HandshakeV10;

/**
 * What the server said about itself in its last handshake: Sluice presents the same version,
 * capabilities (as far as it supports them) and default collation to its clients.
 */
public record ServerInfo(String version, Capabilities capabilities, int collation, boolean learned) {

    /** Used until the server has been reached once. */
    public static final ServerInfo UNKNOWN = new ServerInfo("8.0.36-sluice", new Capabilities(Capabilities.SUPPORTED), 45, false);

    public static ServerInfo of(HandshakeV10 h) {
        return new ServerInfo(h.serverVersion(), h.capabilities(), h.collation(), true);
    }
}
