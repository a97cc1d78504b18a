package io.sluice.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Where responses end, for the response shapes of the protocol, with and without CLIENT_DEPRECATE_EOF. */
class ResponseTrackerTest {
    private static final Capabilities CLASSIC = new Capabilities(Capabilities.CLIENT_PROTOCOL_41);
    private static final Capabilities DEPRECATE = new Capabilities(Capabilities.CLIENT_PROTOCOL_41 | Capabilities.CLIENT_DEPRECATE_EOF);

    private static ByteBuf packet(int... payload) {
        ByteBuf b = Unpooled.buffer();
        b.writeMediumLE(payload.length).writeByte(1);
        for (int x : payload) {
            b.writeByte(x);
        }
        return b;
    }

    private static ByteBuf ok(int status) {
        return packet(0x00, 0, 0, status & 0xff, status >> 8, 0, 0);
    }

    private static ByteBuf eof(int status) {
        return packet(0xfe, 0, 0, status & 0xff, status >> 8);
    }

    private static ByteBuf terminator(int status) {
        return packet(0xfe, 0, 0, status & 0xff, status >> 8, 0, 0);
    }

    private static int feed(ResponseTracker t, ByteBuf p) {
        try {
            return t.onServerPacket(p);
        } finally {
            p.release();
        }
    }

    @Test
    void classicResultSet() {
        ResponseTracker t = new ResponseTracker(CLASSIC);
        t.expect(CommandType.COM_QUERY);
        assertEquals(ResponseTracker.MORE, feed(t, packet(2)));       // column count
        assertEquals(ResponseTracker.MORE, feed(t, packet(3, 'd', 'e', 'f')));
        assertEquals(ResponseTracker.MORE, feed(t, packet(3, 'd', 'e', 'f')));
        assertEquals(ResponseTracker.MORE, feed(t, eof(ServerStatus.SERVER_STATUS_AUTOCOMMIT)));
        assertEquals(ResponseTracker.MORE, feed(t, packet(1, '1', 1, '2')));
        assertEquals(ResponseTracker.DONE, feed(t, eof(ServerStatus.SERVER_STATUS_AUTOCOMMIT)));
        assertTrue(t.idle());
    }

    private static ByteBuf concat(ByteBuf... packets) {
        ByteBuf b = Unpooled.buffer();
        for (ByteBuf p : packets) {
            b.writeBytes(p);
            p.release();
        }
        return b;
    }

    private static ByteBuf bytes(int n, int first) {
        int[] payload = new int[n];
        payload[0] = first;
        return packet(payload);
    }

    /**
     * A run covers whole plain rows only, at least two: it stops before the terminator, before an
     * error, before a 16 MiB packet and at a packet cut short; outside a result set's rows there is
     * none. Taken as a run, the rows count as if fed one by one.
     */
    @Test
    void rowRunsCoverWholePlainRowsOnly() {
        ResponseTracker t = new ResponseTracker(DEPRECATE);
        t.expect(CommandType.COM_QUERY);
        ByteBuf rows = concat(packet(1, 'a'), packet(0xfb), packet(), packet(0, 1, 'b'), terminator(0));
        assertEquals(0, t.rowRunBytes(rows, 0, rows.writerIndex()), "not in the rows yet");
        feed(t, packet(1));
        feed(t, packet(3, 'd', 'e', 'f'));
        int whole = 6 + 5 + 4 + 7; // four rows, the empty one included
        assertEquals(whole, t.rowRunBytes(rows, 0, rows.writerIndex()), "stops at the terminator");
        assertEquals(6 + 5, t.rowRunBytes(rows, 0, 6 + 5 + 3), "stops at a packet cut short");
        assertEquals(0, t.rowRunBytes(rows, 0, 6 + 5 - 1), "one whole row is no run");
        ByteBuf run = rows.readRetainedSlice(whole);
        assertEquals(4, t.onRowRun(run));
        run.release();
        assertEquals(ResponseTracker.DONE, t.onServerPacket(rows));
        assertEquals(4, t.lastResultRows());
        rows.release();

        ResponseTracker e = new ResponseTracker(DEPRECATE);
        e.expect(CommandType.COM_QUERY);
        feed(e, packet(1));
        feed(e, packet(3, 'd', 'e', 'f'));
        ByteBuf withError = concat(packet(1, 'a'), packet(1, 'b'), packet(0xff, 0x10, 0x04, '#', 'H', 'Y', '0', '0', '0', 'x'));
        assertEquals(12, e.rowRunBytes(withError, 0, withError.writerIndex()), "stops at the error");
        ByteBuf big = Unpooled.buffer().writeMediumLE(Packets.MAX_PAYLOAD).writeByte(1).writeByte(1);
        ByteBuf withBig = concat(packet(1, 'a'), packet(1, 'b'), big);
        assertEquals(12, e.rowRunBytes(withBig, 0, withBig.writerIndex()), "stops at a 16 MiB packet");
        withError.release();
        withBig.release();
    }

