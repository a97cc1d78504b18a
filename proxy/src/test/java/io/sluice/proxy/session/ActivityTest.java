package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.sluice.proxy.protocol.CommandType;
import io.netty.buffer.ByteBufAllocator;
import io.sluice.proxy.protocol.Packets;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ActivityTest {
    @Test
    void aCommandWithAResponseRunsUntilTheSessionIsIdleAgain() {
        Activity a = new Activity();
        assertEquals(ClientSession.State.IDLE, a.state());
        assertNull(a.command());
        assertEquals(-1, a.commandNanos(), "idle: no command clock");
        a.sent(CommandType.COM_QUERY);
        assertEquals(ClientSession.State.QUERY, a.state());
        assertTrue(a.commandNanos() >= 0);
        a.idle();
        assertEquals(-1, a.commandNanos());
        assertEquals(CommandType.COM_QUERY, a.command(), "the last command stays for the admin view");
    }

    @Test
    void aCommandWithoutAResponseIsRecordedButDoesNotStartTheClock() {
        Activity a = new Activity();
        a.sent(CommandType.COM_STMT_CLOSE);
        assertEquals(CommandType.COM_STMT_CLOSE, a.command());
        assertEquals(ClientSession.State.IDLE, a.state());
    }

    @Test
    void waitingForABackendCountsAsACommandInFlightAndParkingKeepsItsStart() {
        Activity a = new Activity();
        a.waiting();
        long start = a.commandStartNanos();
        assertEquals(ClientSession.State.WAITING, a.state());
        assertTrue(a.commandNanos() >= 0);
        a.parked();
        assertEquals(start, a.commandStartNanos(), "a parked command waits on from when it was asked");
        a.closed();
        assertEquals(ClientSession.State.CLOSED, a.state());
        assertEquals(-1, a.commandNanos());
    }

    @Test
    void theStatementHeadKeepsTheFirst128BytesOfTheLastQuery() {
        Activity a = new Activity();
        assertEquals("", a.statementHead());
        ByteBuf q = Packets.query(ByteBufAllocator.DEFAULT, "SELECT 1");
        a.statement(q);
        q.release();
        assertEquals("SELECT 1", a.statementHead());
        assertEquals("SELECT 1", a.describe(CommandType.COM_QUERY));
        assertEquals("COM_PING", a.describe(CommandType.COM_PING));
        String longSql = "SELECT '" + "x".repeat(300) + "'";
        ByteBuf big = Packets.query(ByteBufAllocator.DEFAULT, longSql);
        a.statement(big);
        big.release();
        assertEquals(longSql.substring(0, 128), a.statementHead());
    }
}
