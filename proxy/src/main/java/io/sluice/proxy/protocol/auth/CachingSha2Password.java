package io.sluice.proxy.protocol.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Objects;

/**
 * caching_sha2_password (the MySQL 8 default). Fast path: the client sends
 * {@code XOR(SHA256(pw), SHA256(SHA256(SHA256(pw)) + nonce))} and a server holding
 * {@code stage2 = SHA256(SHA256(pw))} (MySQL keeps it in memory after one full login) checks it.
 * Full path: the server gets the clear password (over TLS, or RSA-encrypted: {@link RsaPassword})
 * and checks it against mysql.user's authentication_string, {@code "$A$005$" + 20-byte salt +
 * 43-char SHA-256 crypt}.
 *
 * <p>As in {@link NativePassword}, the empty array stands for "no password" ({@link #stage2} of an
 * empty password) and {@code ""} is the authentication_string of an account without one;
 * {@code null} always throws.
 *
 * <p>Exchange (dev.mysql.com, "Caching_sha2_password information"): after the scramble the server
 * answers with an AuthMoreData packet holding {@link #FAST_AUTH_SUCCESS} (an OK follows) or
 * {@link #PERFORM_FULL_AUTHENTICATION}; on plain TCP the client may then send
 * {@link #REQUEST_PUBLIC_KEY} to get the server's PEM before sending the RSA-encrypted password.
 */
public final class CachingSha2Password {

    /** Client to server, a one-byte packet: "send me your RSA public key" (full auth without TLS). */
    public static final byte REQUEST_PUBLIC_KEY = 0x02;
    /** Server to client, AuthMoreData payload: the fast check passed; an OK packet follows. */
    public static final byte FAST_AUTH_SUCCESS = 0x03;
    /**
     * Server to client, AuthMoreData payload: no cached stage2 or the fast check failed; the client
     * must send the password in clear (TLS only) or RSA-encrypted.
     */
    public static final byte PERFORM_FULL_AUTHENTICATION = 0x04;

    /** Length of a non-empty scramble and of stage2 (a SHA-256 digest). */
    public static final int SCRAMBLE_LENGTH = 32;
    /** MySQL refuses longer passwords ({@code CACHING_SHA2_PASSWORD_MAX_PASSWORD_LENGTH}). */
    public static final int MAX_PASSWORD_LENGTH = 256;
    /** Length of the salt in an authentication_string. */
    public static final int SALT_LENGTH = 20;

    private static final int ITERATION_MULTIPLIER = 1000;
    private static final int DEFAULT_ROUNDS = 5000;
    private static final String DEFAULT_PREFIX = "$A$005$";
    /** "$A$" + 3 hex digits + "$" + salt + encoded digest. */
    private static final int CRYPT_LENGTH = 7 + SALT_LENGTH + Sha256Crypt.ENCODED_LENGTH;

    private CachingSha2Password() {
    }

    /**
     * Client side (Sluice logging in to the server): the fast-auth response.
     *
     * @param password the password bytes as the server compares them (normally UTF-8)
     * @param nonce the 20 auth-plugin-data bytes from HandshakeV10 or AuthSwitchRequest, without
     *     their NUL terminator
     * @return 32 bytes, or an empty array for an empty password (libmysqlclient sends a single NUL
     *     instead; the server takes either as "no password")
     */
    public static byte[] scramble(byte[] password, byte[] nonce) {
        Objects.requireNonNull(nonce, "nonce");
        if (password.length == 0) {
            return new byte[0];
        }
        MessageDigest sha256 = Digests.sha256();
        byte[] stage1 = sha256.digest(password);
        byte[] stage2 = sha256.digest(stage1);
        sha256.update(stage2);
        sha256.update(nonce);
        return Digests.xor(stage1, sha256.digest());
    }

    /**
     * Returns the value a server needs for {@link #verifyFast}: {@code SHA256(SHA256(password))}
     * (32 bytes), or the empty array ("no password") when {@code password} is empty.
     */
    public static byte[] stage2(byte[] password) {
        if (password.length == 0) {
            return new byte[0];
        }
        MessageDigest sha256 = Digests.sha256();
        return sha256.digest(sha256.digest(password));
    }

