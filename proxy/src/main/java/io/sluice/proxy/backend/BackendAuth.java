package io.sluice.proxy.backend;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.sluice.proxy.protocol.AuthSwitchRequest;
import io.sluice.proxy.protocol.ErrPacket;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.auth.CachingSha2Password;
import io.sluice.proxy.protocol.auth.NativePassword;
import io.sluice.proxy.protocol.auth.RsaPassword;

import java.nio.charset.StandardCharsets;
import java.security.PublicKey;

/**
 * The client side of the server's authentication exchange, after Sluice sent its first auth
 * response (in HandshakeResponse41 or COM_CHANGE_USER): follows AuthSwitchRequest and
 * caching_sha2_password's AuthMoreData (fast-auth success, or full auth with the clear password
 * over TLS or RSA-encrypted with the server's public key) until OK or ERR.
 *
 * <p>Owned by the backend's event loop; one instance per exchange.
 */
final class BackendAuth {
    /** Outcome of one server packet. */
    enum Step { CONTINUE, SUCCESS }

    private final byte[] password;
    /** SHA1(pw) when only that is known ({@link BackendSecret}): then only mysql_native_password works. */
    private final byte[] nativeStage1;
    private final boolean secureTransport;
    private byte[] nonce;
    private String plugin;

    BackendAuth(String password, byte[] nonce, String plugin, boolean secureTransport) {
        this.nativeStage1 = BackendSecret.nativeStage1Of(password);
        this.password = nativeStage1 != null ? new byte[0] : password.getBytes(StandardCharsets.UTF_8);
        this.nonce = nonce;
        this.plugin = plugin;
        this.secureTransport = secureTransport;
    }

    /** The auth response for the plugin the server named first; unknown plugins get an empty response. */
    byte[] initialResponse() {
        return scramble(plugin, nonce);
    }

    String plugin() {
        return nativeStage1 != null ? "mysql_native_password" : pluginOrDefault(plugin);
    }

    private static String pluginOrDefault(String p) {
        return p == null || p.isEmpty() ? "mysql_native_password" : p;
    }

    private byte[] scramble(String p, byte[] n) {
        if (nativeStage1 != null) {
            // Whatever the server names first, a native hash answers mysql_native_password; a server that
            // wants another plugin for this account switches (refused below).
            return NativePassword.scrambleFromStage1(nativeStage1, n);
        }
        return switch (pluginOrDefault(p)) {
            case "mysql_native_password" -> NativePassword.scramble(password, n);
            case "caching_sha2_password" -> CachingSha2Password.scramble(password, n);
            case "mysql_clear_password" -> withNul(password);
            default -> new byte[0];
        };
    }

    private static byte[] withNul(byte[] b) {
        byte[] r = new byte[b.length + 1];
        System.arraycopy(b, 0, r, 0, b.length);
        return r;
    }

    /**
     * Handles one server packet (the caller keeps ownership and releases it); writes any reply
     * through {@code reply}.
     *
     * @throws BackendException when the server refuses the login or asks for something unsupported
     */
    Step onPacket(ByteBuf packet, ByteBufAllocator alloc, java.util.function.Consumer<ByteBuf> reply) {
        int seq = Packets.sequenceId(packet);
        switch (Packets.header(packet)) {
            case Packets.OK:
                return Step.SUCCESS;
            case Packets.ERR:
                ErrPacket err = ErrPacket.read(packet);
                throw new BackendException("server refused login: " + err, err);
            case Packets.EOF: {
                AuthSwitchRequest sw = AuthSwitchRequest.read(packet);
                String p = pluginOrDefault(sw.pluginName());
                if (nativeStage1 != null && !p.equals("mysql_native_password")) {
                    throw new BackendException("server asked for auth plugin '" + p + "', but Sluice knows this "
                            + "account only by its mysql_native_password hash (learned from a client's login)");
                }
                if (!p.equals("mysql_native_password") && !p.equals("caching_sha2_password")
                        && !(p.equals("mysql_clear_password") && secureTransport)) {
                    throw new BackendException("server asked for auth plugin '" + p
                            + "', which Sluice does not speak toward the server");
                }
                plugin = p;
                if (sw.pluginData().length >= 20) {
                    nonce = java.util.Arrays.copyOf(sw.pluginData(), 20);
                }
                reply.accept(Packets.of(alloc, seq + 1, scramble(p, nonce)));
                return Step.CONTINUE;
            }
            case 0x01: {
                ByteBuf p = Packets.payload(packet);
                p.skipBytes(1);
                if (p.readableBytes() == 1) {
                    int status = p.readUnsignedByte();
                    if (status == CachingSha2Password.FAST_AUTH_SUCCESS) {
                        return Step.CONTINUE;
                    }
                    if (status == CachingSha2Password.PERFORM_FULL_AUTHENTICATION) {
                        if (secureTransport) {
                            reply.accept(Packets.of(alloc, seq + 1, withNul(password)));
                        } else {
                            reply.accept(Packets.of(alloc, seq + 1, new byte[] {CachingSha2Password.REQUEST_PUBLIC_KEY}));
                        }
                        return Step.CONTINUE;
                    }
                    throw new BackendException("unexpected caching_sha2_password status 0x" + Integer.toHexString(status));
                }
                String pem = p.toString(StandardCharsets.US_ASCII);
                PublicKey key = RsaPassword.parsePublicKeyPem(pem);
                reply.accept(Packets.of(alloc, seq + 1, RsaPassword.encrypt(password, nonce, key)));
                return Step.CONTINUE;
            }
            default:
                throw new BackendException("unexpected packet during login, header 0x"
                        + Integer.toHexString(Packets.header(packet) & 0xff));
        }
    }
}
