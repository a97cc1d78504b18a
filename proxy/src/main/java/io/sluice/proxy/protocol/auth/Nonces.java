package io.sluice.proxy.protocol.auth;

import java.security.SecureRandom;

/**
 * Nonces ("scrambles", auth-plugin-data) that Sluice sends when it acts as the server:
 * in {@code HandshakeV10} and in an {@code AuthSwitchRequest}.
 */
public final class Nonces {

    /** Length of a nonce, MySQL's {@code SCRAMBLE_LENGTH}. */
    public static final int NONCE_LENGTH = 20;

    /** Shared generator; {@link SecureRandom} is safe for concurrent use. */
    static final SecureRandom RANDOM = new SecureRandom();

    /**
     * Bytes a nonce may hold: 1..127 except '$' (0x24). MySQL's {@code generate_user_salt}
     * (mysys/crypt_genhash_impl.cc) masks random bytes with 0x7f and bumps NUL and '$' by one, so
     * nonces are NUL-free 7-bit ASCII (NUL would end the NUL-terminated field in HandshakeV10, and
     * some clients require a valid UTF-8 string).
     */
    private static final byte[] ALPHABET = alphabet();

    private Nonces() {
    }

    /**
     * Returns a new 20-byte nonce, each byte in 1..127 and never '$'. This is the set MySQL uses;
     * bytes are drawn uniformly from it, whereas MySQL's "+1" remapping gives 0x01 and 0x25 double
     * weight. The caller adds the NUL terminator the packet format wants; it is not part of the
     * nonce passed to the scramble and verify functions.
     */
    public static byte[] newNonce() {
        byte[] nonce = new byte[NONCE_LENGTH];
        for (int i = 0; i < nonce.length; i++) {
            nonce[i] = ALPHABET[RANDOM.nextInt(ALPHABET.length)];
        }
        return nonce;
    }

    private static byte[] alphabet() {
        byte[] bytes = new byte[126];
        int n = 0;
        for (int b = 1; b <= 127; b++) {
            if (b != '$') {
                bytes[n++] = (byte) b;
            }
        }
        return bytes;
    }
}
