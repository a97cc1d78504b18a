package io.sluice.proxy.session;

import io.netty.channel.EventLoop;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.metrics.ProxyMetrics;
import io.sluice.proxy.pool.BackendPools;
import io.sluice.proxy.protocol.SluiceError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.SocketAddress;
import java.util.List;

/**
 * A session's watchdogs, in one place: leak detection (idle in a transaction, or idle while
 * pinned), sluice.frontend.idle-in-transaction-timeout, max-query-time (the KILL QUERY is sent once
 * per statement) and max-transaction-time: their clock, their verdicts and what they do. The
 * session tells it when commands arrive and responses end; {@link LeakDetector}'s once-a-second
 * pass asks the cheap questions from its own thread ({@link #mayBeIdleTooLong}, {@link #mayRunTooLong}),
 * and hands candidates to the session's loop, where the checks look again and act (log line,
 * metric, ERR and close, KILL QUERY) through {@link Watched}.
 *
 * <p>Threading: written only on the session's client event loop; every field is volatile because
 * the detector's pass and the admin snapshot read them from other threads.
 */
final class Watchdogs {
    /** Log lines are the session's (operators and tests look for them under ClientSession). */
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

    /** The session as its watchdogs see it. */
    interface Watched {
        /** The pools the linked backend came from (its server's): where a KILL QUERY for it goes. */
        BackendPools backendPools();

        /** Transaction mode, which gives the backend back between transactions. */
        boolean sharesBackends();

        /** The linked backend, or null (from the detector's thread: a recent value). */
        BackendConnection backend();

        boolean closed();

        /** A server response is outstanding or a command waits for a backend. */
        boolean busy();

        /** Whether any pin holds the backend to the session. */
        boolean pinned();

        /** Why the session keeps its backend between statements; empty when nothing does. */
        List<Pin> pins();

        /** Pins the backend until a KILL QUERY Sluice sent is delivered. */
        void pinUntilKillDelivered();

        /** The KILL was delivered: the pin goes, and the backend may go back to the pool. */
        void killDelivered();

        /** The sequence id an ERR Sluice writes now carries (the reply to a command in flight, else 0). */
        int errSeq();

        /** Sends an ERR with {@code seq} and closes the client. */
        void fail(SluiceError error, int seq, String message);

        SocketAddress clientAddress();

        String programName();
    }

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

    private final Watched session;
    /** The session's state and command clock (volatile: read from the detector's thread too). */
    private final Activity activity;
    private final EventLoop loop;

    Watchdogs(Watched session, Activity activity, EventLoop loop) {
        this.session = session;
        this.activity = activity;
        this.loop = loop;
    }

