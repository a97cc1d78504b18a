package io.sluice.proxy.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** {@code busy-poll = auto}'s question: has this event loop's thread been kept waiting for a CPU? */
class RunQueueDelayTest {
    private static final long WINDOW = RunQueueDelay.WINDOW_NANOS;

    @Test
    void waitingMoreThanATenthOfAWindowIsContendedAndHoldsOffPolling() {
        RunQueueDelay delay = new RunQueueDelay();
        assertFalse(delay.update(WINDOW, WINDOW / 20), "5% waiting: a CPU was there when needed");
        assertTrue(delay.update(WINDOW, WINDOW / 5), "20% waiting: contended");
        for (int i = 0; i < RunQueueDelay.HOLD_OFF_WINDOWS; i++) {
            assertTrue(delay.update(WINDOW, 0), "window " + i + " after contention still holds off");
        }
        assertFalse(delay.update(WINDOW, 0), "then polling may be tried again");
        assertTrue(delay.update(WINDOW, WINDOW / 2));
        assertTrue(delay.update(WINDOW, 0));
        assertTrue(delay.update(WINDOW, WINDOW / 2), "contention again restarts the hold-off");
        for (int i = 0; i < RunQueueDelay.HOLD_OFF_WINDOWS; i++) {
            assertTrue(delay.update(WINDOW, 0));
        }
        assertFalse(delay.update(WINDOW, 0));
    }

    @Test
    void readsTheRunQueueWaitFromASchedstatLine() {
        ByteBuffer line = ByteBuffer.wrap("778811 2\n".getBytes(StandardCharsets.US_ASCII));
        assertEquals(778811, RunQueueDelay.parseWait(line));
        assertThrows(IllegalStateException.class,
                () -> RunQueueDelay.parseWait(ByteBuffer.wrap("x 2\n".getBytes(StandardCharsets.US_ASCII))));
    }

    /** Twice as many spinning threads as cores: each waits for a CPU about half the time, and sees it. */
    @Test
    void aThreadSharingItsCpuWithSpinnersIsContended() throws Exception {
        assumeTrue(RunQueueDelay.availableHere(), "no /proc/thread-self/schedstat on this platform");
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> spinners = new ArrayList<>();
        for (int i = 0; i < 2 * Runtime.getRuntime().availableProcessors(); i++) {
            Thread t = new Thread(() -> {
                while (!stop.get()) {
                    Thread.onSpinWait();
                }
            });
            t.setDaemon(true);
            t.start();
            spinners.add(t);
        }
        try {
            RunQueueDelay delay = new RunQueueDelay();
            boolean contended = false;
            long end = System.nanoTime() + 20 * WINDOW;
            while (!contended && System.nanoTime() < end) {
                contended = delay.contended();
            }
            assertTrue(delay.reads(), "schedstat could not be read");
            delay.close();
            assertFalse(delay.reads(), "closed, it reads no more");
            assertTrue(contended, "a thread among " + spinners.size() + " spinners on "
                    + Runtime.getRuntime().availableProcessors() + " cores never saw a run-queue wait");
        } finally {
            stop.set(true);
            for (Thread t : spinners) {
                t.join();
            }
        }
    }
}
