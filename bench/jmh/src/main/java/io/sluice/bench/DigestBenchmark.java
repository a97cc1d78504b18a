package io.sluice.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.sluice.config.DigestsConfig;
import io.sluice.proxy.digest.DigestRecorder;
import io.sluice.proxy.digest.DigestTable;
import io.sluice.proxy.digest.Normalizer;
import io.sluice.proxy.protocol.Capabilities;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.ResponseTracker;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * What per-statement statistics (docs/digests.md) add to a sysbench point select: normalizing its
 * text to the digest hash, and the whole path a session takes (arrival, send, the response's four
 * packets through the tracker, recording), against the tracker alone ({@link #trackerOnly}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class DigestBenchmark {
    private static final String SQL = "SELECT c FROM sbtest1 WHERE id=4711";

    private ByteBuf query;
    private ByteBuf wire;
    private ByteBuf[] point;
    private ResponseTracker tracker;
    private Normalizer normalizer;
    private DigestRecorder recorder;
    private int from;
    private int to;

    @Setup(Level.Trial)
    public void setUp() {
        PooledByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        query = Packets.query(alloc, SQL);
        from = query.readerIndex() + Packets.HEADER_SIZE + 1;
        to = Packets.payloadEnd(query);
        wire = Wire.textResultSet(alloc, 1, 1, 120, true);
        point = Wire.frames(wire);
        tracker = new ResponseTracker(new Capabilities(Capabilities.SUPPORTED));
        normalizer = new Normalizer();
        recorder = new DigestRecorder(new DigestTable(DigestsConfig.DEFAULT, i -> "db:3306"));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        query.release();
        wire.release();
    }

    @Benchmark
    public long normalizePointSelect() {
        return normalizer.hash(query, from, to);
    }

    @Benchmark
    public int trackerOnly() {
        tracker.expect(CommandType.COM_QUERY);
        int done = 0;
        for (ByteBuf f : point) {
            done += tracker.onServerPacket(f);
        }
        return done;
    }

    @Benchmark
    public int recordPointSelect() {
        recorder.arrived(CommandType.COM_QUERY, query);
        recorder.sent(CommandType.COM_QUERY, query, "sbtest", -1, System.nanoTime(), true);
        tracker.expect(CommandType.COM_QUERY);
        int done = 0;
        for (ByteBuf f : point) {
            int r = tracker.onServerPacket(f);
            recorder.serverPacket(r, tracker, f);
            done += r;
        }
        return done;
    }
}