    /** A command arrived from the client: the idle stretch ends; if it had been reported, that it ended is logged. */
    void commandArrived() {
        idleSinceNanos = System.nanoTime();
        if (leakReported) {
            leakReported = false;
            log.info("{}: active again after being reported idle{} (program_name '{}')", session,
                    inTransaction() ? " in a transaction" : " while pinned", session.programName());
        }
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
    private boolean idleTooLong(long now, long warnAfterNanos, long closeAfterNanos, boolean holdsSharedBackend) {
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
    private IdleVerdict idleVerdict(long now, long warnAfterNanos, long closeAfterNanos) {
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
    private boolean runsTooLong(long now, long maxNanos, long commandStartNanos) {
        return now - commandStartNanos >= maxNanos && stoppedCommandStart != commandStartNanos;
    }

    /** The statement that started at {@code commandStartNanos} is being stopped (its KILL QUERY goes out once). */
    private void stopping(long commandStartNanos) {
        stoppedCommandStart = commandStartNanos;
    }

    /** Nanoseconds the transaction has been open, for log lines; only when {@link #inTransaction}. */
    private long transactionAge(long now) {
        return now - transactionStartNanos;
    }

    // ---------------------------------------------------------------- leak detection, idle in transaction

    /**
     * Whether {@link #checkIdle} may have something to do; cheap, from any thread (volatile reads
     * only), so {@link LeakDetector} hops to the session's loop only for candidates. Holding a
     * backend while idle in transaction mode means pinned (an unpinned session gives it back).
     */
    boolean mayBeIdleTooLong(long now, long warnAfterNanos, long closeAfterNanos) {
        return activity.state() == ClientSession.State.IDLE
                && idleTooLong(now, warnAfterNanos, closeAfterNanos, session.sharesBackends() && session.backend() != null);
    }

    /** Runs {@link #checkIdle} on the session's event loop, which owns its state. */
    void checkIdleOnItsLoop(long warnAfterNanos, long closeAfterNanos, ProxyMetrics metrics) {
        loop.execute(() -> checkIdle(warnAfterNanos, closeAfterNanos, metrics));
    }

    /**
     * Leak detection, on the session's loop. Idle (no command in flight) inside a transaction, or
     * idle while pinned to its backend, for {@code warnAfterNanos} or more: logged once per idle
     * stretch and counted. Idle inside a transaction for {@code closeAfterNanos} or more: the
     * client gets ERR 9410 and is closed; the session's close then resets the backend
     * (COM_CHANGE_USER), which rolls the transaction back, and gives it back to the pool. 0 turns
     * either off.
     */
    private void checkIdle(long warnAfterNanos, long closeAfterNanos, ProxyMetrics metrics) {
        BackendConnection backend = session.backend();
        if (session.closed() || activity.state() != ClientSession.State.IDLE || backend == null || session.busy()) {
            return;
        }
        boolean inTransaction = inTransaction();
        if (!inTransaction && !(session.sharesBackends() && session.pinned())) {
            return;
        }
        long now = System.nanoTime();
        long idleMillis = idleNanos(now) / 1_000_000;
        String transaction = inTransaction ? "in a transaction open for " + transactionAge(now) / 1_000_000 + " ms"
                : "outside a transaction";
        IdleVerdict verdict = idleVerdict(now, warnAfterNanos, closeAfterNanos);
        if (verdict == IdleVerdict.CLOSE) {
            // Logged before it is counted: whoever sees the count (the admin endpoint, a test) finds the line.
            log.warn("{}: closing: idle for {} ms {} (sluice.frontend.idle-in-transaction-timeout = {} ms); client {}, "
                            + "program_name '{}', pins {}, backend {}; the server rolls the transaction back", session, idleMillis,
                    transaction, closeAfterNanos / 1_000_000, session.clientAddress(), session.programName(), pinLabels(), backend);
            metrics.idleInTransactionClosed();
            session.fail(SluiceError.IDLE_IN_TRANSACTION_TIMEOUT, 0, "Sluice: closing a session idle in a transaction for "
                    + idleMillis + " ms, longer than sluice.frontend.idle-in-transaction-timeout (" + closeAfterNanos / 1_000_000
                    + " ms); its transaction is rolled back");
            return;
        }
        if (verdict == IdleVerdict.WARN) {
            log.warn("{}: idle for {} ms {}{}; client {}, program_name '{}', pins {}, backend {}: a likely leaked "
                            + "connection, holding a server connection (logged once; sluice.frontend.leak-warning-after = {} ms)",
                    session, idleMillis, transaction, inTransaction ? "" : " while pinned", session.clientAddress(),
                    session.programName(), pinLabels(), backend, warnAfterNanos / 1_000_000);
            metrics.sessionLeak(inTransaction); // after the line, as above
        }
    }

    /** The pins as /sessions names them, for log lines (allocates: not for the hot path). */
    private List<String> pinLabels() {
        return session.pins().stream().map(Pin::label).toList();
    }

    // ---------------------------------------------------------------- max query time

    /** Cheap, from any thread: a statement has run {@code maxNanos} or longer and was not stopped yet. */
    boolean mayRunTooLong(long now, long maxNanos) {
        return activity.state() == ClientSession.State.QUERY && runsTooLong(now, maxNanos, activity.commandStartNanos());
    }

    void stopLongQueryOnItsLoop(long maxNanos) {
        loop.execute(() -> stopLongQuery(maxNanos));
    }

    /**
     * sluice.frontend.max-query-time: the running statement is killed on the server through a
     * short-lived extra connection; the client reads the server's own error. The backend stays
     * pinned until the KILL is delivered, so it cannot reach another session first.
     */
    private void stopLongQuery(long maxNanos) {
        BackendConnection b = session.backend();
        long start = activity.commandStartNanos();
        if (session.closed() || activity.state() != ClientSession.State.QUERY || b == null || b.tracker().idle()
                || !runsTooLong(System.nanoTime(), maxNanos, start)) {
            return;
        }
        stopping(start);
        log.warn("{}: stopping a statement running for {} ms, longer than sluice.frontend.max-query-time ({} ms): "
                        + "KILL QUERY {} on the server; client {}, program_name '{}', statement '{}'", session,
                (System.nanoTime() - start) / 1_000_000, maxNanos / 1_000_000, b.threadId(), session.clientAddress(),
                session.programName(), activity.describe(activity.command()));
        session.pinUntilKillDelivered();
        session.backendPools().killQuery(b, () -> loop.execute(session::killDelivered));
    }

    // ---------------------------------------------------------------- max transaction time

    void endLongTransactionOnItsLoop(long maxNanos) {
        loop.execute(() -> endLongTransaction(maxNanos));
    }

    /**
     * sluice.frontend.max-transaction-time: a statement the transaction is running is killed on the
     * server, and the client gets 9411 and is closed; closing discards or resets the backend, so the
     * server rolls the transaction back.
     */
    private void endLongTransaction(long maxNanos) {
        long age = transactionNanos();
        if (session.closed() || age < maxNanos) {
            return;
        }
        BackendConnection b = session.backend();
        boolean running = activity.state() == ClientSession.State.QUERY && b != null && !b.tracker().idle();
        log.warn("{}: ending a transaction open for {} ms, longer than sluice.frontend.max-transaction-time ({} ms){}; "
                        + "client {}, program_name '{}'; the server rolls it back", session, age / 1_000_000, maxNanos / 1_000_000,
                running ? ", and killing its running statement (KILL QUERY " + b.threadId() + ")" : "", session.clientAddress(),
                session.programName());
        if (running) {
            session.backendPools().killQuery(b, () -> { });
        }
        session.fail(SluiceError.TRANSACTION_TIMEOUT, session.errSeq(), "Sluice: closing a session whose "
                + "transaction was open for " + age / 1_000_000 + " ms, longer than sluice.frontend.max-transaction-time ("
                + maxNanos / 1_000_000 + " ms); its transaction is rolled back");
    }
}
