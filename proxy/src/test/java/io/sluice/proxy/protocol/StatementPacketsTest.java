package io.sluice.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.sluice.testkit.LeakCheckExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Statement-id rewriting and putting parameter types into a COM_STMT_EXECUTE, byte for byte. */
@ExtendWith(LeakCheckExtension.class)
class StatementPacketsTest {
    private final List<ByteBuf> made = new ArrayList<>();

    private ByteBuf track(ByteBuf b) {
        made.add(b);
        return b;
    }

    @AfterEach
    void releaseBuffers() {
        for (ByteBuf b : made) {
            if (b.refCnt() > 0) {
                b.release();
            }
        }
    }

    /** COM_STMT_EXECUTE of statement 7 with two parameters (LONGLONG 42, VAR_STRING "ab"), types sent or not. */
    private ByteBuf execute(boolean withTypes) {
        ByteBuf p = track(Unpooled.buffer());
        p.writeMediumLE(0).writeByte(0);
        p.writeByte(0x17).writeIntLE(7).writeByte(0).writeIntLE(1);
        p.writeByte(0); // null bitmap
        p.writeByte(withTypes ? 1 : 0);
        if (withTypes) {
            p.writeShortLE(0x08).writeShortLE(0xfd);
        }
        p.writeLongLE(42).writeByte(2).writeBytes(new byte[] {'a', 'b'});
        p.setMediumLE(0, p.readableBytes() - 4);
        return p;
    }

    @Test
    void rewritesTheStatementIdInPlace() {
        ByteBuf p = execute(false);
        assertEquals(7, StatementPackets.statementId(p));
        StatementPackets.statementId(p, 123456);
        assertEquals(123456, StatementPackets.statementId(p));
        assertEquals(0x17, Packets.header(p));
    }

    @Test
    void readsAndComparesTheTypesSent() {
        ByteBuf p = execute(true);
        int flag = StatementPackets.boundFlagIndex(p, 2);
        assertEquals(1, p.getByte(flag));
        byte[] types = StatementPackets.types(p, flag, 2);
        assertArrayEquals(new byte[] {0x08, 0, (byte) 0xfd, 0}, types);
        assertTrue(StatementPackets.sameTypes(p, flag, types));
        assertFalse(StatementPackets.sameTypes(p, flag, new byte[] {0x03, 0, (byte) 0xfd, 0}));
        assertFalse(StatementPackets.sameTypes(p, flag, null));
    }

    @Test
    void putsTypesIntoAnExecutionThatSentNone() {
        ByteBuf without = execute(false);
        ByteBuf with = execute(true);
        int flag = StatementPackets.boundFlagIndex(without, 2);
        assertEquals(0, without.getByte(flag));
        ByteBuf rebound = track(StatementPackets.withTypes(UnpooledByteBufAllocator.DEFAULT, without, flag, new byte[] {0x08, 0, (byte) 0xfd, 0}));
        assertEquals(ByteBufUtil.hexDump(with), ByteBufUtil.hexDump(rebound));
        assertEquals(Packets.payloadLength(with), Packets.payloadLength(rebound));
    }

    @Test
    void aPacketTooShortForItsParametersHasNoFlag() {
        ByteBuf p = track(Unpooled.buffer());
        p.writeMediumLE(10).writeByte(0).writeByte(0x17).writeIntLE(7).writeByte(0).writeIntLE(1);
        assertEquals(-1, StatementPackets.boundFlagIndex(p, 2));
        ByteBuf truncated = execute(true).capacity(16);
        truncated.setMediumLE(0, 12);
        assertNull(StatementPackets.types(truncated, StatementPackets.boundFlagIndex(truncated, 2), 2));
    }

    @Test
    void buildsCloseAndResetCommands() {
        ByteBuf close = track(StatementPackets.command(UnpooledByteBufAllocator.DEFAULT, CommandType.COM_STMT_CLOSE, 9));
        assertEquals("050000001909000000", ByteBufUtil.hexDump(close));
    }
}
