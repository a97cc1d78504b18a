package io.sluice.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.sluice.proxy.protocol.Capabilities;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.ResponseTracker;
import io.sluice.proxy.protocol.ServerStatus;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * {@link ResponseTracker#onServerPacket} over already-sliced frames, per packet:
 * <ul>
 *   <li>{@code resultSet100Rows*}: a 100-row, 4-column text result set, with and without CLIENT_DEPRECATE_EOF;</li>
 *   <li>{@code pointSelect}: sysbench's point select reply (1 column, 1 row: 4 packets);</li>
 *   <li>{@code okReply}: an UPDATE's single OK packet (1 packet).</li>
 * </ul>
 * Each invocation first registers the COM_QUERY, as the session does when it writes the command.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled", "-Djmh.executor=CUSTOM",
        "-Djmh.executor.class=io.sluice.bench.EventLoopThreads"})
public class ResponseTrackerBenchmark {
    private ByteBuf wireDeprecated;
    private ByteBuf wireClassic;
    private ByteBuf wirePoint;
    private ByteBuf ok;
    private ByteBuf[] deprecated;
    private ByteBuf[] classic;
    private ByteBuf[] point;
    private ResponseTracker deprecatedTracker;
    private ResponseTracker classicTracker;

    @Setup(Level.Trial)
    public void setUp() {
        PooledByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        wireDeprecated = Wire.textResultSet(alloc, 4, 100, 120, true);
        wireClassic = Wire.textResultSet(alloc, 4, 100, 120, false);
        wirePoint = Wire.textResultSet(alloc, 1, 1, 120, true);
        ok = Wire.ok(alloc, 1, ServerStatus.SERVER_STATUS_AUTOCOMMIT);
        deprecated = Wire.frames(wireDeprecated);
        classic = Wire.frames(wireClassic);
        point = Wire.frames(wirePoint);
        check(deprecated, 106);
        check(classic, 107);
        check(point, 4);
        deprecatedTracker = new ResponseTracker(new Capabilities(Capabilities.SUPPORTED));
        classicTracker = new ResponseTracker(new Capabilities(Capabilities.SUPPORTED & ~Capabilities.CLIENT_DEPRECATE_EOF));
    }

    private static void check(ByteBuf[] frames, int expected) {
        if (frames.length != expected) {
            throw new IllegalStateException("expected " + expected + " packets, built " + frames.length);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        wireDeprecated.release();
        wireClassic.release();
        wirePoint.release();
        ok.release();
    }

    private static int feed(ResponseTracker t, ByteBuf[] frames) {
        t.expect(CommandType.COM_QUERY);
        int done = 0;
        for (ByteBuf f : frames) {
            done += t.onServerPacket(f);
        }
        if (done != ResponseTracker.DONE) {
            throw new IllegalStateException("response not completed exactly once");
        }
        return t.lastStatus();
    }

    @Benchmark
    @OperationsPerInvocation(106)
    public int resultSet100RowsDeprecateEof() {
        return feed(deprecatedTracker, deprecated);
    }

    @Benchmark
    @OperationsPerInvocation(107)
    public int resultSet100RowsClassicEof() {
        return feed(classicTracker, classic);
    }

    @Benchmark
    @OperationsPerInvocation(4)
    public int pointSelect() {
        return feed(deprecatedTracker, point);
    }

    @Benchmark
    public int okReply() {
        deprecatedTracker.expect(CommandType.COM_QUERY);
        return deprecatedTracker.onServerPacket(ok) + deprecatedTracker.lastStatus();
    }
}
