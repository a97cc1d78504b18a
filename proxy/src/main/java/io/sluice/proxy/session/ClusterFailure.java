package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.ErrPacket;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.ResponseTracker;

import java.util.List;

/**
 * With several servers: what a session does when the server of its work stops being the primary
 * (it answers "read-only": a switchover) or dies (a primary killed before a failover). The
 * decisions are pure functions of the session's facts; the session carries out the verdict. The
 * two facts a verdict leaves for later (roll back when the response ends; the next command reads
 * 9413) are held here. Used only on the session's event loop.
 */
final class ClusterFailure {
    /** What the session does about it. */
    enum Verdict {
        /** An autocommit statement that did not run: it waits for the next primary and is sent there. */
        RETRY,
        /** The transaction is lost, the session goes on: 9413 (rolled back, run it again). */
        ROLL_BACK,
        /** The session held more than a transaction on that server, or a response was cut off: 9405, it ends. */
        END
    }

    /** ER_OPTION_PREVENTS_STATEMENT: "running with the --read-only option". */
    static final int READ_ONLY = 1290;

    /** 9413 was sent for a transaction on a server that stopped being the primary: reset its backend when the response ends. */
    private boolean rollBackOnRelease;
    /** The transaction's server went away while the session was idle in it: its next command reads this (9413). */
    private String lostTransaction;

    /** Whether a response's final packet is a primary's "read-only" answer to the command itself. */
    static boolean isReadOnlyAnswer(boolean lastWasError, ByteBuf last) {
        return lastWasError && Packets.sequenceId(last) == 1 && ErrPacket.codeOf(last) == READ_ONLY;
    }

    /**
     * Whether the statement that got "read-only" may be sent again to the next primary: a
     * COM_QUERY outside any transaction or other state (it did not run), its packet still kept.
     */
    static boolean retries(CommandType answered, boolean pinned, boolean autocommitOff) {
        return answered == CommandType.COM_QUERY && !pinned && !autocommitOff;
    }

    /** A "read-only" answer to a statement that is not sent again ({@link #retries} false, or its packet is gone). */
    static Verdict onReadOnly(boolean onlyTransaction) {
        return onlyTransaction ? Verdict.ROLL_BACK : Verdict.END;
    }

    /**
     * The transaction's backend died with its server. With no response under way, or none of it
     * forwarded yet, only the transaction is lost; a COMMIT under way may have taken effect (only
     * the server could say), and state beyond the transaction or a cut-off command is gone: END.
     */
    static Verdict onLost(boolean pinned, boolean onlyTransaction, boolean responseStarted, boolean committing,
                          boolean midContinuation) {
        return !pinned || !onlyTransaction || responseStarted || committing || midContinuation ? Verdict.END : Verdict.ROLL_BACK;
    }

    static String readOnlyEnds(String server, List<Pin> pins) {
        return "Sluice: " + server + " stopped being the primary (it answered read-only) while this session held state on it ("
                + pins + "); that state is gone, reconnect";
    }

    static String readOnlyRollsBack(String server) {
        return "Sluice: the primary " + server + " turned read-only (a switchover) while this transaction was open on it: "
                + "the transaction is rolled back and nothing of it was committed; run it again";
    }

    static String lost(Object backend) {
        return "Sluice: the server of this transaction went away (" + backend + "): the transaction is lost and nothing "
                + "of it was committed; run it again";
    }

    /** The backend is reset when the current response ends (the 9413 was sent). */
    void rollBackOnRelease() {
        rollBackOnRelease = true;
    }

    /** Whether the response that ended is the one of a 9413: then its backend is reset; clears it. */
    boolean takeRollBack() {
        if (!rollBackOnRelease) {
            return false;
        }
        rollBackOnRelease = false;
        return true;
    }

    /** The client's next command reads {@code message} (9413) instead of running. */
    void lostWhileIdle(String message) {
        lostTransaction = message;
    }

    /**
     * The 9413 the client's next command reads, now cleared, or null. Only a command that gets a
     * response reads it (COM_QUIT and reply-less commands leave it).
     */
    String takeLost(CommandType type) {
        String m = lostTransaction;
        if (m == null || type == CommandType.COM_QUIT || !ResponseTracker.hasResponse(type)) {
            return null;
        }
        lostTransaction = null;
        return m;
    }
}
