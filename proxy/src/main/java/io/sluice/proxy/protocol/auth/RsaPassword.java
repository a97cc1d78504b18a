package io.sluice.proxy.protocol.auth;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;
import javax.crypto.Cipher;

/**
 * The RSA leg of caching_sha2_password (and sha256_password) full authentication on a connection
 * without TLS: the client sends {@code RSA-OAEP(password + NUL XOR nonce)} under the server's public
 * key, which it has configured or asked for with {@link CachingSha2Password#REQUEST_PUBLIC_KEY}.
 * Padding is OAEP with SHA-1 and MGF1-SHA-1, OpenSSL's {@code RSA_PKCS1_OAEP_PADDING} that MySQL
 * uses. Also the PEM forms MySQL servers send and store.
 */
public final class RsaPassword {

    /** Size of keys made by {@link #generate}, MySQL's default for its auto-generated keys. */
    public static final int KEY_SIZE = 2048;

    private static final String TRANSFORMATION = "RSA/ECB/OAEPWithSHA-1AndMGF1Padding";
    /** What clients use toward servers they take for older than MySQL 8.0.5. */
    private static final String LEGACY_TRANSFORMATION = "RSA/ECB/PKCS1Padding";
    /** OAEP with SHA-1 costs 2 * 20 + 2 bytes of each block. */
    private static final int OAEP_SHA1_OVERHEAD = 42;

    private static final String PUBLIC_KEY = "PUBLIC KEY";
    private static final String PRIVATE_KEY = "PRIVATE KEY";
    private static final String RSA_PRIVATE_KEY = "RSA PRIVATE KEY";
    private static final String ENCRYPTED_PRIVATE_KEY = "ENCRYPTED PRIVATE KEY";

    /** DER AlgorithmIdentifier for rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters. */
    private static final byte[] RSA_ALGORITHM_ID = {
        0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01,
        0x05, 0x00,
    };

    private RsaPassword() {
    }

    /**
     * Client side (Sluice logging in to the server): the ciphertext to send after the server asked
     * for full authentication on a connection without TLS.
     *
     * @param password the password without NUL terminator; a NUL is appended before XOR
     * @param nonce the 20 auth-plugin-data bytes of this connection, without NUL terminator; cycled
     *     over the password
     * @param key the server's public key, e.g. from {@link #parsePublicKeyPem}
     * @return one RSA block (256 bytes for a 2048-bit key); random padding makes each call differ
     * @throws IllegalArgumentException if password + NUL exceeds what one block holds (214 bytes
     *     for a 2048-bit key) or {@code key} is not an RSA key
     */
    public static byte[] encrypt(byte[] password, byte[] nonce, PublicKey key) {
        byte[] plain = Arrays.copyOf(password, password.length + 1);
        xorCycled(plain, nonce);
        try {
            Cipher cipher = Cipher.getInstance(TRANSFORMATION);
            cipher.init(Cipher.ENCRYPT_MODE, key);
            int max = cipher.getOutputSize(0) - OAEP_SHA1_OVERHEAD;
            if (plain.length > max) {
                throw new IllegalArgumentException("password is " + password.length + " bytes; with its NUL it"
                        + " must fit in " + max + " bytes for this RSA key");
            }
            return cipher.doFinal(plain);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("RSA encryption of the password failed: " + e.getMessage(), e);
        } finally {
            Arrays.fill(plain, (byte) 0);
        }
    }

    /**
     * Server side (Sluice accepting a client): recovers the clear password from a client's
     * ciphertext, to check with {@link CachingSha2Password#verifyCrypt}.
     *
     * @param cipherText the client's packet payload, one RSA block
     * @param nonce the 20-byte nonce this connection sent, without NUL terminator
     * @param key the private key whose public half this server sent or clients were given
     * @return the password: the decrypted bytes XOR the nonce, up to the first NUL (MySQL applies
     *     {@code strlen} the same way); empty for an empty password
     *     Clients that believe the server older than MySQL 8.0.5 (Connector/J does, from the
     *     version string) pad with PKCS#1 v1.5 instead of OAEP: both are accepted.
     * @throws IllegalArgumentException if the block does not decrypt under {@code key} (wrong
     *     length, wrong key or bad padding); the caller answers "access denied"
     */
    public static byte[] decrypt(byte[] cipherText, byte[] nonce, PrivateKey key) {
        Objects.requireNonNull(nonce, "nonce");
        byte[] plain;
        try {
            plain = decryptWith(TRANSFORMATION, cipherText, key);
        } catch (GeneralSecurityException oaep) {
            try {
                plain = decryptWith(LEGACY_TRANSFORMATION, cipherText, key);
            } catch (GeneralSecurityException e) {
                throw new IllegalArgumentException("RSA decryption of the password failed: " + oaep.getMessage(), oaep);
            }
        }
        xorCycled(plain, nonce);
        int end = 0;
        while (end < plain.length && plain[end] != 0) {
            end++;
        }
        byte[] password = Arrays.copyOf(plain, end);
        Arrays.fill(plain, (byte) 0);
        return password;
    }

    private static byte[] decryptWith(String transformation, byte[] cipherText, PrivateKey key) throws GeneralSecurityException {
        Cipher cipher = Cipher.getInstance(transformation);
        cipher.init(Cipher.DECRYPT_MODE, key);
        return cipher.doFinal(cipherText);
    }

