package io.sluice.proxy.session;

/**
 * A session's watchdog clock and verdicts, in one place: leak detection (idle in a transaction, or
 * idle while pinned), sluice.frontend.idle-in-transaction-timeout, max-query-time (the KILL QUERY
 * is sent once per statement) and max-transaction-time. The session tells it when commands arrive
 * and responses end; {@link LeakDetector}'s once-a-second pass asks the cheap questions from its own
 * thread, and the session acts on the verdicts on its loop (logging, ERR, KILL QUERY).
 *
 * <p>Threading: written only on the session's client event loop; every field is volatile because
 * the detector's pass and the admin snapshot read them from other threads.
 */
final class Watchdogs {
    /** No transaction open: the value of {@link #transactionStartNanos} then. */
    static final long NO_TRANSACTION = Long.MIN_VALUE;

    /** What an idle session has earned ({@link #idleVerdict}). */
    enum IdleVerdict {
        NONE,
        /** Idle in a transaction past the idle-in-transaction timeout: ERR 9410 and close. */
        CLOSE,
        /** Idle past leak-warning-after, first time this idle stretch: log once and count. */
        WARN
    }

    /** When the last command arrived or its response ended (System.nanoTime): the start of an idle stretch. */
    private volatile long idleSinceNanos = System.nanoTime();
    /**
     * When the command began that opened the transaction this session is in, by the server's
     * SERVER_STATUS_IN_TRANS at the end of each response (both pool modes); {@link #NO_TRANSACTION} when none.
     */
    private volatile long transactionStartNanos = NO_TRANSACTION;
    /** The current idle stretch was reported as a likely leak: logged and counted once. */
    private volatile boolean leakReported;
    /** The command start of the statement a KILL QUERY was sent for (so it is sent once). */
    private volatile long stoppedCommandStart = Long.MIN_VALUE;

    /** A command arrived: the idle stretch ends. Returns whether it had been reported (the session logs "active again"). */
    boolean commandArrived() {
        idleSinceNanos = System.nanoTime();
        if (leakReported) {
            leakReported = false;
            return true;
        }
        return false;
    }

    /**
     * A response ended with nothing else outstanding: an idle stretch starts now, in a transaction
     * or not by the server's word ({@code inTransaction}); a new transaction dates from {@code commandStartNanos}.
     */
    void responseComplete(boolean inTransaction, long commandStartNanos) {
        idleSinceNanos = System.nanoTime();
        if (!inTransaction) {
            transactionStartNanos = NO_TRANSACTION;
        } else if (transactionStartNanos == NO_TRANSACTION) {
            transactionStartNanos = commandStartNanos;
        }
    }

    /** COM_RESET_CONNECTION, COM_CHANGE_USER: no transaction any more. */
    void forgetTransaction() {
        transactionStartNanos = NO_TRANSACTION;
    }

    boolean inTransaction() {
        return transactionStartNanos != NO_TRANSACTION;
    }

    /** Nanoseconds since the open transaction began, or -1 when none. */
    long transactionNanos() {
        long start = transactionStartNanos;
        return start == NO_TRANSACTION ? -1 : System.nanoTime() - start;
    }

    /** Nanoseconds since the idle stretch began (meaningful only while the session is idle). */
    long idleNanos(long now) {
        return now - idleSinceNanos;
    }

    /**
     * Whether an idle session may have earned a verdict; cheap, from any thread.
     *
     * @param holdsSharedBackend a transaction-mode session holds a backend (while idle: it is pinned)
     */
    boolean mayBeIdleTooLong(long now, long warnAfterNanos, long closeAfterNanos, boolean holdsSharedBackend) {
        boolean inTransaction = inTransaction();
        if (!inTransaction && !holdsSharedBackend) {
            return false;
        }
        long idle = now - idleSinceNanos;
        boolean warn = warnAfterNanos > 0 && !leakReported && idle >= warnAfterNanos;
        boolean close = closeAfterNanos > 0 && inTransaction && idle >= closeAfterNanos;
        return warn || close;
    }

    /**
     * The verdict for an idle session that holds its backend in a transaction or pinned, on its
     * loop. {@link IdleVerdict#WARN} is given once per idle stretch (it marks the stretch reported).
     */
    IdleVerdict idleVerdict(long now, long warnAfterNanos, long closeAfterNanos) {
        long idle = now - idleSinceNanos;
        if (inTransaction() && closeAfterNanos > 0 && idle >= closeAfterNanos) {
            return IdleVerdict.CLOSE;
        }
        if (!leakReported && warnAfterNanos > 0 && idle >= warnAfterNanos) {
            leakReported = true;
            return IdleVerdict.WARN;
        }
        return IdleVerdict.NONE;
    }

    /** Whether the statement that started at {@code commandStartNanos} has run {@code maxNanos} or longer and was not stopped yet. */
    boolean runsTooLong(long now, long maxNanos, long commandStartNanos) {
        return now - commandStartNanos >= maxNanos && stoppedCommandStart != commandStartNanos;
    }

    /** The statement that started at {@code commandStartNanos} is being stopped (its KILL QUERY goes out once). */
    void stopping(long commandStartNanos) {
        stoppedCommandStart = commandStartNanos;
    }

    /** Nanoseconds the transaction has been open, for log lines; only when {@link #inTransaction}. */
    long transactionAge(long now) {
        return now - transactionStartNanos;
    }
}
