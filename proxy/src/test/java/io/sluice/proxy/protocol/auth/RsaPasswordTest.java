package io.sluice.proxy.protocol.auth;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Cipher;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Keys and the OpenSSL-made ciphertext are under src/test/resources/auth/; its README says how they were made. */
class RsaPasswordTest {

    private static final HexFormat HEX = HexFormat.of();

    private static KeyPair generated;

    @BeforeAll
    static void generateOnce() {
        generated = RsaPassword.generate();
    }

    @Test
    void encryptThenDecrypt() {
        String[] passwords = {"", "p", "19 characters long!", "pässwörd ünïcödé", "x".repeat(213)};
        for (String text : passwords) {
            byte[] password = text.getBytes(UTF_8);
            byte[] nonce = Nonces.newNonce();
            byte[] cipherText = RsaPassword.encrypt(password, nonce, generated.getPublic());
            assertEquals(256, cipherText.length);
            assertArrayEquals(password, RsaPassword.decrypt(cipherText, nonce, generated.getPrivate()), text);
        }
    }

    @Test
    void passwordMustFitOneBlock() {
        byte[] tooLong = "x".repeat(214).getBytes(UTF_8); // 214 + NUL > 256 - 42
        assertThrows(IllegalArgumentException.class,
                () -> RsaPassword.encrypt(tooLong, Nonces.newNonce(), generated.getPublic()));
    }

    @Test
    void plaintextLayoutMatchesMysqlClients() throws Exception {
        // (password + NUL) XOR nonce, from boostorg/mysql's csha2p_encrypt_password unit test
        // (case "password_shorter_scramble"), checked by raw OAEP decryption.
        byte[] nonce = HEX.parseHex("0f644f2f2b3b276b455c5301137e4f1026235d27");
        byte[] cipherText = RsaPassword.encrypt("csha2p_password".getBytes(UTF_8), nonce, generated.getPublic());

        Cipher oaep = Cipher.getInstance("RSA/ECB/OAEPWithSHA-1AndMGF1Padding");
        oaep.init(Cipher.DECRYPT_MODE, generated.getPrivate());
        assertArrayEquals(HEX.parseHex("6c17274e194b781b242f20767c0c2b10"), oaep.doFinal(cipherText));
    }

    @Test
    void decryptsCiphertextMadeByOpenssl() {
        byte[] cipherText = Base64.getMimeDecoder().decode(resource("oaep-sluice-secret.b64"));
        byte[] nonce = HEX.parseHex("3e3b04550470163a4c1535031576732246081801");
        for (String keyFile : new String[] {"rsa-2048-pkcs1.pem", "rsa-2048-pkcs8.pem"}) {
            PrivateKey key = RsaPassword.parsePrivateKeyPem(resource(keyFile));
            assertArrayEquals("sluice-secret".getBytes(UTF_8), RsaPassword.decrypt(cipherText, nonce, key), keyFile);
        }
    }

    @Test
    void pkcs1AndPkcs8FilesGiveTheSameKey() {
        RSAPrivateCrtKey pkcs1 = (RSAPrivateCrtKey) RsaPassword.parsePrivateKeyPem(resource("rsa-2048-pkcs1.pem"));
        RSAPrivateCrtKey pkcs8 = (RSAPrivateCrtKey) RsaPassword.parsePrivateKeyPem(resource("rsa-2048-pkcs8.pem"));
        assertEquals(pkcs8.getModulus(), pkcs1.getModulus());
        assertEquals(pkcs8.getPrivateExponent(), pkcs1.getPrivateExponent());
        assertEquals(pkcs8.getCrtCoefficient(), pkcs1.getCrtCoefficient());
        // The DER wrapper is byte for byte what `openssl pkcs8 -topk8` writes.
        assertArrayEquals(pemDer(resource("rsa-2048-pkcs8.pem")),
                RsaPassword.pkcs1ToPkcs8(pemDer(resource("rsa-2048-pkcs1.pem"))));

        RSAPublicKey publicKey = (RSAPublicKey) RsaPassword.parsePublicKeyPem(resource("rsa-2048-public.pem"));
        assertEquals(pkcs1.getModulus(), publicKey.getModulus());
        byte[] nonce = Nonces.newNonce();
        byte[] password = "pair check".getBytes(UTF_8);
        assertArrayEquals(password, RsaPassword.decrypt(RsaPassword.encrypt(password, nonce, publicKey), nonce, pkcs1));
    }

    @Test
    void publicKeyPemIsWhatOpensslWrites() {
        String opensslPem = resource("rsa-2048-public.pem");
        assertEquals(opensslPem, RsaPassword.publicKeyPem(RsaPassword.parsePublicKeyPem(opensslPem)));
    }

    @Test
    void publicKeyPemRoundTrip() {
        String pem = RsaPassword.publicKeyPem(generated.getPublic());
        assertTrue(pem.startsWith("-----BEGIN PUBLIC KEY-----\n"), pem);
        assertTrue(pem.endsWith("\n-----END PUBLIC KEY-----\n"), pem);
        String[] lines = pem.split("\n");
        for (int i = 1; i < lines.length - 2; i++) {
            assertEquals(64, lines[i].length(), lines[i]);
        }
        PublicKey parsed = RsaPassword.parsePublicKeyPem("text before\r\n" + pem.replace("\n", "\r\n") + "after");
        assertEquals(generated.getPublic(), parsed);
    }

    @Test
    void wrongKeyOrNonce() {
        byte[] nonce = Nonces.newNonce();
        byte[] cipherText = RsaPassword.encrypt("secret".getBytes(UTF_8), nonce, generated.getPublic());
        PrivateKey other = RsaPassword.parsePrivateKeyPem(resource("rsa-2048-pkcs1.pem"));
        assertThrows(IllegalArgumentException.class, () -> RsaPassword.decrypt(cipherText, nonce, other));
        assertThrows(IllegalArgumentException.class,
                () -> RsaPassword.decrypt(Arrays.copyOf(cipherText, 255), nonce, generated.getPrivate()));
        byte[] otherNonce = nonce.clone();
        otherNonce[0] ^= 0x01;
        assertFalse(Arrays.equals("secret".getBytes(UTF_8),
                RsaPassword.decrypt(cipherText, otherNonce, generated.getPrivate())));
    }

    @Test
    void unusablePemsRefused() {
        String pkcs1 = resource("rsa-2048-pkcs1.pem");
        String encrypted = pkcs1.replace("-----BEGIN RSA PRIVATE KEY-----\n",
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n");
        assertThrows(IllegalArgumentException.class, () -> RsaPassword.parsePrivateKeyPem(encrypted));
        assertThrows(IllegalArgumentException.class, () -> RsaPassword.parsePrivateKeyPem(
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n"));
        assertThrows(IllegalArgumentException.class,
                () -> RsaPassword.parsePrivateKeyPem(resource("rsa-2048-public.pem")));
        assertThrows(IllegalArgumentException.class, () -> RsaPassword.parsePublicKeyPem(pkcs1));
        assertThrows(IllegalArgumentException.class, () -> RsaPassword.parsePublicKeyPem(
                "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n"));
        assertThrows(IllegalArgumentException.class, () -> RsaPassword.parsePublicKeyPem(
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"));
    }

    private static String resource(String name) {
        try (InputStream in = RsaPasswordTest.class.getResourceAsStream("/auth/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource /auth/" + name);
            }
            return new String(in.readAllBytes(), US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] pemDer(String pem) {
        String body = pem.replaceAll("-----[A-Z ]+-----", "");
        return Base64.getMimeDecoder().decode(body);
    }
}
