package io.sluice.proxy.frontend;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.sluice.proxy.backend.BackendSecret;
import io.sluice.proxy.protocol.AuthSwitchRequest;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.auth.CachingSha2Password;
import io.sluice.proxy.protocol.auth.NativePassword;
import io.sluice.proxy.protocol.auth.Nonces;
import io.sluice.proxy.protocol.auth.RsaPassword;

import java.security.KeyPair;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * The server side of one authentication exchange with a client (login, or COM_CHANGE_USER): checks
 * the client's first auth response and, when needed, switches plugin (AuthSwitchRequest) or runs
 * caching_sha2_password's full authentication (clear password over TLS, or RSA with Sluice's key).
 * Owned by the client's event loop.
 */
final class AuthExchange {
    static final String NATIVE = "mysql_native_password";
    static final String SHA2 = "caching_sha2_password";

    /** Where the exchange stands after a client packet. */
    enum Result { SUCCESS, FAILURE, CONTINUE }

    private enum State { FIRST, SWITCHED, FULL_AUTH, AWAIT_RSA }

    private Credentials credentials;
    /** The last mysql_native_password response checked, for {@link #recheck}. */
    private byte[] lastNativeResponse;
    private final boolean secureTransport;
    private final KeyPair rsa;
    private byte[] nonce;
    private String plugin;
    private State state = State.FIRST;
    /** Whether the client sent a non-empty auth response (for the "using password" part of 1045). */
    private boolean usedPassword;
    /** Why a login failed when the reason is the client's setup rather than a wrong password, else null. */
    private String refusal;
    /** For a server account, after a successful check: what logs in to the server as it, or null. */
    private String backendSecret;

    AuthExchange(Credentials credentials, byte[] nonce, boolean secureTransport, KeyPair rsa) {
        this.credentials = credentials;
        this.nonce = nonce;
        this.secureTransport = secureTransport;
        this.rsa = rsa;
    }

    boolean usedPassword() {
        return usedPassword;
    }

    /**
     * After {@link Result#FAILURE}: what to tell the client when the failure is not a wrong
     * password but a setup it can change, or null.
     */
    String refusal() {
        return refusal;
    }

    /**
     * After {@link Result#SUCCESS} for a server account ({@link Credentials#serverAccount}): the
     * {@link io.sluice.proxy.backend.BackendSecret} this login proved, or null when it proved none
     * (a caching_sha2_password fast-path login: the secret was learned at the full login before).
     * Never log it.
     */
    String backendSecret() {
        return backendSecret;
    }

    /**
     * Checks the auth response the client sent with its login (or COM_CHANGE_USER).
     *
     * @param clientPlugin the plugin the client used, or null
     * @param seq          the sequence id of the client's packet; replies use the next one
     */
    Result first(String clientPlugin, byte[] response, int seq, ByteBufAllocator alloc, Consumer<ByteBuf> reply) {
        usedPassword = response.length > 0;
        String p = clientPlugin == null || clientPlugin.isEmpty() ? NATIVE : clientPlugin;
        if (p.equals(NATIVE) && credentials.nativeStage2 != null) {
            return verifyNative(response);
        }
        if (p.equals(SHA2) && (credentials.sha2Stage2() != null || credentials.sha2Crypt != null)) {
            if (response.length == 0 && !credentials.emptyPassword) {
                // libmariadb hides the handshake's nonce from a plugin other than the one the
                // handshake names (mysql_native_password here) and sends an empty response; like
                // MariaDB for its own plugins, ask again with a caching_sha2_password nonce.
                return switchTo(SHA2, seq, alloc, reply);
            }
            plugin = SHA2;
            return sha2(response, seq, alloc, reply);
        }
        return switchTo(credentials.preferredPlugin(), seq, alloc, reply);
    }

    private Result switchTo(String p, int seq, ByteBufAllocator alloc, Consumer<ByteBuf> reply) {
        plugin = p;
        nonce = Nonces.newNonce();
        state = State.SWITCHED;
        reply.accept(new AuthSwitchRequest(p, nonce).write(alloc, seq + 1));
        return Result.CONTINUE;
    }

