package io.sluice.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.sluice.proxy.protocol.Capabilities;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.PacketFrameDecoder;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.ResponseTracker;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The server-to-client path of one backend read: a buffer holding a 100- or 1,000-row result set
 * (4 columns, 120-byte rows, CLIENT_DEPRECATE_EOF: 106 or 1,006 packets) goes through the real
 * {@link PacketFrameDecoder} on an {@link EmbeddedChannel}. Scores are per read; the per-packet
 * figure is (score at 1,000 rows − score at 100 rows) / 900.
 * <ul>
 *   <li>{@code decode}: the decoder alone; a sink releases each frame.</li>
 *   <li>{@code decodeTrackForward}: what a session does with each frame — {@link ResponseTracker#onServerPacket},
 *       then {@code client.write(frame, voidPromise())}, one flush at read complete (as
 *       {@code ClientSession.backendPacket} / {@code onBackendReadComplete} on a same-loop backend);
 *       the "client" is a second EmbeddedChannel, drained after each read.</li>
 *   <li>{@code decodeTrackForwardRuns}: the same with row runs, as on Sluice's server channels: the
 *       decoder asks the tracker ({@link ResponseTracker#rowRunBytes}) and emits the rows between the
 *       column definitions and the terminator as one {@link PacketFrameDecoder.RowRun}, which is
 *       tracked ({@link ResponseTracker#onRowRun}) and written whole.</li>
 * </ul>
 * The buffer is re-read each invocation (retain + rewind), so no per-read buffer allocation is counted:
 * what remains is what the hot path allocates per read and per packet. The fork runs with the
 * launcher's Netty settings (Main.nettyDefaults): leak detection off, Recycler chunk size 1,024.
 *
 * <p>Benchmarks run on {@link EventLoopThreads} (FastThreadLocalThreads, like Sluice's event loops),
 * where Netty's Recycler reuses {@code PooledSlicedByteBuf}s and outbound-buffer entries; on JMH's
 * plain threads Netty 4.2 does not recycle, and every slice would look like a fresh allocation.
 * {@code pooled} is what Sluice's channels read into ({@code ChannelOption.ALLOCATOR} on both
 * bootstraps). The {@code adaptive} allocator is Netty 4.2's {@code ByteBufAllocator.DEFAULT}, kept
 * for comparison: its buffers' slices are plain {@code UnpooledSlicedByteBuf} objects, recycled by nobody.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled", "-Dio.netty.recycler.chunkSize=1024", "-Djmh.executor=CUSTOM",
        "-Djmh.executor.class=io.sluice.bench.EventLoopThreads"})
public class FrameForwardBenchmark {
    static final int COLUMNS = 4;

    /** Which allocator the received buffer comes from (slices of it are what the decoder emits). */
    @Param({"adaptive", "pooled"})
    public String allocator;

    /**
     * Rows in the one read (106 or 1,006 packets). Scores are per read: the difference between the
     * two sizes, divided by 900, is the cost of one more row packet, free of what a read costs once.
     */
    @Param({"100", "1000"})
    public int rows;

    private ByteBuf wire;
    private EmbeddedChannel decodeOnly;
    private Sink sink;
    private EmbeddedChannel backend;
    private EmbeddedChannel client;
    private ResponseTracker tracker;
    private EmbeddedChannel runsBackend;
    private EmbeddedChannel runsClient;
    private ResponseTracker runsTracker;

    @Setup(Level.Trial)
    public void setUp() {
        ByteBufAllocator alloc = Allocators.named(allocator);
        wire = Wire.textResultSet(alloc, COLUMNS, rows, 120, true);
        sink = new Sink();
        decodeOnly = new EmbeddedChannel(new PacketFrameDecoder(Packets.MAX_PAYLOAD), sink);
        client = new EmbeddedChannel();
        tracker = new ResponseTracker(new Capabilities(Capabilities.SUPPORTED));
        backend = new EmbeddedChannel(new PacketFrameDecoder(Packets.MAX_PAYLOAD), new Forward(tracker, client));
        runsClient = new EmbeddedChannel();
        runsTracker = new ResponseTracker(new Capabilities(Capabilities.SUPPORTED));
        Forward runs = new Forward(runsTracker, runsClient);
        runsBackend = new EmbeddedChannel(new PacketFrameDecoder(Packets.MAX_PAYLOAD, runs), runs);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        decodeOnly.finishAndReleaseAll();
        backend.finishAndReleaseAll();
        client.finishAndReleaseAll();
        runsBackend.finishAndReleaseAll();
        runsClient.finishAndReleaseAll();
        wire.release();
    }

    private ByteBuf nextRead() {
        wire.retain();
        wire.readerIndex(0);
        return wire;
    }

    @Benchmark
    public long decode() {
        decodeOnly.pipeline().fireChannelRead(nextRead());
        decodeOnly.pipeline().fireChannelReadComplete();
        return sink.bytes;
    }

    @Benchmark
    public int decodeTrackForward() {
        tracker.expect(CommandType.COM_QUERY);
        backend.pipeline().fireChannelRead(nextRead());
        backend.pipeline().fireChannelReadComplete();
        int n = 0;
        for (Object m; (m = client.readOutbound()) != null; n++) {
            ((ByteBuf) m).release();
        }
        if (!tracker.idle()) {
            throw new IllegalStateException("tracker did not see the end of the result set");
        }
        return n;
    }

    @Benchmark
    public int decodeTrackForwardRuns() {
        runsTracker.expect(CommandType.COM_QUERY);
        runsBackend.pipeline().fireChannelRead(nextRead());
        runsBackend.pipeline().fireChannelReadComplete();
        int n = 0;
        for (Object m; (m = runsClient.readOutbound()) != null; n++) {
            ((ByteBuf) m).release();
        }
        if (!runsTracker.idle() || runsTracker.lastResultRows() != rows) {
            throw new IllegalStateException("tracker did not see the whole result set");
        }
        return n;
    }

    /** Releases each frame, as a handler that consumed it would. */
    static final class Sink extends ChannelInboundHandlerAdapter {
        long bytes;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            bytes += b.readableBytes();
            b.release();
        }
    }

    /** The session's forwarding step, without the session: track, then write to the client unflushed. */
    static final class Forward extends ChannelInboundHandlerAdapter implements PacketFrameDecoder.RowRuns {
        private final ResponseTracker tracker;
        private final Channel client;

        Forward(ResponseTracker tracker, Channel client) {
            this.tracker = tracker;
            this.client = client;
        }

        @Override
        public int rowRunBytes(ByteBuf in, int from, int to) {
            return tracker.rowRunBytes(in, from, to);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof PacketFrameDecoder.RowRun run) {
                tracker.onRowRun(run.content());
                client.write(run.content(), client.voidPromise());
                return;
            }
            ByteBuf frame = (ByteBuf) msg;
            tracker.onServerPacket(frame);
            client.write(frame, client.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            client.flush();
        }
    }
}
