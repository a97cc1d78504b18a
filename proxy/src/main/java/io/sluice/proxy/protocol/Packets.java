package io.sluice.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.StandardCharsets;

/**
 * Reading and writing MySQL packets. A "packet" here is one physical frame as the
 * {@link PacketFrameDecoder} emits it: 3-byte little-endian payload length, 1-byte sequence id,
 * payload. Readers borrow: they use absolute {@code get*} relative to {@code readerIndex()} (or
 * advance a slice the caller passed) and never release. Writers allocate from the given allocator.
 */
public final class Packets {
    public static final int HEADER_SIZE = 4;
    /** A payload of exactly this length is continued by the next frame (packets of 16 MiB and more). */
    public static final int MAX_PAYLOAD = 0xFFFFFF;

    public static final int OK = 0x00;
    public static final int EOF = 0xFE;
    public static final int ERR = 0xFF;
    public static final int LOCAL_INFILE = 0xFB;

    private Packets() {
    }

    public static int payloadLength(ByteBuf packet) {
        return packet.getUnsignedMediumLE(packet.readerIndex());
    }

    /** The index just past the packet's payload (the packet starts at its reader index). */
    public static int payloadEnd(ByteBuf packet) {
        return packet.readerIndex() + HEADER_SIZE + payloadLength(packet);
    }

    public static int sequenceId(ByteBuf packet) {
        return packet.getUnsignedByte(packet.readerIndex() + 3);
    }

    public static void setSequenceId(ByteBuf packet, int seq) {
        packet.setByte(packet.readerIndex() + 3, seq);
    }

    /** First payload byte, or -1 for an empty payload. */
    public static int header(ByteBuf packet) {
        return payloadLength(packet) == 0 ? -1 : packet.getUnsignedByte(packet.readerIndex() + HEADER_SIZE);
    }

    /** The payload as a slice sharing the packet's memory (not retained). */
    public static ByteBuf payload(ByteBuf packet) {
        return packet.slice(packet.readerIndex() + HEADER_SIZE, payloadLength(packet));
    }

    /** True for an ERR packet. */
    public static boolean isErr(ByteBuf packet) {
        return header(packet) == ERR;
    }

    /** True for an OK packet in a position where OK is expected (header 0x00, payload at least 7 bytes). */
    public static boolean isOk(ByteBuf packet) {
        return header(packet) == OK && payloadLength(packet) >= 7;
    }

    /** True for a classic EOF packet: 0xFE with a payload shorter than 9 bytes. */
    public static boolean isEof(ByteBuf packet) {
        return endsRows(header(packet), payloadLength(packet), false);
    }

    /**
     * True for the packet that ends a row stream when CLIENT_DEPRECATE_EOF is on (an OK packet with
     * the 0xFE header), or the classic EOF. A row can also start with 0xFE (a length-encoded string
     * of 2^24 bytes or more), but such a row's payload is longer than this bound.
     */
    public static boolean isResultSetEnd(ByteBuf packet) {
        return endsRows(header(packet), payloadLength(packet), true);
    }

    /**
     * Whether a packet ends a result set's rows (or a field list): {@link #isResultSetEnd} under
     * CLIENT_DEPRECATE_EOF, else {@link #isEof}. This form takes the header byte and payload length,
     * for scanners that walk a buffer by offsets without slicing packets; the two bounds live here.
     */
    public static boolean endsRows(int header, int payloadLength, boolean eofDeprecated) {
        return header == EOF && payloadLength < (eofDeprecated ? MAX_PAYLOAD : 9);
    }

    /** {@link #endsRows(int, int, boolean)} for one packet. */
    public static boolean endsRows(ByteBuf packet, boolean eofDeprecated) {
        return endsRows(header(packet), payloadLength(packet), eofDeprecated);
    }

    /**
     * Status flags of an OK packet (header 0x00 or 0xFE): after the header, two length-encoded
     * integers (affected rows, last insert id), then int2 status. Requires CLIENT_PROTOCOL_41.
     */
    public static int okStatus(ByteBuf packet) {
        int i = packet.readerIndex() + HEADER_SIZE + 1;
        i += lenencSize(packet.getUnsignedByte(i));
        i += lenencSize(packet.getUnsignedByte(i));
        return packet.getUnsignedShortLE(i);
    }

    /** Status flags of a classic EOF packet: header, int2 warnings, int2 status. */
    public static int eofStatus(ByteBuf packet) {
        return payloadLength(packet) >= 5 ? packet.getUnsignedShortLE(packet.readerIndex() + HEADER_SIZE + 3) : 0;
    }

    /** Status of a row-stream terminator: classic EOF when short, else an OK packet with 0xFE header. */
    public static int terminatorStatus(ByteBuf packet) {
        return isEof(packet) ? eofStatus(packet) : okStatus(packet);
    }

    /** Bytes a length-encoded integer occupies, given its first byte. */
    public static int lenencSize(int firstByte) {
        if (firstByte < 0xfb) {
            return 1;
        }
        return switch (firstByte) {
            case 0xfc -> 3;
            case 0xfd -> 4;
            case 0xfe -> 9;
            default -> 1; // 0xfb (NULL) and 0xff (invalid) occupy one byte
        };
    }

    /** Reads a length-encoded integer, advancing {@code buf}. */
    public static long readLenencInt(ByteBuf buf) {
        int first = buf.readUnsignedByte();
        if (first < 0xfb) {
            return first;
        }
        return switch (first) {
            case 0xfc -> buf.readUnsignedShortLE();
            case 0xfd -> buf.readUnsignedMediumLE();
            case 0xfe -> buf.readLongLE();
            default -> throw new MalformedPacketException("invalid length-encoded integer prefix 0x" + Integer.toHexString(first));
        };
    }

