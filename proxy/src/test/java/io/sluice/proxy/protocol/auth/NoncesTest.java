package io.sluice.proxy.protocol.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.BitSet;
import org.junit.jupiter.api.Test;

class NoncesTest {

    @Test
    void nonceBytesAreMysqlsSet() {
        BitSet seen = new BitSet(256);
        for (int n = 0; n < 2000; n++) {
            byte[] nonce = Nonces.newNonce();
            assertEquals(Nonces.NONCE_LENGTH, nonce.length);
            for (byte b : nonce) {
                assertTrue(b >= 1 && b <= 127, "byte " + b); // 7-bit, never NUL (byte is signed)
                assertNotEquals('$', b);
                seen.set(b & 0xff);
            }
        }
        assertEquals(126, seen.cardinality(), "40000 draws should reach every allowed byte: " + seen);
    }

    @Test
    void noncesDiffer() {
        assertFalse(Arrays.equals(Nonces.newNonce(), Nonces.newNonce()));
    }
}
