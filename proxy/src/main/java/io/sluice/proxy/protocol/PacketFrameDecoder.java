package io.sluice.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;
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
 *
 * <p>With a {@link RowRuns} consumer (server channels), runs of whole row packets that the consumer
 * would only count and forward come out as one {@link RowRun}: one retained slice of the read buffer
 * instead of a slice, a pipeline trip and an outbound entry per row (bench: those per-row costs
 * dominate Sluice's user-space CPU on result sets of 100 rows). The consumer is asked before each
 * emitted item, so it decides on the state its previous item left.
 */
public final class PacketFrameDecoder extends ByteToMessageDecoder {
    /**
     * Bytes that followed an SSLRequest in the same read: the start of the client's TLS handshake.
     * The receiver re-injects them at the pipeline head, after adding the TLS handler there.
     */
    public record TlsBytes(ByteBuf bytes) {
    }

    /** Says how many leading bytes form a run of row packets (see {@link #PacketFrameDecoder(int, RowRuns)}). */
    public interface RowRuns {
        /**
         * The length of the run of whole row packets at {@code from} in {@code in} (readable up to
         * {@code to}) that the next handler takes as one {@link RowRun}; 0 for none. Reads only.
         */
        int rowRunBytes(ByteBuf in, int from, int to);
    }

    /** Several whole row packets, back to back, headers included; owned by the receiver. */
    public static final class RowRun extends DefaultByteBufHolder {
        RowRun(ByteBuf packets) {
            super(packets);
        }
    }

    private final RowRuns runs;
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
        this(maxPayload, watchSslRequest, null);
    }

    /** A server channel's decoder: emits {@link RowRun}s where {@code runs} says so. */
    public PacketFrameDecoder(int maxPayload, RowRuns runs) {
        this(maxPayload, false, runs);
    }

    private PacketFrameDecoder(int maxPayload, boolean watchSslRequest, RowRuns runs) {
        this.maxPayload = maxPayload;
        this.firstPacket = watchSslRequest;
        this.runs = runs;
    }

    /** Changes the bound (e.g. raised to the full 16 MiB once a client has logged in). */
    public void maxPayload(int maxPayload) {
        this.maxPayload = maxPayload;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (runs != null) {
            int run = runs.rowRunBytes(in, in.readerIndex(), in.writerIndex());
            if (run > 0) {
                out.add(new RowRun(in.readRetainedSlice(run)));
                return;
            }
        }
        while (in.readableBytes() >= Packets.HEADER_SIZE) {
            if (runs != null && !out.isEmpty()) {
                return; // one item per call: the consumer takes it before deciding on the next run
            }
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