    /** Reads a length-encoded string as a slice of {@code buf} (not retained), advancing it. */
    public static ByteBuf readLenencSlice(ByteBuf buf) {
        long len = readLenencInt(buf);
        if (len > buf.readableBytes()) {
            throw new MalformedPacketException("length-encoded string of " + len + " bytes but only " + buf.readableBytes() + " left");
        }
        return buf.readSlice((int) len);
    }

    public static String readLenencString(ByteBuf buf) {
        return readLenencSlice(buf).toString(StandardCharsets.UTF_8);
    }

    /** Reads a NUL-terminated string, advancing past the NUL; a missing NUL reads to the end. */
    public static String readNulString(ByteBuf buf) {
        int end = buf.indexOf(buf.readerIndex(), buf.writerIndex(), (byte) 0);
        if (end < 0) {
            String s = buf.toString(StandardCharsets.UTF_8);
            buf.skipBytes(buf.readableBytes());
            return s;
        }
        String s = buf.toString(buf.readerIndex(), end - buf.readerIndex(), StandardCharsets.UTF_8);
        buf.readerIndex(end + 1);
        return s;
    }

    public static byte[] readNulBytes(ByteBuf buf) {
        int end = buf.indexOf(buf.readerIndex(), buf.writerIndex(), (byte) 0);
        int len = (end < 0 ? buf.writerIndex() : end) - buf.readerIndex();
        byte[] b = new byte[len];
        buf.readBytes(b);
        if (end >= 0) {
            buf.skipBytes(1);
        }
        return b;
    }

    public static void writeLenencInt(ByteBuf buf, long v) {
        if (v < 0xfb && v >= 0) {
            buf.writeByte((int) v);
        } else if (v < 0x10000 && v >= 0) {
            buf.writeByte(0xfc).writeShortLE((int) v);
        } else if (v < 0x1000000 && v >= 0) {
            buf.writeByte(0xfd).writeMediumLE((int) v);
        } else {
            buf.writeByte(0xfe).writeLongLE(v);
        }
    }

    public static void writeLenencBytes(ByteBuf buf, byte[] b) {
        writeLenencInt(buf, b.length);
        buf.writeBytes(b);
    }

    public static void writeLenencString(ByteBuf buf, String s) {
        writeLenencBytes(buf, s.getBytes(StandardCharsets.UTF_8));
    }

    public static void writeNulString(ByteBuf buf, String s) {
        buf.writeBytes(s.getBytes(StandardCharsets.UTF_8)).writeByte(0);
    }

    /** Starts a packet Sluice writes itself: reserves the header, to be patched by {@link #finish}. */
    public static ByteBuf start(ByteBufAllocator alloc, int payloadHint) {
        ByteBuf buf = alloc.ioBuffer(HEADER_SIZE + payloadHint);
        buf.writeInt(0);
        return buf;
    }

    /** Patches length and sequence id into a packet begun with {@link #start}; payloads stay under 16 MiB. */
    public static ByteBuf finish(ByteBuf buf, int seq) {
        int len = buf.writerIndex() - buf.readerIndex() - HEADER_SIZE;
        if (len >= MAX_PAYLOAD) {
            buf.release();
            throw new IllegalArgumentException("Sluice-built packet too large: " + len);
        }
        buf.setMediumLE(buf.readerIndex(), len);
        buf.setByte(buf.readerIndex() + 3, seq);
        return buf;
    }

    /** A packet with the given payload bytes. */
    public static ByteBuf of(ByteBufAllocator alloc, int seq, byte[] payload) {
        ByteBuf buf = start(alloc, payload.length);
        buf.writeBytes(payload);
        return finish(buf, seq);
    }

    /** ERR_Packet (protocol 4.1 form with SQLSTATE marker). */
    public static ByteBuf err(ByteBufAllocator alloc, int seq, int code, String sqlState, String message) {
        byte[] msg = message.getBytes(StandardCharsets.UTF_8);
        ByteBuf buf = start(alloc, 9 + msg.length);
        buf.writeByte(ERR).writeShortLE(code).writeByte('#');
        buf.writeBytes(sqlState.getBytes(StandardCharsets.US_ASCII), 0, 5);
        buf.writeBytes(msg);
        return finish(buf, seq);
    }

    /** OK_Packet with no info and no session-state data. */
    public static ByteBuf ok(ByteBufAllocator alloc, int seq, long affectedRows, long lastInsertId, int status, int warnings) {
        ByteBuf buf = start(alloc, 16);
        buf.writeByte(OK);
        writeLenencInt(buf, affectedRows);
        writeLenencInt(buf, lastInsertId);
        buf.writeShortLE(status).writeShortLE(warnings);
        return finish(buf, seq);
    }

    /** Classic EOF_Packet. */
    public static ByteBuf eof(ByteBufAllocator alloc, int seq, int warnings, int status) {
        ByteBuf buf = start(alloc, 5);
        buf.writeByte(EOF).writeShortLE(warnings).writeShortLE(status);
        return finish(buf, seq);
    }

    /** A command packet (sequence id 0): command byte plus the given argument bytes. */
    public static ByteBuf command(ByteBufAllocator alloc, CommandType type, byte[] argument) {
        ByteBuf buf = start(alloc, 1 + argument.length);
        buf.writeByte(type.code()).writeBytes(argument);
        return finish(buf, 0);
    }

    /** COM_QUERY with the given SQL text. */
    public static ByteBuf query(ByteBufAllocator alloc, String sql) {
        return command(alloc, CommandType.COM_QUERY, sql.getBytes(StandardCharsets.UTF_8));
    }
}