    /** Handles the client's next packet in the exchange; the caller keeps ownership of {@code packet}. */
    Result next(ByteBuf packet, ByteBufAllocator alloc, Consumer<ByteBuf> reply) {
        int seq = Packets.sequenceId(packet);
        ByteBuf payload = Packets.payload(packet);
        byte[] data = new byte[payload.readableBytes()];
        payload.readBytes(data);
        switch (state) {
            case SWITCHED:
                usedPassword = data.length > 0;
                return plugin.equals(NATIVE) ? verifyNative(data) : sha2(data, seq, alloc, reply);
            case FULL_AUTH:
                if (data.length == 1 && data[0] == CachingSha2Password.REQUEST_PUBLIC_KEY) {
                    if (rsa == null) {
                        return Result.FAILURE;
                    }
                    state = State.AWAIT_RSA;
                    ByteBuf more = Packets.start(alloc, 460);
                    more.writeByte(0x01);
                    more.writeBytes(RsaPassword.publicKeyPem(rsa.getPublic()).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    reply.accept(Packets.finish(more, seq + 1));
                    return Result.CONTINUE;
                }
                if (!secureTransport) {
                    // A clear password over plain TCP: refuse rather than accept it, as MySQL does.
                    // libmariadb sends it so when its ssl option is on (the mariadb CLI's default)
                    // but the server offered no TLS: it asks for the RSA key only with ssl off.
                    refusal = "the client sent its password in clear text on a connection without TLS; enable "
                            + "sluice.frontend.tls, or turn the client's ssl option off (mariadb --skip-ssl) so that "
                            + "it encrypts the password with Sluice's RSA key";
                    return Result.FAILURE;
                }
                return verifyClear(stripNul(data));
            case AWAIT_RSA:
                try {
                    return verifyClear(RsaPassword.decrypt(data, nonce, rsa.getPrivate()));
                } catch (RuntimeException e) {
                    return Result.FAILURE;
                }
            default:
                return Result.FAILURE;
        }
    }

    /**
     * After {@link Result#FAILURE} of a mysql_native_password response: checks that same response
     * against {@code fresh} credentials (the account read again from the server, its password
     * changed since it was cached). FAILURE when the failed step was not such a response.
     */
    Result recheck(Credentials fresh) {
        if (lastNativeResponse == null || fresh.nativeStage2 == null) {
            return Result.FAILURE;
        }
        credentials = fresh;
        return verifyNative(lastNativeResponse);
    }

    /** Whether {@link #recheck} can tell anything: the last step checked a mysql_native_password response. */
    boolean canRecheck() {
        return lastNativeResponse != null;
    }

    private Result verifyNative(byte[] response) {
        lastNativeResponse = response;
        if (credentials.emptyPassword) {
            return response.length == 0 ? learned("") : Result.FAILURE;
        }
        if (credentials.serverAccount) {
            byte[] stage1 = NativePassword.recoverStage1(response, nonce, credentials.nativeStage2);
            return stage1 == null ? Result.FAILURE : learned(BackendSecret.nativeStage1(stage1));
        }
        return NativePassword.verify(response, nonce, credentials.nativeStage2) ? Result.SUCCESS : Result.FAILURE;
    }

    private Result learned(String secret) {
        if (credentials.serverAccount) {
            backendSecret = secret;
        }
        return Result.SUCCESS;
    }

    private Result sha2(byte[] response, int seq, ByteBufAllocator alloc, Consumer<ByteBuf> reply) {
        if (credentials.emptyPassword) {
            return response.length == 0 ? learned("") : Result.FAILURE;
        }
        if (response.length == 0) {
            return Result.FAILURE;
        }
        byte[] stage2 = credentials.sha2Stage2();
        if (stage2 != null && CachingSha2Password.verifyFast(response, nonce, stage2)) {
            reply.accept(Packets.of(alloc, seq + 1, new byte[] {0x01, CachingSha2Password.FAST_AUTH_SUCCESS}));
            return Result.SUCCESS;
        }
        // No hash known yet, or the fast check failed: full authentication, as MySQL does. PyMySQL
        // scrambles with the AuthSwitchRequest's NUL terminator as part of the nonce, so its fast
        // path never matches after a switch; it passes with the password itself.
        state = State.FULL_AUTH;
        reply.accept(Packets.of(alloc, seq + 1, new byte[] {0x01, CachingSha2Password.PERFORM_FULL_AUTHENTICATION}));
        return Result.CONTINUE;
    }

    private Result verifyClear(byte[] clear) {
        try {
            if (credentials.sha2Crypt != null && CachingSha2Password.verifyCrypt(clear, credentials.sha2Crypt)) {
                credentials.learnSha2(clear);
                return learned(new String(clear, java.nio.charset.StandardCharsets.UTF_8));
            }
            if (credentials.nativeStage2 != null && Arrays.equals(NativePassword.hashStage2(clear), credentials.nativeStage2)) {
                return learned(BackendSecret.nativeStage1(NativePassword.hashStage1(clear)));
            }
            return Result.FAILURE;
        } finally {
            Arrays.fill(clear, (byte) 0);
        }
    }

    private static byte[] stripNul(byte[] b) {
        int n = b.length;
        while (n > 0 && b[n - 1] == 0) {
            n--;
        }
        return Arrays.copyOf(b, n);
    }
}
