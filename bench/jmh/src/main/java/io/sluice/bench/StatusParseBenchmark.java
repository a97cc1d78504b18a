package io.sluice.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.ServerStatus;
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
 * Status-flag readers the session runs on every response end: {@link Packets#okStatus} (small and
 * 3-byte length-encoded affected rows), {@link Packets#terminatorStatus} on a classic EOF and on the
 * deprecate-EOF OK terminator, and {@link Packets#isResultSetEnd} on a row (the per-row check).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled", "-Djmh.executor=CUSTOM",
        "-Djmh.executor.class=io.sluice.bench.EventLoopThreads"})
public class StatusParseBenchmark {
    private ByteBuf okSmall;
    private ByteBuf okLarge;
    private ByteBuf eof;
    private ByteBuf okTerminator;
    private ByteBuf wire;
    private ByteBuf row;

    @Setup(Level.Trial)
    public void setUp() {
        PooledByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        int status = ServerStatus.SERVER_STATUS_AUTOCOMMIT | ServerStatus.SERVER_STATUS_IN_TRANS;
        okSmall = Wire.ok(alloc, 1, status);
        okLarge = Wire.ok(alloc, 70_000, status);
        eof = Wire.eof(alloc, status);
        okTerminator = Wire.okTerminator(alloc, status);
        wire = Wire.textResultSet(alloc, 1, 1, 120, true);
        row = Wire.frames(wire)[2];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        okSmall.release();
        okLarge.release();
        eof.release();
        okTerminator.release();
        wire.release();
    }

    @Benchmark
    public int okStatus() {
        return Packets.okStatus(okSmall);
    }

    @Benchmark
    public int okStatusLenenc3() {
        return Packets.okStatus(okLarge);
    }

    @Benchmark
    public int terminatorStatusClassicEof() {
        return Packets.terminatorStatus(eof);
    }

    @Benchmark
    public int terminatorStatusOkTerminator() {
        return Packets.terminatorStatus(okTerminator);
    }

    @Benchmark
    public boolean isResultSetEndOnRow() {
        return Packets.isResultSetEnd(row);
    }
}
