package io.sluice.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.TooLongFrameException;

import java.util.List;

/**
 * Slices the byte stream into physical MySQL packets (header included) without copying: each
 * emitted frame is a retained slice of the received buffer, owned by the next handler. Packets of
 * 16 MiB and more arrive as several frames, as on the wire; nothing here joins them.
 *
 * <p>{@code maxPayload} bounds one frame's payload; a client still logging in gets a small bound
 * (a handshake response is tiny), so an absurd length header cannot make Sluice buffer 16 MiB for
 * an unauthenticated peer.
 */
public final class PacketFrameDecoder extends ByteToMessageDecoder {
    /**
     * Bytes that followed an SSLRequest in the same read: the start of the client's TLS handshake.
     * The receiver re-injects them at the pipeline head, after adding the TLS handler there.
     */
    public record TlsBytes(ByteBuf bytes) {
    }

    private volatile int maxPayload;
    /** True until the first packet: a client's first packet may be an SSLRequest. */
    private boolean firstPacket;

    public PacketFrameDecoder(int maxPayload) {
        this(maxPayload, false);
    }

    /**
     * @param watchSslRequest true on client channels: when the first packet is an SSLRequest, the
     *                        bytes after it are passed on raw as {@link TlsBytes}, not as frames
     */
    public PacketFrameDecoder(int maxPayload, boolean watchSslRequest) {
        this.maxPayload = maxPayload;
        this.firstPacket = watchSslRequest;
    }

    /** Changes the bound (e.g. raised to the full 16 MiB once a client has logged in). */
    public void maxPayload(int maxPayload) {
        this.maxPayload = maxPayload;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (in.readableBytes() >= Packets.HEADER_SIZE) {
            int len = in.getUnsignedMediumLE(in.readerIndex());
            if (len > maxPayload) {
                in.skipBytes(in.readableBytes());
                throw new TooLongFrameException("packet payload of " + len + " bytes exceeds the limit of "
                        + maxPayload + " bytes at this stage");
            }
            if (in.readableBytes() < Packets.HEADER_SIZE + len) {
                return;
            }
            ByteBuf frame = in.readRetainedSlice(Packets.HEADER_SIZE + len);
            out.add(frame);
            if (firstPacket) {
                firstPacket = false;
                if (HandshakeResponse41.isSslRequest(frame)) {
                    if (in.isReadable()) {
                        out.add(new TlsBytes(in.readRetainedSlice(in.readableBytes())));
                    }
                    return;
                }
            }
        }
    }
}