    /**
     * Server side (Sluice accepting a client): the fast-auth check. Recovers the candidate
     * {@code SHA256(pw) = response XOR SHA256(stage2 + nonce)} and accepts when its SHA-256 equals
     * stage2, compared in constant time.
     *
     * @param response the client's auth response
     * @param nonce the 20-byte nonce this connection sent, without NUL terminator
     * @param stage2 from {@link #stage2}; empty means "no password"
     * @return true if the client knows the password. An empty response, or a single NUL (both mean
     *     "no password", as in MySQL's server plugin), matches only an empty stage2 and vice versa;
     *     any other length than 32 is false. On false for a non-empty response the server sends
     *     {@link #PERFORM_FULL_AUTHENTICATION} rather than an error, as MySQL does.
     */
    public static boolean verifyFast(byte[] response, byte[] nonce, byte[] stage2) {
        Objects.requireNonNull(nonce, "nonce");
        boolean emptyResponse = response.length == 0 || (response.length == 1 && response[0] == 0);
        if (stage2.length == 0 || emptyResponse) {
            return stage2.length == 0 && emptyResponse;
        }
        if (stage2.length != SCRAMBLE_LENGTH) {
            throw new IllegalArgumentException("stage2 must be 0 or 32 bytes, got " + stage2.length);
        }
        if (response.length != SCRAMBLE_LENGTH) {
            return false;
        }
        MessageDigest sha256 = Digests.sha256();
        sha256.update(stage2);
        sha256.update(nonce);
        byte[] candidateStage1 = Digests.xor(response, sha256.digest());
        return MessageDigest.isEqual(sha256.digest(candidateStage1), stage2);
    }

    /**
     * Server side, full authentication: checks a clear password (received over TLS or decrypted by
     * {@link RsaPassword#decrypt}) against a mysql.user authentication_string. Runs the number of
     * SHA-256 crypt rounds the string names (5000 for "005"): about a millisecond of CPU on a warm
     * JVM, so a burst of full logins is better checked off the event loops.
     *
     * @param clearPassword the password without NUL terminator
     * @param mysqlUserHash {@code "$A$" + 3 hex digits (rounds / 1000) + "$" + 20 salt bytes + 43
     *     crypt-base64 characters}, or {@code ""} for an account without password
     * @return true if the password produced the hash; for {@code ""}, true only for an empty
     *     password. Passwords over {@link #MAX_PASSWORD_LENGTH} bytes are false, as in MySQL.
     * @throws IllegalArgumentException if the hash is not in that format (including MySQL 9's
     *     "$B$" PBKDF2 variant, which is not supported); the message does not repeat the hash
     */
    public static boolean verifyCrypt(byte[] clearPassword, String mysqlUserHash) {
        Objects.requireNonNull(clearPassword, "clearPassword");
        if (mysqlUserHash.isEmpty()) {
            return clearPassword.length == 0;
        }
        byte[] hash = cryptBytes(mysqlUserHash);
        int rounds = parseRounds(hash);
        if (clearPassword.length == 0 || clearPassword.length > MAX_PASSWORD_LENGTH) {
            return false;
        }
        byte[] salt = effectiveSalt(Arrays.copyOfRange(hash, 7, 7 + SALT_LENGTH));
        byte[] expected = Arrays.copyOfRange(hash, 7 + SALT_LENGTH, CRYPT_LENGTH);
        byte[] actual = Sha256Crypt.encode(Sha256Crypt.digest(clearPassword, salt, rounds))
                .getBytes(StandardCharsets.ISO_8859_1);
        return MessageDigest.isEqual(actual, expected);
    }

