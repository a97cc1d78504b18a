package io.sluice.proxy.transport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Whether the thread that calls it has lately been kept waiting for a CPU, from Linux's scheduler
 * statistics for that thread ({@code /proc/thread-self/schedstat}: nanoseconds on a CPU,
 * nanoseconds runnable but waiting on a run queue, times it got a CPU). One instance per thread,
 * used only by that thread.
 *
 * <p>This is what {@code sluice.listen.busy-poll = auto} asks before each poll. Measured on 2 shared
 * cores: an event loop serving one sysbench thread waited 1–2% of the time; at 8 or 32 threads, with
 * the server using every core, 50–70%. A thread that polls is always runnable, so when others need its
 * CPU the scheduler makes it wait, and the next window shows it.
 *
 * <p>Cost: one {@code pread} of a file kept open, every {@link #WINDOW_NANOS}; no allocation.
 */
public final class RunQueueDelay {
    static final Path SCHEDSTAT = Path.of("/proc/thread-self/schedstat");
    /** How often the statistics are read. */
    static final long WINDOW_NANOS = 50_000_000L;
    /** Waiting this share of a window (10%) counts as contended. */
    static final int CONTENDED_SHARE_DIVISOR = 10;
    /** After a contended window, this many more windows count as contended before polling is tried again. */
    static final int HOLD_OFF_WINDOWS = 4;

    private final ByteBuffer buf = ByteBuffer.allocateDirect(128);
    private FileChannel file;
    private boolean broken;
    private long windowStart = System.nanoTime();
    private long lastWait = -1;
    private int holdOff;
    private boolean contended;

    /** Whether this platform has the statistics; without them {@link #contended()} is always true. */
    public static boolean availableHere() {
        return Files.isReadable(SCHEDSTAT);
    }

    /**
     * True when the thread waited for a CPU in the last window or in one of the {@link #HOLD_OFF_WINDOWS}
     * before it, and when the statistics cannot be read.
     */
    boolean contended() {
        long now = System.nanoTime();
        long wall = now - windowStart;
        if (wall < WINDOW_NANOS) {
            return contended;
        }
        windowStart = now;
        long wait = readWaitNanos();
        if (wait < 0) {
            return contended = true;
        }
        if (lastWait >= 0) {
            contended = update(wall, wait - lastWait);
        }
        lastWait = wait;
        return contended;
    }

    /** Closes the statistics file; the loop that owned this is ending. */
    void close() {
        broken = true;
        if (file != null) {
            try {
                file.close();
            } catch (IOException ignored) {
                // a read-only procfs file: nothing was written that closing could lose
            }
            file = null;
        }
    }

    /** Whether the statistics have been read at least once and never failed. */
    boolean reads() {
        return !broken && lastWait >= 0;
    }

    /** The decision for one window: {@code waited} of {@code wall} nanoseconds spent on a run queue. */
    boolean update(long wall, long waited) {
        if (waited > wall / CONTENDED_SHARE_DIVISOR) {
            holdOff = HOLD_OFF_WINDOWS;
            return true;
        }
        if (holdOff > 0) {
            holdOff--;
            return true;
        }
        return false;
    }

    /** The second field of schedstat, or -1 when it cannot be read. */
    private long readWaitNanos() {
        if (broken) {
            return -1;
        }
        try {
            if (file == null) {
                file = FileChannel.open(SCHEDSTAT, StandardOpenOption.READ); // thread-self: this thread's
            }
            buf.clear();
            file.read(buf, 0);
            buf.flip();
            skipNumber();
            return parseWait(buf);
        } catch (IOException | RuntimeException e) {
            broken = true;
            return -1;
        }
    }

    private void skipNumber() {
        while (buf.hasRemaining() && buf.get() != ' ') {
            // the time on a CPU
        }
    }

    /** The decimal number at {@code buf}'s position; throws when there is none. */
    static long parseWait(ByteBuffer buf) {
        long value = 0;
        int digits = 0;
        while (buf.hasRemaining()) {
            byte b = buf.get();
            if (b < '0' || b > '9') {
                break;
            }
            value = value * 10 + (b - '0');
            digits++;
        }
        if (digits == 0) {
            throw new IllegalStateException("schedstat: no run-queue wait");
        }
        return value;
    }
}
