package io.sluice.proxy.session;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The state diff a transaction-mode session computes on every backend grant ({@link StateSync}):
 * the session's variables against what the backend has applied. In this package because
 * {@code StateSync} is package-private.
 * <ul>
 *   <li>{@code inSync}: the usual case, the backend already matches (same values, other map objects),
 *       so no statement is sent;</li>
 *   <li>{@code oneDiffers}: sql_mode differs, one {@code SET SESSION};</li>
 *   <li>{@code freshBackend}: a backend with server defaults gets three variables and a user variable.</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class StateSyncBenchmark {
    private final Map<String, String> wanted = vars("STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION");
    private final Map<String, String> same = vars("STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION");
    private final Map<String, String> other = vars("ANSI_QUOTES");
    private final Map<String, String> empty = new HashMap<>();
    private final Map<String, String> wantedUser = new HashMap<>(Map.of("tenant", "42"));
    private final Map<String, String> sameUser = new HashMap<>(Map.of("tenant", "42"));

    private static Map<String, String> vars(String sqlMode) {
        Map<String, String> m = new HashMap<>();
        m.put("sql_mode", sqlMode);
        m.put("time_zone", "+00:00");
        m.put("autocommit", "ON");
        return m;
    }

    // No login values (the empty map): variables absent from the session go back to DEFAULT, as
    // before login values were read, so the figures compare with earlier runs.
    @Benchmark
    public String inSync() {
        return StateSync.setStatement(wanted, same, empty, wantedUser, sameUser, 0);
    }

    @Benchmark
    public String oneDiffers() {
        return StateSync.setStatement(wanted, other, empty, wantedUser, sameUser, 0);
    }

    @Benchmark
    public String freshBackend() {
        return StateSync.setStatement(wanted, empty, empty, wantedUser, empty, 0);
    }
}
