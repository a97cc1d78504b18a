package io.sluice.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.util.Arrays;

/**
 * Reading and rewriting the binary-protocol statement commands (COM_STMT_EXECUTE, _FETCH, _RESET,
 * _CLOSE, _SEND_LONG_DATA) and the first packet of a COM_STMT_PREPARE reply, for statement
 * virtualization: every one of them carries a 4-byte statement id right after its first byte.
 *
 * <p>COM_STMT_EXECUTE's payload (no query attributes, which Sluice does not offer):
 * {@code 0x17, id(4), flags(1), iteration count(4)}, then when the statement has parameters a null
 * bitmap of {@code (n + 7) / 8} bytes, the new-params-bound flag, and when that flag is 1 the
 * parameter types ({@code 2 * n} bytes), then the values. A server remembers the types of the last
 * execution that sent them, so an execution with the flag 0 relies on that.
 */
public final class StatementPackets {
    private static final int ID_OFFSET = Packets.HEADER_SIZE + 1;

    private StatementPackets() {
    }

    /**
     * MariaDB's statement id for "the statement this connection prepared last" (while it exists), so
     * that a client can pipeline commands right behind its COM_STMT_PREPARE.
     */
    public static final int LAST_PREPARED_ID = 0xFFFFFFFF;

    /** Whether the packet is long enough to carry a statement id. */
    public static boolean hasStatementId(ByteBuf packet) {
        return Packets.payloadLength(packet) >= 5;
    }

    /** The statement id of a statement command, or of a COM_STMT_PREPARE OK reply. */
    public static int statementId(ByteBuf packet) {
        return packet.getIntLE(packet.readerIndex() + ID_OFFSET);
    }

    /** Rewrites the statement id in place. */
    public static void statementId(ByteBuf packet, int id) {
        packet.setIntLE(packet.readerIndex() + ID_OFFSET, id);
    }

    /** Parameters of a COM_STMT_PREPARE OK reply. */
    public static int preparedParams(ByteBuf packet) {
        return packet.getUnsignedShortLE(packet.readerIndex() + Packets.HEADER_SIZE + 7);
    }

    /** Index of the new-params-bound flag in a COM_STMT_EXECUTE for a statement with {@code params} > 0, or -1 when the packet is too short. */
    public static int boundFlagIndex(ByteBuf packet, int params) {
        int offset = 10 + (params + 7) / 8;
        return Packets.payloadLength(packet) > offset ? packet.readerIndex() + Packets.HEADER_SIZE + offset : -1;
    }

    /** The parameter types a COM_STMT_EXECUTE sends (its flag at {@code flagIndex} is 1), or null when the packet is too short. */
    public static byte[] types(ByteBuf packet, int flagIndex, int params) {
        int end = Packets.payloadEnd(packet);
        if (flagIndex + 1 + 2 * params > end) {
            return null;
        }
        byte[] t = new byte[2 * params];
        packet.getBytes(flagIndex + 1, t);
        return t;
    }

    /** Whether the types at {@code flagIndex + 1} equal {@code known}, without copying. */
    public static boolean sameTypes(ByteBuf packet, int flagIndex, byte[] known) {
        int end = Packets.payloadEnd(packet);
        if (known == null || flagIndex + 1 + known.length > end) {
            return false;
        }
        for (int i = 0; i < known.length; i++) {
            if (packet.getByte(flagIndex + 1 + i) != known[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * A copy of a COM_STMT_EXECUTE whose new-params-bound flag (at {@code flagIndex}) was 0, with the
     * flag set and {@code types} inserted after it: what a server that never saw this client's types
     * needs. Null when the result would not fit one packet (the caller refuses the command).
     */
    public static ByteBuf withTypes(ByteBufAllocator alloc, ByteBuf packet, int flagIndex, byte[] types) {
        int length = Packets.payloadLength(packet) + types.length;
        if (length >= Packets.MAX_PAYLOAD) {
            return null;
        }
        int start = packet.readerIndex();
        int end = Packets.payloadEnd(packet);
        ByteBuf out = alloc.buffer(Packets.HEADER_SIZE + length);
        out.writeMediumLE(length).writeByte(Packets.sequenceId(packet));
        out.writeBytes(packet, start + Packets.HEADER_SIZE, flagIndex - start - Packets.HEADER_SIZE);
        out.writeByte(1);
        out.writeBytes(types);
        out.writeBytes(packet, flagIndex + 1, end - flagIndex - 1);
        return out;
    }

    /** A COM_STMT_CLOSE (no reply) or COM_STMT_RESET for server statement {@code id}. */
    public static ByteBuf command(ByteBufAllocator alloc, CommandType type, int id) {
        ByteBuf out = alloc.buffer(Packets.HEADER_SIZE + 5);
        out.writeMediumLE(5).writeByte(0).writeByte(type.code()).writeIntLE(id);
        return out;
    }

    /** Types equal by content (two sessions binding the same types keep one server binding). */
    public static boolean sameTypes(byte[] a, byte[] b) {
        return a == b || a != null && Arrays.equals(a, b);
    }
}
