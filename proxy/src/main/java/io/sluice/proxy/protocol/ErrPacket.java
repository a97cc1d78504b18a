package io.sluice.proxy.protocol;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;

/** A decoded ERR_Packet. */
public record ErrPacket(int code, String sqlState, String message) {

    /** Reads an ERR packet (whole frame, header included); the caller keeps ownership of {@code packet}. */
    public static ErrPacket read(ByteBuf packet) {
        ByteBuf p = Packets.payload(packet);
        p.skipBytes(1);
        int code = p.readUnsignedShortLE();
        String state = "HY000";
        if (p.isReadable() && p.getByte(p.readerIndex()) == '#' && p.readableBytes() >= 6) {
            p.skipBytes(1);
            state = p.readCharSequence(5, StandardCharsets.US_ASCII).toString();
        }
        return new ErrPacket(code, state, p.toString(StandardCharsets.UTF_8));
    }

    /** The error code of an ERR packet (whole frame, header included), read in place without decoding the rest. */
    public static int codeOf(ByteBuf packet) {
        return packet.getUnsignedShortLE(packet.readerIndex() + Packets.HEADER_SIZE + 1);
    }

    @Override
    public String toString() {
        return "ERROR " + code + " (" + sqlState + "): " + message;
    }
}
