package io.sluice.proxy.pool;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LogLimiterTest {
    private static final long S = 1_000_000_000L;

    @Test
    void oneLinePerWindowCarriesTheCountOfTheLinesHeldBack() {
        LogLimiter l = new LogLimiter(Duration.ofSeconds(10));
        assertEquals(0, l.admit(0), "the first line gets through");
        for (int i = 1; i <= 64; i++) {
            assertEquals(-1, l.admit(i * S / 10), "held back within the window");
        }
        int held = l.admit(10 * S);
        assertEquals(64, held);
        assertEquals(" (and 64 more in the last 10 s)", l.suffix(held));
        assertEquals("", l.suffix(0));
        assertEquals(-1, l.admit(11 * S));
        assertEquals(1, l.drain());
        assertEquals(0, l.admit(12 * S), "after a drain the next line gets through at once");
    }
}
