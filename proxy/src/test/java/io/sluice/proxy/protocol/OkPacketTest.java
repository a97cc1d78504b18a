package io.sluice.proxy.protocol;

import io.netty.buffer.ByteBuf;
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
}
