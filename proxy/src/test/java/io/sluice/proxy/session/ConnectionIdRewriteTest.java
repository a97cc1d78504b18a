package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.Packets;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/** CONNECTION_ID() answered with the session's id: where it is replaced, and which column names are kept. */
class ConnectionIdRewriteTest {

    private static String rewrite(String sql) {
        byte[] r = ConnectionIdRewrite.rewrite(sql.getBytes(StandardCharsets.UTF_8), 42);
        return r == null ? null : new String(r, StandardCharsets.UTF_8);
    }

    @Test
    void aSelectListItemKeepsItsColumnName() {
        assertEquals("SELECT 42 AS `CONNECTION_ID()`", rewrite("SELECT CONNECTION_ID()"));
        assertEquals("select 42 AS `connection_id( )`;", rewrite("select connection_id( );"));
        assertEquals("SELECT 42 AS `CONNECTION_ID()`, NOW() FROM dual", rewrite("SELECT CONNECTION_ID(), NOW() FROM dual"));
        assertEquals("SELECT a, 42 AS `CONNECTION_ID()` FROM t", rewrite("SELECT a, CONNECTION_ID() FROM t"));
        assertEquals("SELECT * FROM (SELECT 42 AS `CONNECTION_ID()`) d", rewrite("SELECT * FROM (SELECT CONNECTION_ID()) d"));
    }

    @Test
    void elsewhereTheCallBecomesTheNumber() {
        assertEquals("SELECT 42 AS cid", rewrite("SELECT CONNECTION_ID() AS cid"));
        assertEquals("SELECT 42 + 1", rewrite("SELECT CONNECTION_ID() + 1"));
        assertEquals("SELECT IF(1, 42, 0)", rewrite("SELECT IF(1, CONNECTION_ID(), 0)"));
        assertEquals("INSERT INTO t VALUES (1, 42)", rewrite("INSERT INTO t VALUES (1, CONNECTION_ID())"));
        assertEquals("SELECT a FROM t WHERE id = 42 ORDER BY a, 42", rewrite("SELECT a FROM t WHERE id = CONNECTION_ID() ORDER BY a, CONNECTION_ID()"));
        assertEquals("SELECT * FROM information_schema.PROCESSLIST WHERE ID <> 42",
                rewrite("SELECT * FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()"));
    }

    @Test
    void stringsNamesCommentsAndOtherFunctionsAreLeftAlone() {
        assertNull(rewrite("SELECT 'CONNECTION_ID()', \"connection_id()\", `CONNECTION_ID()` FROM t"));
        assertNull(rewrite("SELECT 1 /* CONNECTION_ID() */ -- CONNECTION_ID()\n# CONNECTION_ID()"));
        assertNull(rewrite("SELECT my_connection_id(), db.connection_id(), connection_id_x()"));
        assertNull(rewrite("PREPARE s FROM 'SELECT CONNECTION_ID()'"));
        assertNull(rewrite("SELECT 'it''s CONNECTION_ID()', 'a\\'CONNECTION_ID()'"));
        assertEquals("SELECT 'h\u00e9\uD83D\uDC2C', 42 AS `CONNECTION_ID()`", rewrite("SELECT 'h\u00e9\uD83D\uDC2C', CONNECTION_ID()"));
    }

    @Test
    void packetsAreRebuiltWithTheirCommandAndSequenceIdOrPassedThrough() {
        ByteBuf q = Packets.query(ByteBufAllocator.DEFAULT, "SELECT CONNECTION_ID()");
        ByteBuf r = ConnectionIdRewrite.rewrite(ByteBufAllocator.DEFAULT, q, 7);
        try {
            assertEquals(0, q.refCnt());
            assertEquals(CommandType.COM_QUERY.code(), Packets.header(r));
            assertEquals(0, Packets.sequenceId(r));
            assertEquals("SELECT 7 AS `CONNECTION_ID()`", r.toString(r.readerIndex() + 5, Packets.payloadLength(r) - 1, StandardCharsets.UTF_8));
        } finally {
            r.release();
        }
        ByteBuf prepare = Packets.command(ByteBufAllocator.DEFAULT, CommandType.COM_STMT_PREPARE, "SELECT 1".getBytes(StandardCharsets.UTF_8));
        assertSame(prepare, ConnectionIdRewrite.rewrite(ByteBufAllocator.DEFAULT, prepare, 7));
        prepare.release();
        // the call at the very end and at the very start of the text, and a 'c' in the last bytes
        for (String sql : new String[] {"SELECT CONNECTION_ID()", "CONNECTION_ID()", "SELECT abc", "select c"}) {
            ByteBuf p = Packets.query(ByteBufAllocator.DEFAULT, sql);
            ByteBuf out = ConnectionIdRewrite.rewrite(ByteBufAllocator.DEFAULT, p, 7);
            assertEquals(sql.contains("CONNECTION_ID"), out != p, sql);
            out.release();
        }
        ByteBuf empty = Unpooled.buffer().writeMediumLE(1).writeByte(0).writeByte(3);
        assertSame(empty, ConnectionIdRewrite.rewrite(ByteBufAllocator.DEFAULT, empty, 7));
        empty.release();
    }
}
