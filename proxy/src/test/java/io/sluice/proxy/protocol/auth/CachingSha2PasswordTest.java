package io.sluice.proxy.protocol.auth;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class CachingSha2PasswordTest {

    private static final HexFormat HEX = HexFormat.of();

    /**
     * A real MySQL authentication_string for "foobar" (its salt has the control characters MySQL's
     * generate_user_salt produces), from pingcap/tidb, pkg/parser/auth/caching_sha2_test.go, as hex.
     */
    private static final String FOOBAR_HASH = new String(HEX.parseHex(
            "24412430303524031A69251C34295C4B35167C7F1E5A7B63091349503974624D34504B5A424679354856336868686F"
                    + "52485A736E4A733368786E427575516C73446469496537"), ISO_8859_1);

    /** Placeholder of MySQL's locked system accounts (scripts/mysql_system_users.sql): well-formed, matches nothing. */
    private static final String SYSTEM_ACCOUNT_HASH =
            "$A$005$THISISACOMBINATIONOFINVALIDSALTANDPASSWORDTHATMUSTNEVERBRBEUSED";

    @Test
    void mysqlUnitTestScrambleVector() {
        // MySQL's own unittest/gunit/sha2_password-t.cc (GenerateScramble, ValidateScramble); its nonce is 12 bytes.
        byte[] password = "Ab12#$Cd56&*".getBytes(UTF_8);
        byte[] nonce = "eF!@34gH%^78".getBytes(UTF_8);
        byte[] expected = HEX.parseHex("6a4537966b296359248d64860ad6cc2a06478c26eaaa3b02694c8502f55bc8dc");

        assertArrayEquals(expected, CachingSha2Password.scramble(password, nonce));
        assertTrue(CachingSha2Password.verifyFast(expected, nonce, CachingSha2Password.stage2(password)));
    }

    @Test
    void capturedWireVector() {
        // Captured from MySQL Connector/Python, password "hola": boostorg/mysql,
        // test/unit/detail/auth/auth_calculator.cpp (caching_sha2_password fixture).
        byte[] nonce = HEX.parseHex("3e3b04550470163a4c1535031576732246081801");
        byte[] expected = HEX.parseHex("a1c1e1e91bb6544ba7374b9c566d693e06ca070298acd10618c690389d88e120");
        byte[] password = "hola".getBytes(UTF_8);

        assertArrayEquals(expected, CachingSha2Password.scramble(password, nonce));
        assertTrue(CachingSha2Password.verifyFast(expected, nonce, CachingSha2Password.stage2(password)));
    }

    @Test
    void scrambleThenVerifyFastWithRandomNonces() {
        String[] passwords = {"p", "password", "pässwörd ünïcödé", "x".repeat(300)};
        for (String text : passwords) {
            byte[] password = text.getBytes(UTF_8);
            byte[] stage2 = CachingSha2Password.stage2(password);
            for (int i = 0; i < 20; i++) {
                byte[] nonce = Nonces.newNonce();
                byte[] response = CachingSha2Password.scramble(password, nonce);
                assertEquals(CachingSha2Password.SCRAMBLE_LENGTH, response.length);
                assertTrue(CachingSha2Password.verifyFast(response, nonce, stage2), text);
            }
        }
    }

    @Test
    void wrongPasswordNonceOrResponseRejected() {
        byte[] stage2 = CachingSha2Password.stage2("secret".getBytes(UTF_8));
        byte[] nonce = Nonces.newNonce();
        byte[] good = CachingSha2Password.scramble("secret".getBytes(UTF_8), nonce);

        assertFalse(CachingSha2Password.verifyFast(
                CachingSha2Password.scramble("secreT".getBytes(UTF_8), nonce), nonce, stage2));
        assertFalse(CachingSha2Password.verifyFast(good, Nonces.newNonce(), stage2));
        for (int i = 0; i < good.length; i++) {
            byte[] tampered = good.clone();
            tampered[i] ^= (byte) 0x80;
            assertFalse(CachingSha2Password.verifyFast(tampered, nonce, stage2));
        }
        // A mysql_native_password-sized response is not a caching_sha2_password one.
        assertFalse(CachingSha2Password.verifyFast(new byte[20], nonce, stage2));
    }

    @Test
    void emptyPasswordFastPath() {
        byte[] nonce = Nonces.newNonce();
        byte[] empty = new byte[0];
        assertArrayEquals(empty, CachingSha2Password.scramble(empty, nonce));
        assertArrayEquals(empty, CachingSha2Password.stage2(empty));

        assertTrue(CachingSha2Password.verifyFast(empty, nonce, empty));
        assertTrue(CachingSha2Password.verifyFast(new byte[] {0}, nonce, empty)); // libmysqlclient's form
        assertFalse(CachingSha2Password.verifyFast(new byte[] {0}, nonce, CachingSha2Password.stage2(new byte[] {1})));
        assertFalse(CachingSha2Password.verifyFast(
                CachingSha2Password.scramble("x".getBytes(UTF_8), nonce), nonce, empty));
        assertThrows(NullPointerException.class, () -> CachingSha2Password.verifyFast(empty, nonce, null));
    }

    @Test
    void realMysqlHashVerifies() {
        assertTrue(CachingSha2Password.verifyCrypt("foobar".getBytes(UTF_8), FOOBAR_HASH));
        assertFalse(CachingSha2Password.verifyCrypt("not_foobar".getBytes(UTF_8), FOOBAR_HASH));
        assertFalse(CachingSha2Password.verifyCrypt("Foobar".getBytes(UTF_8), FOOBAR_HASH));
        assertFalse(CachingSha2Password.verifyCrypt(new byte[0], FOOBAR_HASH));
    }

    @Test
    void systemAccountPlaceholderMatchesNothing() {
        assertFalse(CachingSha2Password.verifyCrypt("".getBytes(UTF_8), SYSTEM_ACCOUNT_HASH));
        assertFalse(CachingSha2Password.verifyCrypt("password".getBytes(UTF_8), SYSTEM_ACCOUNT_HASH));
    }

    @Test
    void createCryptThenVerifyCrypt() {
        byte[] salt = "abcdefghij0123456789".getBytes(ISO_8859_1);
        byte[] password = "s3cret pässword".getBytes(UTF_8);
        String hash = CachingSha2Password.createCrypt(password, salt);

        assertEquals(70, hash.length());
        assertTrue(hash.startsWith("$A$005$abcdefghij0123456789"), hash);
        assertTrue(hash.substring(27).chars().allMatch(c -> Sha256Crypt.B64.indexOf(c) >= 0), hash);
        assertEquals(hash, CachingSha2Password.createCrypt(password, salt)); // deterministic for a salt
        assertTrue(CachingSha2Password.verifyCrypt(password, hash));
        assertFalse(CachingSha2Password.verifyCrypt("s3cret password".getBytes(UTF_8), hash));

        String random = CachingSha2Password.createCrypt(password);
        assertTrue(CachingSha2Password.verifyCrypt(password, random));
        assertFalse(random.equals(CachingSha2Password.createCrypt(password))); // fresh salt each time
    }

    @Test
    void newCryptSaltIsPrintableCryptBase64() {
        for (int i = 0; i < 100; i++) {
            byte[] salt = CachingSha2Password.newCryptSalt();
            assertEquals(20, salt.length);
            for (byte b : salt) {
                assertTrue(Sha256Crypt.B64.indexOf(b) >= 0, "byte 0x" + Integer.toHexString(b & 0xff));
            }
        }
    }

    @Test
    void emptyAndOverlongPasswords() {
        byte[] salt = CachingSha2Password.newCryptSalt();
        assertEquals("", CachingSha2Password.createCrypt(new byte[0], salt));
        assertTrue(CachingSha2Password.verifyCrypt(new byte[0], ""));
        assertFalse(CachingSha2Password.verifyCrypt("x".getBytes(UTF_8), ""));

        byte[] max = new byte[CachingSha2Password.MAX_PASSWORD_LENGTH];
        Arrays.fill(max, (byte) 'a');
        assertTrue(CachingSha2Password.verifyCrypt(max, CachingSha2Password.createCrypt(max, salt)));
        byte[] tooLong = Arrays.copyOf(max, max.length + 1);
        tooLong[max.length] = 'a';
        assertThrows(IllegalArgumentException.class, () -> CachingSha2Password.createCrypt(tooLong, salt));
        assertFalse(CachingSha2Password.verifyCrypt(tooLong, FOOBAR_HASH));
    }

    @Test
    void unprintableOrShortSaltsRefused() {
        byte[] password = "p".getBytes(UTF_8);
        for (byte bad : new byte[] {'$', 0, ' ', 0x7f, (byte) 0x80, '\n'}) {
            byte[] salt = "abcdefghij0123456789".getBytes(ISO_8859_1);
            salt[7] = bad;
            assertThrows(IllegalArgumentException.class, () -> CachingSha2Password.createCrypt(password, salt));
        }
        assertThrows(IllegalArgumentException.class,
                () -> CachingSha2Password.createCrypt(password, "abcdefghij012345678".getBytes(ISO_8859_1)));
    }

    @Test
    void roundsFieldIsHexThousands() {
        // MySQL writes rounds / 1000 as %03X: "010" is 16000 rounds, "00a" 10000.
        byte[] password = "p".getBytes(UTF_8);
        byte[] salt = "abcdefghij0123456789".getBytes(ISO_8859_1);
        String hex10 = "$A$010$abcdefghij0123456789" + Sha256Crypt.encode(Sha256Crypt.digest(password, salt, 16_000));
        assertTrue(CachingSha2Password.verifyCrypt(password, hex10));
        String hexA = "$A$00a$abcdefghij0123456789" + Sha256Crypt.encode(Sha256Crypt.digest(password, salt, 10_000));
        assertTrue(CachingSha2Password.verifyCrypt(password, hexA));
    }

    @Test
    void saltIsHashedUpToDollarLikeMysql() {
        // my_crypt_genhash hashes the salt only up to its first '$'; MySQL never generates one.
        byte[] password = "p".getBytes(UTF_8);
        String salt = "0123456789abcdefghi$";
        String hash = "$A$005$" + salt
                + Sha256Crypt.encode(Sha256Crypt.digest(password, "0123456789abcdefghi".getBytes(ISO_8859_1), 5000));
        assertTrue(CachingSha2Password.verifyCrypt(password, hash));
    }

    @Test
    void malformedHashesRefused() {
        byte[] p = "foobar".getBytes(UTF_8);
        // From pingcap/tidb's tests: digest type B, rounds "00G", and too short.
        assertThrows(IllegalArgumentException.class,
                () -> CachingSha2Password.verifyCrypt(p, "$B$" + FOOBAR_HASH.substring(3)));
        assertThrows(IllegalArgumentException.class,
                () -> CachingSha2Password.verifyCrypt(p, "$A$00G" + FOOBAR_HASH.substring(6)));
        assertThrows(IllegalArgumentException.class, () -> CachingSha2Password.verifyCrypt(p, "aaaaaaaa"));
        assertThrows(IllegalArgumentException.class,
                () -> CachingSha2Password.verifyCrypt(p, "$A$000" + FOOBAR_HASH.substring(6)));
        assertThrows(IllegalArgumentException.class,
                () -> CachingSha2Password.verifyCrypt(p, "$A$0055" + FOOBAR_HASH.substring(7)));
        assertThrows(IllegalArgumentException.class,
                () -> CachingSha2Password.verifyCrypt(p, FOOBAR_HASH.substring(0, 69)));
        assertThrows(IllegalArgumentException.class,
                () -> CachingSha2Password.verifyCrypt(p, "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"));
        assertThrows(IllegalArgumentException.class,
                () -> CachingSha2Password.verifyCrypt(p, FOOBAR_HASH.substring(0, 69) + "\u20ac"));
    }

    @Test
    void authMoreDataStatusBytes() {
        assertEquals(0x02, CachingSha2Password.REQUEST_PUBLIC_KEY);
        assertEquals(0x03, CachingSha2Password.FAST_AUTH_SUCCESS);
        assertEquals(0x04, CachingSha2Password.PERFORM_FULL_AUTHENTICATION);
    }
}
