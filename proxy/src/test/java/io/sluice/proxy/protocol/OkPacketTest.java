package io.sluice.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** OK packets with session-state data: reading the changes, and stripping them for clients that did not ask. */
class OkPacketTest {

    /** An OK as MariaDB sends it to a tracking client after SET NAMES latin1; USE d1. */
    private static ByteBuf trackedOk(String info) {
        ByteBuf state = Unpooled.buffer();
        ByteBuf var = Unpooled.buffer();
        Packets.writeLenencString(var, "character_set_client");
        Packets.writeLenencString(var, "latin1");
        state.writeByte(OkPacket.TRACK_SYSTEM_VARIABLES);
        Packets.writeLenencInt(state, var.readableBytes());
        state.writeBytes(var);
        ByteBuf schema = Unpooled.buffer();
        Packets.writeLenencString(schema, "d1");
        state.writeByte(OkPacket.TRACK_SCHEMA);
        Packets.writeLenencInt(state, schema.readableBytes());
        state.writeBytes(schema);
        state.writeByte(OkPacket.TRACK_STATE_CHANGE).writeByte(1).writeByte('1');
        ByteBuf p = Unpooled.buffer();
        p.writeMedium(0).writeByte(1);
        p.writeByte(0).writeByte(3).writeByte(7);
        p.writeShortLE(ServerStatus.SERVER_STATUS_AUTOCOMMIT | ServerStatus.SERVER_SESSION_STATE_CHANGED).writeShortLE(0);
        Packets.writeLenencString(p, info);
        Packets.writeLenencInt(p, state.readableBytes());
        p.writeBytes(state);
        p.setMediumLE(0, p.readableBytes() - 4);
        var.release();
        schema.release();
        state.release();
        return p;
    }

    @Test
    void readsTheChanges() {
        ByteBuf p = trackedOk("");
        List<String> seen = new ArrayList<>();
        OkPacket.visitSessionState(p, new OkPacket.StateVisitor() {
            public void systemVariable(String name, String value) {
                seen.add(name + "=" + value);
            }

            public void schema(String schema) {
                seen.add("schema=" + schema);
            }

            public void stateChanged() {
                seen.add("changed");
            }

            public void transactionCharacteristics(String statement) {
                seen.add("tx=" + statement);
            }
        });
        assertEquals(List.of("character_set_client=latin1", "schema=d1", "changed"), seen);
        assertEquals(3, OkPacket.affectedRows(p));
        assertEquals(7, OkPacket.lastInsertId(p));
        p.release();
    }

    @Test
    void strippingKeepsTheLengthPrefixedInfoAndClearsTheFlag() {
        ByteBuf p = trackedOk("Rows matched: 1");
        OkPacket.stripSessionTracking(p);
        assertEquals(ServerStatus.SERVER_STATUS_AUTOCOMMIT, OkPacket.status(p));
        assertEquals("Rows matched: 1", OkPacket.info(p));
        assertEquals(Packets.payloadLength(p) + 4, p.readableBytes());
        assertEquals(7 + 1 + 15, Packets.payloadLength(p));
        p.release();
        ByteBuf empty = trackedOk("");
        OkPacket.stripSessionTracking(empty);
        assertEquals(7, Packets.payloadLength(empty), "no info: the packet ends after the warnings");
        assertEquals("", OkPacket.info(empty));
        empty.release();
    }

    /** An OK with multi-byte length-encoded affected rows and insert id, at a non-zero reader index. */
    private static ByteBuf bigOk(ByteBuf p) {
        p.writeMedium(0).writeByte(1);
        p.writeByte(0);
        Packets.writeLenencInt(p, 70_000);
        Packets.writeLenencInt(p, 5_000_000_000L);
        p.writeShortLE(ServerStatus.SERVER_STATUS_IN_TRANS).writeShortLE(2);
        p.setMediumLE(p.readerIndex(), p.readableBytes() - 4);
        return p;
    }

    @Test
    void theValueDecodesEachFieldOnceAsTheStaticReadersDo() {
        ByteBuf p = bigOk(Unpooled.buffer().writeZero(3).skipBytes(3));
        OkPacket ok = new OkPacket().decode(p);
        assertEquals(70_000, ok.affectedRows());
        assertEquals(5_000_000_000L, ok.lastInsertId());
        assertEquals(ServerStatus.SERVER_STATUS_IN_TRANS, ok.status());
        assertEquals(OkPacket.affectedRows(p), ok.affectedRows());
        assertEquals(OkPacket.lastInsertId(p), ok.lastInsertId());
        assertEquals(OkPacket.status(p), ok.status());
        assertEquals(Packets.okStatus(p), ok.status());
        p.release();
    }

    @Test
    void theValueIsReusedAndReadsTheStateOfThePacketItDecoded() {
        OkPacket ok = new OkPacket();
        ByteBuf first = bigOk(Unpooled.buffer());
        ok.decode(first);
        first.release();
        ByteBuf p = trackedOk("Rows matched: 1");
        ok.decode(p);
        assertEquals(3, ok.affectedRows(), "the second decode replaces the first");
        assertEquals(7, ok.lastInsertId());
        List<String> seen = new ArrayList<>();
        ok.visitSessionStateOf(p, new OkPacket.StateVisitor() {
            public void systemVariable(String name, String value) {
                seen.add(name + "=" + value);
            }

            public void schema(String schema) {
                seen.add("schema=" + schema);
            }

            public void stateChanged() {
                seen.add("changed");
            }

            public void transactionCharacteristics(String statement) {
                seen.add("tx=" + statement);
            }
        });
        assertEquals(List.of("character_set_client=latin1", "schema=d1", "changed"), seen);
        ByteBuf q = trackedOk("Rows matched: 1");
        OkPacket.stripSessionTracking(q);
        ok.stripSessionTrackingOf(p);
        assertEquals(ByteBufUtil.hexDump(q), ByteBufUtil.hexDump(p), "strips as the static reader does");
        assertEquals("Rows matched: 1", OkPacket.info(p));
        p.release();
        q.release();
    }
}
