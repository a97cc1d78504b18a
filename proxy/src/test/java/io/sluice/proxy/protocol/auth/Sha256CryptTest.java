package io.sluice.proxy.protocol.auth;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The SHA-256 test vectors of Drepper's SHA-crypt spec (akkadia.org/drepper/SHA-crypt.txt), each also
 * reproduced with {@code openssl passwd -5 -salt '<setting after $5$>' '<key>'} (OpenSSL 3.0).
 * They cover the default and custom rounds, salts cut at 16 characters, rounds clamped to 1000 and
 * keys longer than one digest.
 */
class Sha256CryptTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
        $5$saltstring                          | Hello world!                          | $5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5
        $5$rounds=10000$saltstringsaltstring   | Hello world!                          | $5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA
        $5$rounds=5000$toolongsaltstring       | This is just a test                   | $5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5
        $5$rounds=1400$anotherlongsaltstring   | a very much longer text to encrypt.  This one even stretches over morethan one line. | $5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1
        $5$rounds=77777$short                  | we have a short salt string but not a short password | $5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/
        $5$rounds=123456$asaltof16chars..      | a short string                        | $5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD
        $5$rounds=10$roundstoolow              | the minimum number is still observed  | $5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC
        """)
    void drepperSpecVectors(String setting, String key, String expected) {
        assertEquals(expected, Sha256Crypt.crypt(key.getBytes(UTF_8), setting));
    }

    @Test
    void settingWithFullHashReproducesIt() {
        String hash = "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5";
        assertEquals(hash, Sha256Crypt.crypt("Hello world!".getBytes(UTF_8), hash));
    }

    @Test
    void malformedSettingsRefused() {
        byte[] key = "k".getBytes(UTF_8);
        assertThrows(IllegalArgumentException.class, () -> Sha256Crypt.crypt(key, "$6$saltstring"));
        assertThrows(IllegalArgumentException.class, () -> Sha256Crypt.crypt(key, "$5$rounds=abc$salt"));
        assertThrows(IllegalArgumentException.class, () -> Sha256Crypt.crypt(key, "$5$rounds=5000"));
    }
}
