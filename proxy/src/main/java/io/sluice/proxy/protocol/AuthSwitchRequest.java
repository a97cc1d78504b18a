package io.sluice.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Protocol::AuthSwitchRequest: the server asks the client to authenticate with another plugin,
 * with fresh plugin data (for the scramble plugins, a 20-byte nonce followed by NUL).
 */
public record AuthSwitchRequest(String pluginName, byte[] pluginData) {

    public static AuthSwitchRequest read(ByteBuf packet) {
        ByteBuf p = Packets.payload(packet);
        p.skipBytes(1);
        String name = Packets.readNulString(p);
        int len = p.readableBytes();
        if (len > 0 && p.getByte(p.writerIndex() - 1) == 0) {
            len--;
        }
        byte[] data = new byte[len];
        p.readBytes(data);
        return new AuthSwitchRequest(name, data);
    }

    public ByteBuf write(ByteBufAllocator alloc, int seq) {
        ByteBuf buf = Packets.start(alloc, 2 + pluginName.length() + pluginData.length + 1);
        buf.writeByte(Packets.EOF);
        Packets.writeNulString(buf, pluginName);
        buf.writeBytes(pluginData).writeByte(0);
        return Packets.finish(buf, seq);
    }
}
