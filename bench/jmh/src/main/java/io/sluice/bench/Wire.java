package io.sluice.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.ServerStatus;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Server responses as they arrive on the wire, built byte for byte like MariaDB's replies to a
 * sysbench-style {@code SELECT} over COM_QUERY: column count, column definitions, an EOF unless
 * CLIENT_DEPRECATE_EOF, text rows of one length-encoded string per column, then the terminator
 * (classic EOF, or an OK packet with the 0xFE header).
 */
final class Wire {
    private Wire() {
    }

    static ByteBuf textResultSet(ByteBufAllocator alloc, int columns, int rows, int rowBytes, boolean eofDeprecated) {
        ByteBuf out = alloc.directBuffer();
        int seq = 1;
        ByteBuf p = Packets.start(alloc, 8);
        Packets.writeLenencInt(p, columns);
        seq = append(out, p, seq);
        for (int c = 0; c < columns; c++) {
            p = Packets.start(alloc, 64);
            Packets.writeLenencString(p, "def");
            Packets.writeLenencString(p, "sbtest");
            Packets.writeLenencString(p, "sbtest1");
            Packets.writeLenencString(p, "sbtest1");
            Packets.writeLenencString(p, "c" + c);
            Packets.writeLenencString(p, "c" + c);
            p.writeByte(0x0c).writeShortLE(45).writeIntLE(480).writeByte(0xfe).writeShortLE(0x1001).writeByte(0)
                    .writeShortLE(0);
            seq = append(out, p, seq);
        }
        if (!eofDeprecated) {
            seq = append(out, eofPayload(alloc, ServerStatus.SERVER_STATUS_AUTOCOMMIT), seq);
        }
        int perColumn = Math.max(1, rowBytes / columns - 1);
        byte[] value = new byte[perColumn];
        Arrays.fill(value, (byte) '7');
        for (int r = 0; r < rows; r++) {
            p = Packets.start(alloc, rowBytes + 8);
            for (int c = 0; c < columns; c++) {
                Packets.writeLenencBytes(p, value);
            }
            seq = append(out, p, seq);
        }
        if (eofDeprecated) {
            p = Packets.start(alloc, 8);
            p.writeByte(Packets.EOF).writeByte(0).writeByte(0).writeShortLE(ServerStatus.SERVER_STATUS_AUTOCOMMIT)
                    .writeShortLE(0);
            append(out, p, seq);
        } else {
            append(out, eofPayload(alloc, ServerStatus.SERVER_STATUS_AUTOCOMMIT), seq);
        }
        return out;
    }

    /** OK packet as an UPDATE gets it: affected rows, last insert id, status, warnings, an info string. */
    static ByteBuf ok(ByteBufAllocator alloc, long affectedRows, int status) {
        ByteBuf p = Packets.start(alloc, 32);
        p.writeByte(Packets.OK);
        Packets.writeLenencInt(p, affectedRows);
        Packets.writeLenencInt(p, 0);
        p.writeShortLE(status).writeShortLE(0);
        p.writeBytes("Rows matched: 1  Changed: 1  Warnings: 0".getBytes(StandardCharsets.US_ASCII));
        return Packets.finish(p, 1);
    }

    static ByteBuf eof(ByteBufAllocator alloc, int status) {
        return Packets.finish(eofPayload(alloc, status), 5);
    }

    /** The deprecate-EOF terminator: an OK packet with the 0xFE header. */
    static ByteBuf okTerminator(ByteBufAllocator alloc, int status) {
        ByteBuf p = Packets.start(alloc, 8);
        p.writeByte(Packets.EOF).writeByte(0).writeByte(0).writeShortLE(status).writeShortLE(0);
        return Packets.finish(p, 5);
    }

    private static ByteBuf eofPayload(ByteBufAllocator alloc, int status) {
        ByteBuf p = Packets.start(alloc, 5);
        p.writeByte(Packets.EOF).writeShortLE(0).writeShortLE(status);
        return p;
    }

    private static int append(ByteBuf out, ByteBuf packet, int seq) {
        Packets.finish(packet, seq & 0xff);
        out.writeBytes(packet);
        packet.release();
        return seq + 1;
    }

    /** Unretained slices of each packet in {@code wire} (borrowed: valid while {@code wire} is). */
    static ByteBuf[] frames(ByteBuf wire) {
        java.util.List<ByteBuf> out = new java.util.ArrayList<>();
        int i = wire.readerIndex();
        while (i < wire.writerIndex()) {
            int len = wire.getUnsignedMediumLE(i);
            out.add(wire.slice(i, Packets.HEADER_SIZE + len));
            i += Packets.HEADER_SIZE + len;
        }
        return out.toArray(new ByteBuf[0]);
    }
}