    /**
     * Creates a mysql.user authentication_string for {@code password} with 5000 rounds, as MySQL's
     * {@code CREATE USER ... IDENTIFIED WITH caching_sha2_password BY} would; usable in
     * {@code IDENTIFIED WITH caching_sha2_password AS '...'} and by {@link #verifyCrypt}.
     *
     * @param password the password bytes (normally UTF-8), at most {@link #MAX_PASSWORD_LENGTH}
     * @param salt 20 printable ASCII bytes (0x21..0x7e) other than '$', e.g. from
     *     {@link #newCryptSalt}; MySQL's own salts are any 7-bit bytes but NUL and '$', which are
     *     awkward to paste into SQL or a config file, so this method refuses the unprintable ones
     * @return {@code "$A$005$" + salt + 43 characters}, or {@code ""} for an empty password (what
     *     MySQL stores for an account without password)
     * @throws IllegalArgumentException if the password is too long or the salt is not as above
     */
    public static String createCrypt(byte[] password, byte[] salt) {
        if (password.length > MAX_PASSWORD_LENGTH) {
            throw new IllegalArgumentException("password is " + password.length + " bytes; caching_sha2_password"
                    + " allows at most " + MAX_PASSWORD_LENGTH);
        }
        if (salt.length != SALT_LENGTH) {
            throw new IllegalArgumentException("salt must be " + SALT_LENGTH + " bytes, got " + salt.length);
        }
        for (byte b : salt) {
            if (b < 0x21 || b > 0x7e || b == '$') {
                throw new IllegalArgumentException("salt bytes must be printable ASCII other than '$', got 0x"
                        + Integer.toHexString(b & 0xff));
            }
        }
        if (password.length == 0) {
            return "";
        }
        return DEFAULT_PREFIX + new String(salt, StandardCharsets.ISO_8859_1)
                + Sha256Crypt.encode(Sha256Crypt.digest(password, salt, DEFAULT_ROUNDS));
    }

    /** {@link #createCrypt(byte[], byte[])} with a fresh salt from {@link #newCryptSalt}. */
    public static String createCrypt(byte[] password) {
        return createCrypt(password, newCryptSalt());
    }

    /** Returns 20 random characters of crypt's base64 alphabet ({@code ./0-9A-Za-z}) as ASCII bytes. */
    public static byte[] newCryptSalt() {
        byte[] salt = new byte[SALT_LENGTH];
        for (int i = 0; i < salt.length; i++) {
            salt[i] = (byte) Sha256Crypt.B64.charAt(Nonces.RANDOM.nextInt(Sha256Crypt.B64.length()));
        }
        return salt;
    }

    /** The hash as bytes, checked for length and the "$A$" prefix. */
    private static byte[] cryptBytes(String hash) {
        if (hash.startsWith("$B$")) {
            throw new IllegalArgumentException("caching_sha2_password hash uses digest type B (PBKDF2-SHA512),"
                    + " which is not supported; only type A (SHA-256 crypt)");
        }
        if (!hash.startsWith("$A$") || hash.length() != CRYPT_LENGTH) {
            throw new IllegalArgumentException("caching_sha2_password hash must be '$A$', 3 hex digits, '$', a "
                    + SALT_LENGTH + "-byte salt and " + Sha256Crypt.ENCODED_LENGTH + " characters ("
                    + CRYPT_LENGTH + " in all), got " + hash.length() + " characters");
        }
        for (int i = 0; i < hash.length(); i++) {
            if (hash.charAt(i) > 0x7f) {
                throw new IllegalArgumentException("caching_sha2_password hash has a non-ASCII character at " + i);
            }
        }
        return hash.getBytes(StandardCharsets.ISO_8859_1);
    }

    /**
     * Rounds from the 3-digit field: hexadecimal thousands, as MySQL writes it ({@code %03X} of
     * rounds / 1000 since caching_sha2_password_digest_rounds exists; "005" reads the same in
     * decimal, which older servers used).
     */
    private static int parseRounds(byte[] hash) {
        int thousands = 0;
        for (int i = 3; i < 6; i++) {
            int digit = Character.digit(hash[i], 16);
            if (digit < 0) {
                throw new IllegalArgumentException("caching_sha2_password hash rounds field must be 3 hex digits");
            }
            thousands = thousands * 16 + digit;
        }
        if (thousands == 0 || hash[6] != '$') {
            throw new IllegalArgumentException("caching_sha2_password hash rounds field must be 001..FFF then '$'");
        }
        return thousands * ITERATION_MULTIPLIER;
    }

    /**
     * The part of the stored salt that MySQL's my_crypt_genhash hashes: it skips a leading "$5" and
     * one more byte, then stops at the first '$' or NUL. Salts MySQL generates never hold either, so
     * this matters only for hand-written hashes; its further quirk of reading "rounds=N" inside a
     * salt is not copied.
     */
    private static byte[] effectiveSalt(byte[] salt) {
        int from = salt[0] == '$' && salt[1] == '5' ? 3 : 0;
        int to = from;
        while (to < salt.length && salt[to] != '$' && salt[to] != 0) {
            to++;
        }
        return Arrays.copyOfRange(salt, from, to);
    }
}