    /** Without CLIENT_DEPRECATE_EOF a row may start with 0xFE when it is 9 bytes or longer; the EOF is shorter. */
    @Test
    void classicRowRunsTakeLongRowsStartingWith0xFeAndStopAtTheEof() {
        ResponseTracker t = new ResponseTracker(CLASSIC);
        t.expect(CommandType.COM_QUERY);
        feed(t, packet(1));
        feed(t, packet(3, 'd', 'e', 'f'));
        feed(t, eof(0));
        ByteBuf rows = concat(bytes(9, 0xfe), packet(1, 'a'), eof(ServerStatus.SERVER_STATUS_AUTOCOMMIT));
        assertEquals(13 + 6, t.rowRunBytes(rows, 0, rows.writerIndex()));
        ByteBuf run = rows.readRetainedSlice(13 + 6);
        assertEquals(2, t.onRowRun(run));
        run.release();
        assertEquals(ResponseTracker.DONE, t.onServerPacket(rows));
        assertEquals(2, t.lastResultRows());
        rows.release();
    }

    @Test
    void deprecatedEofWithMultipleResultsThenError() {
        ResponseTracker t = new ResponseTracker(DEPRECATE);
        t.expect(CommandType.COM_QUERY);
        feed(t, packet(1));
        feed(t, packet(3, 'd', 'e', 'f'));
        feed(t, packet(1, '1'));
        assertEquals(ResponseTracker.MORE, feed(t, terminator(ServerStatus.SERVER_MORE_RESULTS_EXISTS)));
        assertTrue(t.wasOkPacket());
        assertEquals(ResponseTracker.MORE, feed(t, ok(ServerStatus.SERVER_MORE_RESULTS_EXISTS)));
        assertEquals(ResponseTracker.DONE, feed(t, packet(0xff, 0x10, 0x04, '#', 'H', 'Y', '0', '0', '0', 'x')));
        assertTrue(t.idle() && t.lastWasError());
    }

    @Test
    void localInfileHandsTheTurnToTheClient() {
        ResponseTracker t = new ResponseTracker(DEPRECATE);
        t.expect(CommandType.COM_QUERY);
        assertEquals(ResponseTracker.LOCAL_INFILE, feed(t, packet(0xfb, 'f')));
        assertTrue(t.awaitingClientData());
        ByteBuf data = packet(1, 2, 3);
        assertTrue(!t.onClientDataPacket(data));
        data.release();
        ByteBuf end = packet();
        assertTrue(t.onClientDataPacket(end));
        end.release();
        assertEquals(ResponseTracker.DONE, feed(t, ok(0)));
    }

    @Test
    void prepareWithParamsAndColumnsClassic() {
        ResponseTracker t = new ResponseTracker(CLASSIC);
        t.expect(CommandType.COM_STMT_PREPARE);
        // OK_prepare: stmt id 1, 1 column, 2 params
        assertEquals(ResponseTracker.MORE, feed(t, packet(0, 1, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0)));
        feed(t, packet(3, 'd', 'e', 'f'));
        feed(t, packet(3, 'd', 'e', 'f'));
        assertEquals(ResponseTracker.MORE, feed(t, eof(0)));
        feed(t, packet(3, 'd', 'e', 'f'));
        assertEquals(ResponseTracker.DONE, feed(t, eof(0)));
        assertTrue(t.idle());
    }

    @Test
    void cursorOpenEndsAfterTheColumnsAndFetchEndsAtTheTerminator() {
        ResponseTracker t = new ResponseTracker(CLASSIC);
        t.expect(CommandType.COM_STMT_EXECUTE);
        feed(t, packet(1));
        feed(t, packet(3, 'd', 'e', 'f'));
        assertEquals(ResponseTracker.DONE, feed(t, eof(ServerStatus.SERVER_STATUS_CURSOR_EXISTS)));
        assertEquals(0, t.lastResultRows());
        t.expect(CommandType.COM_STMT_FETCH);
        assertEquals(ResponseTracker.MORE, feed(t, packet(0, 0, 1)));
        assertEquals(ResponseTracker.MORE, feed(t, packet(0, 0, 2)));
        assertEquals(ResponseTracker.DONE, feed(t, eof(ServerStatus.SERVER_STATUS_CURSOR_EXISTS)));
        assertEquals(2, t.lastResultRows(), "every fetched row counts, the first of each fetch too");
        t.expect(CommandType.COM_STMT_FETCH);
        assertEquals(ResponseTracker.MORE, feed(t, packet(0, 0, 3)));
        assertEquals(ResponseTracker.DONE, feed(t, eof(ServerStatus.SERVER_STATUS_CURSOR_EXISTS | ServerStatus.SERVER_STATUS_LAST_ROW_SENT)));
        assertEquals(3, t.lastResultRows(), "a cursor's rows count on from its execute");
    }

    @Test
    void commandsWithoutReplyAreNotAwaitedAndPipelinedRepliesAreMatchedInOrder() {
        ResponseTracker t = new ResponseTracker(DEPRECATE);
        t.expect(CommandType.COM_STMT_CLOSE);
        assertTrue(t.idle());
        t.expect(CommandType.COM_PING);
        t.expect(CommandType.COM_STATISTICS);
        assertEquals(2, t.outstanding());
        assertEquals(ResponseTracker.DONE, feed(t, ok(0)));
        assertEquals(ResponseTracker.DONE, feed(t, packet('U', 'p')));
        assertTrue(t.idle());
    }
}
