package io.sluice.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Framing: input split at every byte gives the same packets, nothing left over, every buffer released. */
class PacketFrameDecoderTest {

    private static byte[] stream() {
        ByteBuf b = Unpooled.buffer();
        for (int i = 0; i < 5; i++) {
            int len = i * 7;
            b.writeMediumLE(len).writeByte(i);
            for (int k = 0; k < len; k++) {
                b.writeByte(k);
            }
        }
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        b.release();
        return out;
    }

    @Test
    void splitAtEveryByte() {
        byte[] all = stream();
        for (int split = 0; split <= all.length; split++) {
            EmbeddedChannel ch = new EmbeddedChannel(new PacketFrameDecoder(1024));
            ch.writeInbound(Unpooled.wrappedBuffer(all, 0, split));
            ch.writeInbound(Unpooled.wrappedBuffer(all, split, all.length - split));
            for (int i = 0; i < 5; i++) {
                ByteBuf p = ch.readInbound();
                assertEquals(i * 7, Packets.payloadLength(p), "split " + split);
                assertEquals(i, Packets.sequenceId(p));
                p.release();
            }
            assertNull(ch.readInbound());
            assertTrue(!ch.finish());
        }
    }

    /**
     * With a row-run consumer, each call emits one item and asks the consumer afresh. This consumer
     * takes packets 1 and 2 as a run when both are there when the decoder stands at packet 1. That
     * holds unless the input is split after packet 1 is whole and before packet 2 is (then packet 1
     * has already gone out alone); everything else comes as single frames, in order.
     */
    @Test
    void aRowRunComesAsOneBufferBetweenSingleFrames() {
        byte[] all = stream();
        int runBytes = (4 + 7) + (4 + 14); // packets 1 and 2
        int packet1End = 4 + (4 + 7);
        int runEnd = 4 + runBytes;
        PacketFrameDecoder.RowRuns runs = (in, from, to) ->
                to - from >= runBytes && in.getUnsignedByte(from + 3) == 1 ? runBytes : 0;
        for (int split = 0; split <= all.length; split++) {
            EmbeddedChannel ch = new EmbeddedChannel(new PacketFrameDecoder(1024, runs));
            ch.writeInbound(Unpooled.wrappedBuffer(all, 0, split));
            ch.writeInbound(Unpooled.wrappedBuffer(all, split, all.length - split));
            java.util.List<Integer> seqs = new java.util.ArrayList<>();
            Object m;
            while ((m = ch.readInbound()) != null) {
                if (m instanceof PacketFrameDecoder.RowRun run) {
                    ByteBuf b = run.content();
                    assertEquals(runBytes, b.readableBytes(), "split " + split);
                    assertEquals(1, Packets.sequenceId(b));
                    assertEquals(7, Packets.payloadLength(b));
                    assertEquals(14, b.getUnsignedMediumLE(b.readerIndex() + 4 + 7));
                    seqs.add(-1);
                    run.release();
                } else {
                    ByteBuf p = (ByteBuf) m;
                    seqs.add(Packets.sequenceId(p));
                    p.release();
                }
            }
            boolean asRun = split < packet1End || split >= runEnd;
            assertEquals(asRun ? java.util.List.of(0, -1, 3, 4) : java.util.List.of(0, 1, 2, 3, 4), seqs, "split " + split);
            assertTrue(!ch.finish());
        }
    }

    @Test
    void payloadOverTheLimitIsRefusedWithAClearMessage() {
        EmbeddedChannel ch = new EmbeddedChannel(new PacketFrameDecoder(100));
        DecoderException e = assertThrows(DecoderException.class,
                () -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 1, 2})));
        assertInstanceOf(TooLongFrameException.class, e);
        assertTrue(e.getMessage().contains("exceeds the limit of 100"), e.getMessage());
        ch.finishAndReleaseAll();
    }

    @Test
    void bytesAfterAnSslRequestArePassedOnRaw() {
        ByteBuf b = Unpooled.buffer();
        b.writeMediumLE(32).writeByte(1).writeIntLE(Capabilities.CLIENT_SSL | Capabilities.CLIENT_PROTOCOL_41).writeZero(28);
        b.writeBytes(new byte[] {0x16, 0x03, 0x01}); // start of a TLS ClientHello
        EmbeddedChannel ch = new EmbeddedChannel(new PacketFrameDecoder(1024, true));
        ch.writeInbound(b);
        ByteBuf request = ch.readInbound();
        assertTrue(HandshakeResponse41.isSslRequest(request));
        request.release();
        PacketFrameDecoder.TlsBytes raw = ch.readInbound();
        assertEquals(3, raw.bytes().readableBytes());
        assertEquals(0x16, raw.bytes().getByte(0));
        raw.bytes().release();
        ch.finishAndReleaseAll();
    }
}
