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

    private Nonces() {
    }

    /**
     * Returns a new 20-byte nonce, each byte in 1..127 and never '$' (0x24). MySQL's
     * {@code generate_user_salt} (mysys/crypt_genhash_impl.cc) masks random bytes with 0x7f and
     * bumps NUL and '$' by one, so nonces are NUL-free 7-bit ASCII (NUL would end the
     * NUL-terminated field in HandshakeV10, and some clients require a valid UTF-8 string). Here the
     * masked bytes that are NUL or '$' are drawn again instead, so the 126 allowed values are equally
     * likely, where MySQL's "+1" gives 0x01 and 0x25 double weight. The random bytes come from one
     * {@code nextBytes} call per login (the platform generator takes a lock, and may read
     * /dev/urandom, per call). The caller adds the NUL terminator the packet format wants; it is not
     * part of the nonce passed to the scramble and verify functions.
     */
    public static byte[] newNonce() {
        byte[] nonce = new byte[NONCE_LENGTH];
        byte[] random = new byte[NONCE_LENGTH + 12];
        int n = 0;
        while (n < nonce.length) {
            RANDOM.nextBytes(random);
            for (int i = 0; i < random.length && n < nonce.length; i++) {
                int b = random[i] & 0x7f;
                if (b != 0 && b != '$') {
                    nonce[n++] = (byte) b;
                }
            }
        }
        return nonce;
    }
}
