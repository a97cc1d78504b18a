package io.sluice.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;


/**
 * The server's initial handshake (Protocol::HandshakeV10). Sluice writes one to each client and
 * reads the server's when it opens a backend connection.
 *
 * @param nonce 20 scramble bytes (auth-plugin-data parts 1 and 2 without the trailing NUL)
 */
public record HandshakeV10(String serverVersion, long connectionId, byte[] nonce, Capabilities capabilities,
                           int collation, int status, String authPluginName) {

    /** Reads a handshake from a whole frame; the caller keeps ownership of {@code packet}. */
    public static HandshakeV10 read(ByteBuf packet) {
        ByteBuf p = Packets.payload(packet);
        int protocol = p.readUnsignedByte();
        if (protocol == Packets.ERR) {
            throw new MalformedPacketException("server refused the connection: " + ErrPacket.read(packet));
        }
        if (protocol != 10) {
            throw new MalformedPacketException("unsupported handshake protocol version " + protocol);
        }
        String version = Packets.readNulString(p);
        long id = p.readUnsignedIntLE();
        byte[] part1 = new byte[8];
        p.readBytes(part1);
        p.skipBytes(1);
        int caps = p.readUnsignedShortLE();
        int collation = 0;
        int status = 0;
        int authDataLen = 0;
        byte[] nonce = part1;
        String plugin = "mysql_native_password";
        if (p.isReadable()) {
            collation = p.readUnsignedByte();
            status = p.readUnsignedShortLE();
            caps |= p.readUnsignedShortLE() << 16;
            authDataLen = p.readUnsignedByte();
            p.skipBytes(10);
            if ((caps & Capabilities.CLIENT_SECURE_CONNECTION) != 0) {
                int len2 = Math.max(13, authDataLen - 8);
                byte[] part2 = new byte[Math.min(len2, p.readableBytes())];
                p.readBytes(part2);
                int keep = part2.length;
                if (keep > 0 && part2[keep - 1] == 0) {
                    keep--;
                }
                nonce = new byte[8 + keep];
                System.arraycopy(part1, 0, nonce, 0, 8);
                System.arraycopy(part2, 0, nonce, 8, keep);
            }
            if ((caps & Capabilities.CLIENT_PLUGIN_AUTH) != 0 && p.isReadable()) {
                plugin = Packets.readNulString(p);
            }
        }
        return new HandshakeV10(version, id, nonce, new Capabilities(caps), collation, status, plugin);
    }

    /** Writes this handshake as sequence id 0. */
    public ByteBuf write(ByteBufAllocator alloc) {
        ByteBuf buf = Packets.start(alloc, 80 + serverVersion.length());
        buf.writeByte(10);
        Packets.writeNulString(buf, serverVersion);
        buf.writeIntLE((int) connectionId);
        buf.writeBytes(nonce, 0, 8);
        buf.writeByte(0);
        buf.writeShortLE(capabilities.bits() & 0xffff);
        buf.writeByte(collation);
        buf.writeShortLE(status);
        buf.writeShortLE(capabilities.bits() >>> 16);
        buf.writeByte(nonce.length + 1);
        buf.writeZero(10);
        buf.writeBytes(nonce, 8, nonce.length - 8);
        buf.writeByte(0);
        Packets.writeNulString(buf, authPluginName);
        return Packets.finish(buf, 0);
    }

    @Override
    public String toString() {
        return "HandshakeV10[" + serverVersion + ", id=" + connectionId + ", " + capabilities + ", collation="
                + collation + ", plugin=" + authPluginName + ", nonce=" + nonce.length + "b]";
    }

    /** Whether the server is MariaDB (it announces itself in the version string). */
    public boolean isMariaDb() {
        return serverVersion.toLowerCase(java.util.Locale.ROOT).contains("mariadb");
    }
}
