package io.sluice.proxy.protocol.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * SHA-256 crypt, the "$5$" scheme of Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512"
 * (akkadia.org/drepper/SHA-crypt.txt); step numbers below are the spec's. MySQL's
 * {@code my_crypt_genhash} (mysys/crypt_genhash_impl.cc) is this routine with a 20-byte instead of a
 * 16-byte salt limit, which is why {@link #digest} takes the salt as given and leaves truncation to
 * its callers: {@link #crypt} for the standard format, {@link CachingSha2Password} for MySQL's.
 */
final class Sha256Crypt {

    static final int ROUNDS_DEFAULT = 5000;
    static final int ROUNDS_MIN = 1000;
    static final int ROUNDS_MAX = 999_999_999;
    /** Salt limit of the standard "$5$" format; longer salts are silently truncated. */
    static final int STANDARD_SALT_MAX = 16;
    /** Length of {@link #encode}'s output for a 32-byte digest. */
    static final int ENCODED_LENGTH = 43;

    /** crypt's base64 alphabet; not RFC 4648's, and least significant 6 bits first. */
    static final String B64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    private static final String MAGIC = "$5$";
    private static final String ROUNDS_PREFIX = "rounds=";

    private Sha256Crypt() {
    }

    /**
     * Steps 1-21: the final 32-byte digest C for {@code key}, {@code salt} (used whole) and
     * {@code rounds}. Cost grows with key length squared (step 14) and linearly with rounds.
     */
    static byte[] digest(byte[] key, byte[] salt, int rounds) {
        MessageDigest md = Digests.sha256();
        // 4-8. Alternate digest B = SHA256(key + salt + key).
        md.update(key);
        md.update(salt);
        md.update(key);
        byte[] b = md.digest();
        // 1-3. Digest A starts with key + salt.
        md.update(key);
        md.update(salt);
        // 9-10. B once per 32 bytes of key, then the first (key length mod 32) bytes of B.
        int n = key.length;
        for (; n > 32; n -= 32) {
            md.update(b, 0, 32);
        }
        md.update(b, 0, n);
        // 11. For each bit of the key length, lowest first: 1 adds B, 0 adds the key.
        for (n = key.length; n > 0; n >>>= 1) {
            md.update((n & 1) != 0 ? b : key);
        }
        // 12.
        byte[] a = md.digest();
        // 13-15. DP = SHA256(key repeated key-length times).
        for (int i = 0; i < key.length; i++) {
            md.update(key);
        }
        // 16. P = DP repeated to the key's length.
        byte[] p = repeat(md.digest(), key.length);
        // 17-19. DS = SHA256(salt repeated 16 + A[0] times).
        int saltRepeats = 16 + (a[0] & 0xff);
        for (int i = 0; i < saltRepeats; i++) {
            md.update(salt);
        }
        // 20. S = DS repeated to the salt's length.
        byte[] s = repeat(md.digest(), salt.length);
        // 21. The rounds; C starts as A.
        byte[] c = a;
        for (int i = 0; i < rounds; i++) {
            md.update((i & 1) != 0 ? p : c);
            if (i % 3 != 0) {
                md.update(s);
            }
            if (i % 7 != 0) {
                md.update(p);
            }
            md.update((i & 1) != 0 ? c : p);
            c = md.digest();
        }
        return c;
    }

    /** Step 22 e: the 43-character crypt-base64 form of a 32-byte digest, in the spec's byte order. */
    static String encode(byte[] c) {
        StringBuilder out = new StringBuilder(ENCODED_LENGTH);
        b64From24Bit(out, c[0], c[10], c[20], 4);
        b64From24Bit(out, c[21], c[1], c[11], 4);
        b64From24Bit(out, c[12], c[22], c[2], 4);
        b64From24Bit(out, c[3], c[13], c[23], 4);
        b64From24Bit(out, c[24], c[4], c[14], 4);
        b64From24Bit(out, c[15], c[25], c[5], 4);
        b64From24Bit(out, c[6], c[16], c[26], 4);
        b64From24Bit(out, c[27], c[7], c[17], 4);
        b64From24Bit(out, c[18], c[28], c[8], 4);
        b64From24Bit(out, c[9], c[19], c[29], 4);
        b64From24Bit(out, (byte) 0, c[31], c[30], 3);
        return out.toString();
    }

    /**
     * The standard crypt(3) front end: {@code setting} is {@code "$5$[rounds=N$]salt[$...]"}; the
     * salt ends at '$' or after 16 characters, rounds are clamped to 1000..999999999 and echoed only
     * when given. Returns the full {@code "$5$..."} string. Used to prove {@link #digest} and
     * {@link #encode} against the spec's published vectors.
     *
     * @throws IllegalArgumentException if {@code setting} does not start with "$5$" or its rounds
     *     field is not a decimal number followed by '$'
     */
    static String crypt(byte[] key, String setting) {
        if (!setting.startsWith(MAGIC)) {
            throw new IllegalArgumentException("setting must start with " + MAGIC);
        }
        String rest = setting.substring(MAGIC.length());
        int rounds = ROUNDS_DEFAULT;
        boolean customRounds = false;
        if (rest.startsWith(ROUNDS_PREFIX)) {
            int end = rest.indexOf('$');
            long requested;
            try {
                if (end < 0) {
                    throw new NumberFormatException("no '$' after rounds=");
                }
                requested = Long.parseLong(rest, ROUNDS_PREFIX.length(), end, 10);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("rounds= must be a decimal number followed by '$'", e);
            }
            rounds = (int) Math.max(ROUNDS_MIN, Math.min(requested, ROUNDS_MAX));
            customRounds = true;
            rest = rest.substring(end + 1);
        }
        int saltEnd = rest.indexOf('$');
        String salt = rest.substring(0, Math.min(saltEnd < 0 ? rest.length() : saltEnd, STANDARD_SALT_MAX));
        byte[] c = digest(key, salt.getBytes(StandardCharsets.ISO_8859_1), rounds);
        return MAGIC + (customRounds ? ROUNDS_PREFIX + rounds + "$" : "") + salt + "$" + encode(c);
    }

    private static byte[] repeat(byte[] digest, int length) {
        byte[] out = new byte[length];
        for (int i = 0; i < length; i++) {
            out[i] = digest[i % digest.length];
        }
        return out;
    }

    private static void b64From24Bit(StringBuilder out, byte b2, byte b1, byte b0, int chars) {
        int w = ((b2 & 0xff) << 16) | ((b1 & 0xff) << 8) | (b0 & 0xff);
        for (int i = 0; i < chars; i++) {
            out.append(B64.charAt(w & 0x3f));
            w >>>= 6;
        }
    }
}