    /** Returns a new {@value #KEY_SIZE}-bit RSA key pair, e.g. for a Sluice frontend with no key configured. */
    public static KeyPair generate() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(KEY_SIZE);
            return generator.generateKeyPair();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("RSA missing from the JDK", e);
        }
    }

    /**
     * Formats a public key the way MySQL servers send it in AuthMoreData and show it in
     * {@code Caching_sha2_password_rsa_public_key}: X.509 SubjectPublicKeyInfo,
     * {@code "-----BEGIN PUBLIC KEY-----"}, base64 in 64-character lines, trailing newline.
     */
    public static String publicKeyPem(PublicKey key) {
        return pem(PUBLIC_KEY, key.getEncoded());
    }

    /**
     * Parses a {@code "-----BEGIN PUBLIC KEY-----"} PEM (X.509 SubjectPublicKeyInfo) holding an RSA
     * key, as servers send it. Text around the block is ignored.
     *
     * @throws IllegalArgumentException if there is no such block or it is not an RSA public key
     */
    public static PublicKey parsePublicKeyPem(String pem) {
        byte[] der = pemBody(pem, PUBLIC_KEY);
        try {
            return KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(der));
        } catch (InvalidKeySpecException e) {
            throw new IllegalArgumentException("PEM PUBLIC KEY block is not an RSA public key", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("RSA missing from the JDK", e);
        }
    }

    /**
     * Parses an unencrypted RSA private key PEM: PKCS#8 {@code "-----BEGIN PRIVATE KEY-----"} or
     * PKCS#1 {@code "-----BEGIN RSA PRIVATE KEY-----"} (what MySQL's auto-generated private_key.pem
     * and {@code openssl genrsa -traditional} hold), which is wrapped in a PKCS#8 structure for the
     * JDK. Text around the block is ignored.
     *
     * @throws IllegalArgumentException if there is no such block, it is encrypted (decrypt it first,
     *     e.g. {@code openssl pkey -in key.pem -out plain.pem}) or it is not an RSA private key
     */
    public static PrivateKey parsePrivateKeyPem(String pem) {
        if (pem.contains(begin(ENCRYPTED_PRIVATE_KEY))) {
            throw new IllegalArgumentException("encrypted PEM private keys are not supported; decrypt it with"
                    + " 'openssl pkey -in key.pem -out plain.pem'");
        }
        byte[] pkcs8;
        if (pem.contains(begin(RSA_PRIVATE_KEY))) {
            pkcs8 = pkcs1ToPkcs8(pemBody(pem, RSA_PRIVATE_KEY));
        } else {
            pkcs8 = pemBody(pem, PRIVATE_KEY);
        }
        try {
            return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
        } catch (InvalidKeySpecException e) {
            throw new IllegalArgumentException("PEM private key block is not an RSA private key", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("RSA missing from the JDK", e);
        } finally {
            Arrays.fill(pkcs8, (byte) 0);
        }
    }

    /** XORs {@code data} in place with {@code nonce} repeated, as MySQL's {@code xor_string}. */
    private static void xorCycled(byte[] data, byte[] nonce) {
        if (nonce.length == 0) {
            throw new IllegalArgumentException("nonce is empty");
        }
        for (int i = 0; i < data.length; i++) {
            data[i] ^= nonce[i % nonce.length];
        }
    }

    private static String pem(String label, byte[] der) {
        String base64 = Base64.getEncoder().encodeToString(der);
        StringBuilder out = new StringBuilder(base64.length() + base64.length() / 64 + 64);
        out.append(begin(label)).append('\n');
        for (int i = 0; i < base64.length(); i += 64) {
            out.append(base64, i, Math.min(i + 64, base64.length())).append('\n');
        }
        return out.append("-----END ").append(label).append("-----\n").toString();
    }

    private static String begin(String label) {
        return "-----BEGIN " + label + "-----";
    }

    /** The DER bytes of the first {@code label} block; refuses RFC 1421 headers (encrypted keys). */
    private static byte[] pemBody(String pem, String label) {
        String begin = begin(label);
        String end = "-----END " + label + "-----";
        int from = pem.indexOf(begin);
        int to = from < 0 ? -1 : pem.indexOf(end, from);
        if (to < 0) {
            throw new IllegalArgumentException("no PEM block '" + begin + "' ... '" + end + "' found");
        }
        String body = pem.substring(from + begin.length(), to);
        if (body.indexOf(':') >= 0) {
            throw new IllegalArgumentException("PEM " + label + " block has headers (an encrypted key?);"
                    + " decrypt it with 'openssl pkey -in key.pem -out plain.pem'");
        }
        try {
            return Base64.getDecoder().decode(body.replaceAll("\\s+", "").getBytes(StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("PEM " + label + " block is not valid base64", e);
        }
    }

    /**
     * Wraps a PKCS#1 RSAPrivateKey in a PKCS#8 PrivateKeyInfo:
     * {@code SEQUENCE { INTEGER 0, rsaEncryption AlgorithmIdentifier, OCTET STRING pkcs1 }}.
     */
    static byte[] pkcs1ToPkcs8(byte[] pkcs1) {
        ByteArrayOutputStream content = new ByteArrayOutputStream(pkcs1.length + 32);
        content.writeBytes(new byte[] {0x02, 0x01, 0x00});
        content.writeBytes(RSA_ALGORITHM_ID);
        content.writeBytes(derTlv(0x04, pkcs1));
        return derTlv(0x30, content.toByteArray());
    }

    /** DER tag-length-value with a definite length (short form below 128, else long form). */
    private static byte[] derTlv(int tag, byte[] value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(value.length + 6);
        out.write(tag);
        int length = value.length;
        if (length < 0x80) {
            out.write(length);
        } else {
            int lengthBytes = (Integer.SIZE - Integer.numberOfLeadingZeros(length) + 7) / 8;
            out.write(0x80 | lengthBytes);
            for (int i = lengthBytes - 1; i >= 0; i--) {
                out.write(length >>> (8 * i));
            }
        }
        out.writeBytes(value);
        return out.toByteArray();
    }
}
