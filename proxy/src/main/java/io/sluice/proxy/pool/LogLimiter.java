package io.sluice.proxy.pool;

/**
 * Lets one log line of a kind through per window and counts the ones held back in between, so an
 * outage that fails every backend open (dozens a second) logs a line per window that says how many
 * it stands for ("... (and 64 more in the last 10 s)"). The counter metrics count every event; this
 * only keeps the log readable.
 *
 * <p>Thread-safe (synchronized); called under the pools' lock, never on a hot path.
 */
final class LogLimiter {
    private final long windowNanos;
    /** When the last line got through; valid when {@link #logged} is true. */
    private long lastNanos;
    private boolean logged;
    private int held;

    LogLimiter(java.time.Duration window) {
        this.windowNanos = window.toNanos();
    }

    /**
     * Whether a line at {@code nowNanos} gets through: -1 when it is held back (and counted), else
     * the number of lines held back since the last one that got through (the counter restarts).
     */
    synchronized int admit(long nowNanos) {
        if (logged && nowNanos - lastNanos < windowNanos) {
            held++;
            return -1;
        }
        int n = held;
        held = 0;
        logged = true;
        lastNanos = nowNanos;
        return n;
    }

    /** The lines held back since the last one that got through, and forgets them (for a closing summary line). */
    synchronized int drain() {
        int n = held;
        held = 0;
        logged = false;
        return n;
    }

    /** " (and N more in the last W s)" for a count from {@link #admit}, or "" for none. */
    String suffix(int heldBack) {
        return heldBack <= 0 ? "" : " (and " + heldBack + " more in the last " + windowNanos / 1_000_000_000L + " s)";
    }
}
