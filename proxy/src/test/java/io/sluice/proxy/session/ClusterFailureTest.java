package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.Packets;
import org.junit.jupiter.api.Test;

import static io.sluice.proxy.session.ClusterFailure.Verdict.END;
import static io.sluice.proxy.session.ClusterFailure.Verdict.ROLL_BACK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The decisions when a session's primary turns read-only or dies, and the facts they leave for later. */
class ClusterFailureTest {

    @Test
    void onlyTheCommandsOwnReadOnlyErrorIsATopologyChange() {
        ByteBuf readOnly = Packets.err(ByteBufAllocator.DEFAULT, 1, ClusterFailure.READ_ONLY, "HY000", "read-only");
        ByteBuf later = Packets.err(ByteBufAllocator.DEFAULT, 3, ClusterFailure.READ_ONLY, "HY000", "read-only");
        ByteBuf other = Packets.err(ByteBufAllocator.DEFAULT, 1, 1062, "23000", "duplicate");
        try {
            assertTrue(ClusterFailure.isReadOnlyAnswer(true, readOnly));
            assertFalse(ClusterFailure.isReadOnlyAnswer(false, readOnly), "not an ERR by the tracker's word");
            assertFalse(ClusterFailure.isReadOnlyAnswer(true, later), "an ERR after a result set began");
            assertFalse(ClusterFailure.isReadOnlyAnswer(true, other));
        } finally {
            readOnly.release();
            later.release();
            other.release();
        }
    }

    @Test
    void onlyAnAutocommitQueryWithNothingPinnedIsSentAgain() {
        assertTrue(ClusterFailure.retries(CommandType.COM_QUERY, false, false));
        assertFalse(ClusterFailure.retries(CommandType.COM_QUERY, true, false), "a transaction or other state is open");
        assertFalse(ClusterFailure.retries(CommandType.COM_QUERY, false, true), "autocommit off: a transaction may be open");
        assertFalse(ClusterFailure.retries(CommandType.COM_STMT_EXECUTE, false, false));
    }

    @Test
    void readOnlyRollsBackATransactionAndEndsOtherState() {
        assertEquals(ROLL_BACK, ClusterFailure.onReadOnly(true));
        assertEquals(END, ClusterFailure.onReadOnly(false));
    }

    @Test
    void aLostServerCostsOnlyTheTransactionWhenNothingElseIsAtStake() {
        assertEquals(ROLL_BACK, ClusterFailure.onLost(true, true, false, false, false));
        assertEquals(END, ClusterFailure.onLost(false, true, false, false, false), "no transaction: 9405 as with one server");
        assertEquals(END, ClusterFailure.onLost(true, false, false, false, false), "temporary tables, locks, ...");
        assertEquals(END, ClusterFailure.onLost(true, true, true, false, false), "part of a response was forwarded");
        assertEquals(END, ClusterFailure.onLost(true, true, false, true, false), "a COMMIT may have taken effect");
        assertEquals(END, ClusterFailure.onLost(true, true, false, false, true), "a 16 MiB command was cut off");
    }

    @Test
    void theRollBackIsTakenOnce() {
        ClusterFailure f = new ClusterFailure();
        assertFalse(f.takeRollBack());
        f.rollBackOnRelease();
        assertTrue(f.takeRollBack());
        assertFalse(f.takeRollBack());
    }

    @Test
    void theLostTransactionAnswersTheNextCommandWithAResponse() {
        ClusterFailure f = new ClusterFailure();
        assertNull(f.takeLost(CommandType.COM_QUERY));
        f.lostWhileIdle("lost");
        assertNull(f.takeLost(CommandType.COM_QUIT));
        assertNull(f.takeLost(CommandType.COM_STMT_CLOSE), "no reply to carry it");
        assertEquals("lost", f.takeLost(CommandType.COM_PING));
        assertNull(f.takeLost(CommandType.COM_QUERY));
    }
}
