package io.sluice.proxy.protocol.auth;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** Digest and XOR helpers shared by the scramble classes. A new {@link MessageDigest} per call. */
final class Digests {

    private Digests() {
    }

    static MessageDigest sha1() {
        return get("SHA-1");
    }

    static MessageDigest sha256() {
        return get("SHA-256");
    }

    /** Returns {@code a XOR b}; both must have the same length. */
    static byte[] xor(byte[] a, byte[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("xor of " + a.length + " and " + b.length + " bytes");
        }
        byte[] out = new byte[a.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) (a[i] ^ b[i]);
        }
        return out;
    }

    private static MessageDigest get(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            // Every Java platform must provide SHA-1 and SHA-256 (MessageDigest Javadoc).
            throw new IllegalStateException(algorithm + " missing from the JDK", e);
        }
    }
}
