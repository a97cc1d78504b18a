package io.sluice.proxy.protocol.auth;

import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Objects;

/**
 * mysql_native_password: the client proves knowledge of the password with
 * {@code SHA1(pw) XOR SHA1(nonce + SHA1(SHA1(pw)))}; the server stores only
 * {@code stage2 = SHA1(SHA1(pw))}, shown in mysql.user as {@code "*"} + 40 uppercase hex digits.
 *
 * <p>"No password" is the empty array: {@link #hashStage2} returns it for an empty password, the
 * server hash of it is {@code ""} (as MySQL stores it), and {@link #verify} then accepts only an
 * empty response. {@code null} is never taken to mean "no password"; it throws, so that a lost hash
 * cannot silently open an account.
 */
public final class NativePassword {

    /** Length of a non-empty scramble and of stage2 (a SHA-1 digest). */
    public static final int SCRAMBLE_LENGTH = 20;

    private static final HexFormat HEX_UPPER = HexFormat.of().withUpperCase();

    private NativePassword() {
    }

    /**
     * Client side (Sluice logging in to the server): the auth response for {@code password} and the
     * server's nonce.
     *
     * @param password the password bytes as the server compares them (normally UTF-8)
     * @param nonce the 20 auth-plugin-data bytes from HandshakeV10 or AuthSwitchRequest, without
     *     their NUL terminator
     * @return 20 bytes, or an empty array for an empty password (what MySQL clients send)
     */
    public static byte[] scramble(byte[] password, byte[] nonce) {
        Objects.requireNonNull(nonce, "nonce");
        if (password.length == 0) {
            return new byte[0];
        }
        MessageDigest sha1 = Digests.sha1();
        byte[] stage1 = sha1.digest(password);
        byte[] stage2 = sha1.digest(stage1);
        sha1.update(nonce);
        sha1.update(stage2);
        return Digests.xor(stage1, sha1.digest());
    }

    /**
     * Returns what the server stores for {@code password}: {@code SHA1(SHA1(password))} (20 bytes),
     * or the empty array, meaning "no password", when {@code password} is empty.
     */
    public static byte[] hashStage2(byte[] password) {
        if (password.length == 0) {
            return new byte[0];
        }
        MessageDigest sha1 = Digests.sha1();
        return sha1.digest(sha1.digest(password));
    }

    /**
     * Formats stage2 as mysql.user's authentication_string: {@code "*"} + 40 uppercase hex digits, or
     * {@code ""} for the empty array ("no password").
     *
     * @throws IllegalArgumentException if {@code stage2} is neither 0 nor 20 bytes
     */
    public static String toServerHash(byte[] stage2) {
        if (stage2.length == 0) {
            return "";
        }
        checkStage2(stage2);
        return "*" + HEX_UPPER.formatHex(stage2);
    }

    /**
     * Parses an authentication_string of mysql_native_password (as in mysql.user or the output of
     * MySQL 5.7's {@code PASSWORD()}) back to stage2. Hex digits may be of either case.
     *
     * @return 20 bytes, or the empty array ("no password") for {@code ""}
     * @throws IllegalArgumentException if {@code serverHash} is not {@code ""} or {@code "*"} + 40
     *     hex digits; the message does not repeat the hash
     */
    public static byte[] parseServerHash(String serverHash) {
        if (serverHash.isEmpty()) {
            return new byte[0];
        }
        if (serverHash.length() != 1 + 2 * SCRAMBLE_LENGTH || serverHash.charAt(0) != '*') {
            throw new IllegalArgumentException("mysql_native_password hash must be '*' followed by 40 hex"
                    + " digits, got " + serverHash.length() + " characters");
        }
        try {
            return HexFormat.of().parseHex(serverHash, 1, serverHash.length());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("mysql_native_password hash has a non-hex digit after '*'");
        }
    }

    /**
     * Server side (Sluice accepting a client): checks a client's auth response against the stored
     * stage2. Recovers the candidate {@code SHA1(pw) = response XOR SHA1(nonce + stage2)} and accepts
     * when {@code SHA1(candidate)} equals stage2, compared in constant time.
     *
     * @param response the client's auth response (HandshakeResponse41 or AuthSwitchResponse)
     * @param nonce the 20-byte nonce this connection sent, without NUL terminator
     * @param stage2 from {@link #hashStage2} or {@link #parseServerHash}; empty means "no password"
     * @return true if the client knows the password. An empty response matches only an empty
     *     stage2 and vice versa; a response of any length other than 0 or 20 is false.
     */
    public static boolean verify(byte[] response, byte[] nonce, byte[] stage2) {
        Objects.requireNonNull(response, "response");
        Objects.requireNonNull(nonce, "nonce");
        if (stage2.length == 0 || response.length == 0) {
            return stage2.length == 0 && response.length == 0;
        }
        checkStage2(stage2);
        if (response.length != SCRAMBLE_LENGTH) {
            return false;
        }
        MessageDigest sha1 = Digests.sha1();
        sha1.update(nonce);
        sha1.update(stage2);
        byte[] candidateStage1 = Digests.xor(response, sha1.digest());
        return MessageDigest.isEqual(sha1.digest(candidateStage1), stage2);
    }

    /**
     * As {@link #verify}, and on success returns what it recovered: the client's
     * {@code stage1 = SHA1(pw)}, which is enough to log in to the server as the same account
     * ({@link #scrambleFromStage1}) without the clear password. Secret-equivalent: keep it in memory
     * only, never log it.
     *
     * @return 20 bytes, or null when the response does not prove the password (also for an account
     *     without password, where there is nothing to recover)
     */
    public static byte[] recoverStage1(byte[] response, byte[] nonce, byte[] stage2) {
        Objects.requireNonNull(response, "response");
        Objects.requireNonNull(nonce, "nonce");
        if (stage2.length == 0 || response.length != SCRAMBLE_LENGTH) {
            return null;
        }
        checkStage2(stage2);
        MessageDigest sha1 = Digests.sha1();
        sha1.update(nonce);
        sha1.update(stage2);
        byte[] candidateStage1 = Digests.xor(response, sha1.digest());
        return MessageDigest.isEqual(sha1.digest(candidateStage1), stage2) ? candidateStage1 : null;
    }

    /** {@code SHA1(password)}, the stage-1 hash of {@link #recoverStage1}, from a clear password. */
    public static byte[] hashStage1(byte[] password) {
        return Digests.sha1().digest(password);
    }

    /**
     * Client side with only {@code stage1 = SHA1(pw)} known: the same auth response as
     * {@link #scramble} of the password, {@code stage1 XOR SHA1(nonce + SHA1(stage1))}.
     */
    public static byte[] scrambleFromStage1(byte[] stage1, byte[] nonce) {
        Objects.requireNonNull(nonce, "nonce");
        if (stage1.length != SCRAMBLE_LENGTH) {
            throw new IllegalArgumentException("stage1 must be 20 bytes, got " + stage1.length);
        }
        MessageDigest sha1 = Digests.sha1();
        byte[] stage2 = sha1.digest(stage1);
        sha1.update(nonce);
        sha1.update(stage2);
        return Digests.xor(stage1, sha1.digest());
    }

    private static void checkStage2(byte[] stage2) {
        if (stage2.length != SCRAMBLE_LENGTH) {
            throw new IllegalArgumentException("stage2 must be 0 or 20 bytes, got " + stage2.length);
        }
    }
}
