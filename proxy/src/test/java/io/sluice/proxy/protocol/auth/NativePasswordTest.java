package io.sluice.proxy.protocol.auth;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class NativePasswordTest {

    private static final HexFormat HEX = HexFormat.of();

    @Test
    void publishedServerHashOfPassword() {
        // MySQL 5.7: SELECT PASSWORD('password') = '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'.
        byte[] stage2 = NativePassword.hashStage2("password".getBytes(UTF_8));
        assertEquals("*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19", NativePassword.toServerHash(stage2));
        assertArrayEquals(stage2, NativePassword.parseServerHash("*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"));
        assertArrayEquals(stage2, NativePassword.parseServerHash("*2470c0c06dee42fd1618bb99005adca2ec9d1e19"));
    }

    @Test
    void capturedWireVector() {
        // Nonce and response captured with Wireshark, password "root": boostorg/mysql,
        // test/unit/detail/auth/auth_calculator.cpp (mysql_native_password fixture).
        byte[] nonce = HEX.parseHex("79643d121d7174475f483e3e0b620a033d273a4c");
        byte[] expected = HEX.parseHex("f1b2fb1c8de75db8eba8126ad10fe9b11050d428");
        byte[] password = "root".getBytes(UTF_8);

        assertArrayEquals(expected, NativePassword.scramble(password, nonce));
        assertTrue(NativePassword.verify(expected, nonce, NativePassword.hashStage2(password)));
    }

    @Test
    void theCapturedResponseAndTheStoredHashGiveWhatLogsInToTheServer() {
        // The same capture, checked against only the server's stored hash of "root" (as mysql.user
        // shows it): the stage-1 hash recovered from the response scrambles any later server nonce
        // exactly as the clear password would.
        byte[] nonce = HEX.parseHex("79643d121d7174475f483e3e0b620a033d273a4c");
        byte[] response = HEX.parseHex("f1b2fb1c8de75db8eba8126ad10fe9b11050d428");
        byte[] stage2 = NativePassword.parseServerHash("*81F5E21E35407D884A6CD4A731AEBFB6AF209E1B");
        assertArrayEquals(NativePassword.hashStage2("root".getBytes(UTF_8)), stage2);

        byte[] stage1 = NativePassword.recoverStage1(response, nonce, stage2);
        assertArrayEquals(HEX.parseHex("dc76e9f0c0006e8f919e0c515c66dbba3982f785"), stage1); // SHA1("root")
        assertArrayEquals(NativePassword.hashStage1("root".getBytes(UTF_8)), stage1);
        assertArrayEquals(response, NativePassword.scrambleFromStage1(stage1, nonce));
        for (int i = 0; i < 10; i++) {
            byte[] backendNonce = Nonces.newNonce();
            assertArrayEquals(NativePassword.scramble("root".getBytes(UTF_8), backendNonce),
                    NativePassword.scrambleFromStage1(stage1, backendNonce));
        }
        response[0] ^= 1;
        assertEquals(null, NativePassword.recoverStage1(response, nonce, stage2));
        assertEquals(null, NativePassword.recoverStage1(new byte[0], nonce, stage2));
        assertEquals(null, NativePassword.recoverStage1(new byte[0], nonce, new byte[0]));
    }

    @Test
    void scrambleThenVerifyWithRandomNonces() {
        String[] passwords = {"p", "password", "pässwörd ünïcödé", "x".repeat(300), "with\0nul"};
        for (String text : passwords) {
            byte[] password = text.getBytes(UTF_8);
            byte[] stage2 = NativePassword.hashStage2(password);
            for (int i = 0; i < 20; i++) {
                byte[] nonce = Nonces.newNonce();
                byte[] response = NativePassword.scramble(password, nonce);
                assertEquals(NativePassword.SCRAMBLE_LENGTH, response.length);
                assertTrue(NativePassword.verify(response, nonce, stage2), text);
            }
        }
    }

    @Test
    void wrongPasswordNonceOrResponseRejected() {
        byte[] stage2 = NativePassword.hashStage2("secret".getBytes(UTF_8));
        byte[] nonce = Nonces.newNonce();
        byte[] good = NativePassword.scramble("secret".getBytes(UTF_8), nonce);

        assertFalse(NativePassword.verify(NativePassword.scramble("Secret".getBytes(UTF_8), nonce), nonce, stage2));
        assertFalse(NativePassword.verify(good, Nonces.newNonce(), stage2));
        for (int i = 0; i < good.length; i++) {
            byte[] tampered = good.clone();
            tampered[i] ^= 0x01;
            assertFalse(NativePassword.verify(tampered, nonce, stage2));
        }
        assertFalse(NativePassword.verify(new byte[19], nonce, stage2));
        assertFalse(NativePassword.verify(new byte[21], nonce, stage2));
        assertFalse(NativePassword.verify(new byte[] {0}, nonce, stage2));
    }

    @Test
    void emptyPasswordIsTheEmptyArray() {
        byte[] nonce = Nonces.newNonce();
        byte[] empty = new byte[0];
        assertArrayEquals(empty, NativePassword.scramble(empty, nonce));
        assertArrayEquals(empty, NativePassword.hashStage2(empty));
        assertEquals("", NativePassword.toServerHash(empty));
        assertArrayEquals(empty, NativePassword.parseServerHash(""));

        assertTrue(NativePassword.verify(empty, nonce, empty));
        // An account without password refuses a client that sends one, and vice versa.
        assertFalse(NativePassword.verify(NativePassword.scramble("x".getBytes(UTF_8), nonce), nonce, empty));
        assertFalse(NativePassword.verify(empty, nonce, NativePassword.hashStage2("x".getBytes(UTF_8))));
    }

    @Test
    void nullStage2IsAnErrorNotNoPassword() {
        assertThrows(NullPointerException.class, () -> NativePassword.verify(new byte[0], Nonces.newNonce(), null));
    }

    @Test
    void malformedServerHashesRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> NativePassword.parseServerHash("2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"));
        assertThrows(IllegalArgumentException.class,
                () -> NativePassword.parseServerHash("*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E1"));
        assertThrows(IllegalArgumentException.class,
                () -> NativePassword.parseServerHash("*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E1G"));
        assertThrows(IllegalArgumentException.class, () -> NativePassword.toServerHash(new byte[19]));
        assertThrows(IllegalArgumentException.class,
                () -> NativePassword.verify(new byte[20], Nonces.newNonce(), new byte[32]));
    }
}
