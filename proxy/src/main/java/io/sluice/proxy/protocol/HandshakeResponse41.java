package io.sluice.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The client's reply to the handshake (Protocol::HandshakeResponse41). Sluice reads one from each
 * client and writes one when it logs in to the server.
 *
 * @param database     the schema asked for, or null (CLIENT_CONNECT_WITH_DB absent or empty)
 * @param authPlugin   the plugin that produced {@code authResponse}; null when the client did not say
 * @param attributes   connect attributes (CLIENT_CONNECT_ATTRS), in the order sent
 */
public record HandshakeResponse41(Capabilities capabilities, int maxPacketSize, int collation, String user,
                                  byte[] authResponse, String database, String authPlugin,
                                  Map<String, String> attributes) {

    /** Size of an SSLRequest payload: the fixed part of a handshake response. */
    public static final int SSL_REQUEST_LENGTH = 32;

    /** True when {@code packet} is an SSLRequest (the fixed part only, with CLIENT_SSL set). */
    public static boolean isSslRequest(ByteBuf packet) {
        return Packets.payloadLength(packet) == SSL_REQUEST_LENGTH
                && (packet.getIntLE(packet.readerIndex() + Packets.HEADER_SIZE) & Capabilities.CLIENT_SSL) != 0;
    }

    /** Reads a handshake response from a whole frame; the caller keeps ownership of {@code packet}. */
    public static HandshakeResponse41 read(ByteBuf packet) {
        ByteBuf p = Packets.payload(packet);
        if (p.readableBytes() < SSL_REQUEST_LENGTH) {
            throw new MalformedPacketException("handshake response of " + p.readableBytes()
                    + " bytes is shorter than the 32-byte fixed part (pre-4.1 clients are not supported)");
        }
        int caps = p.readIntLE();
        if ((caps & Capabilities.CLIENT_PROTOCOL_41) == 0) {
            throw new MalformedPacketException("client does not speak protocol 4.1 (CLIENT_PROTOCOL_41 unset)");
        }
        int maxPacket = p.readIntLE();
        int collation = p.readUnsignedByte();
        p.skipBytes(23);
        String user = Packets.readNulString(p);
        byte[] auth;
        if ((caps & Capabilities.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) != 0) {
            ByteBuf a = Packets.readLenencSlice(p);
            auth = new byte[a.readableBytes()];
            a.readBytes(auth);
        } else if ((caps & Capabilities.CLIENT_SECURE_CONNECTION) != 0) {
            int len = p.readUnsignedByte();
            if (len > p.readableBytes()) {
                throw new MalformedPacketException("auth response length " + len + " runs past the packet end");
            }
            auth = new byte[len];
            p.readBytes(auth);
        } else {
            auth = Packets.readNulBytes(p);
        }
        String db = null;
        if ((caps & Capabilities.CLIENT_CONNECT_WITH_DB) != 0 && p.isReadable()) {
            db = Packets.readNulString(p);
            if (db.isEmpty()) {
                db = null;
            }
        }
        String plugin = null;
        if ((caps & Capabilities.CLIENT_PLUGIN_AUTH) != 0 && p.isReadable()) {
            plugin = Packets.readNulString(p);
        }
        Map<String, String> attrs = Collections.emptyMap();
        if ((caps & Capabilities.CLIENT_CONNECT_ATTRS) != 0 && p.isReadable()) {
            attrs = readAttributes(p);
        }
        return new HandshakeResponse41(new Capabilities(caps), maxPacket, collation, user, auth, db, plugin, attrs);
    }

    static Map<String, String> readAttributes(ByteBuf p) {
        ByteBuf all = Packets.readLenencSlice(p);
        Map<String, String> attrs = new LinkedHashMap<>();
        while (all.isReadable()) {
            String k = Packets.readLenencString(all);
            String v = Packets.readLenencString(all);
            attrs.put(k, v);
        }
        return attrs;
    }

    /** Writes connect attributes as HandshakeResponse41 and COM_CHANGE_USER carry them: a length, then key/value pairs. */
    public static void writeAttributes(ByteBuf buf, Map<String, String> attributes) {
        ByteBuf tmp = buf.alloc().heapBuffer();
        try {
            attributes.forEach((k, v) -> {
                Packets.writeLenencString(tmp, k);
                Packets.writeLenencString(tmp, v);
            });
            Packets.writeLenencInt(buf, tmp.readableBytes());
            buf.writeBytes(tmp);
        } finally {
            tmp.release();
        }
    }

    /** Writes the fixed 32-byte part only, as an SSLRequest. */
    public ByteBuf writeSslRequest(ByteBufAllocator alloc, int seq) {
        ByteBuf buf = Packets.start(alloc, SSL_REQUEST_LENGTH);
        writeFixed(buf);
        return Packets.finish(buf, seq);
    }

    private void writeFixed(ByteBuf buf) {
        buf.writeIntLE(capabilities.bits()).writeIntLE(maxPacketSize).writeByte(collation).writeZero(23);
    }

    /** Writes the whole response with the given sequence id (1, or 2 after an SSLRequest). */
    public ByteBuf write(ByteBufAllocator alloc, int seq) {
        ByteBuf buf = Packets.start(alloc, 128);
        writeFixed(buf);
        Packets.writeNulString(buf, user);
        if (capabilities.has(Capabilities.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA)) {
            Packets.writeLenencBytes(buf, authResponse);
        } else {
            buf.writeByte(authResponse.length).writeBytes(authResponse);
        }
        if (capabilities.has(Capabilities.CLIENT_CONNECT_WITH_DB)) {
            Packets.writeNulString(buf, database == null ? "" : database);
        }
        if (capabilities.has(Capabilities.CLIENT_PLUGIN_AUTH)) {
            Packets.writeNulString(buf, authPlugin == null ? "" : authPlugin);
        }
        if (capabilities.has(Capabilities.CLIENT_CONNECT_ATTRS)) {
            writeAttributes(buf, attributes);
        }
        return Packets.finish(buf, seq);
    }

    @Override
    public String toString() {
        return "HandshakeResponse41[user=" + user + ", db=" + database + ", plugin=" + authPlugin + ", "
                + capabilities + ", collation=" + collation + "]";
    }
}
