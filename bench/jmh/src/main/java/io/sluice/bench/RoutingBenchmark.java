package io.sluice.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.sluice.config.ClusterConfig;
import io.sluice.proxy.cluster.GtidSet;
import io.sluice.proxy.cluster.ReadClassifier;
import io.sluice.proxy.cluster.Router;
import io.sluice.proxy.cluster.ServerView;
import io.sluice.proxy.cluster.Topology;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * What routing adds per statement with a primary and two replicas: classifying a sysbench point
 * select's text ({@link ReadClassifier}), and the router's pick over the topology, with and without
 * a read-your-writes position to cover. Runs only when sluice.servers names several servers.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class RoutingBenchmark {
    private ByteBuf pointSelect;
    private ByteBuf update;
    private Router router;
    private Topology topology;
    private GtidSet written;

    @Setup
    public void setUp() {
        pointSelect = Unpooled.directBuffer().writeBytes("SELECT c FROM sbtest1 WHERE id=4711".getBytes(StandardCharsets.US_ASCII));
        update = Unpooled.directBuffer().writeBytes("UPDATE sbtest1 SET k=k+1 WHERE id=4711".getBytes(StandardCharsets.US_ASCII));
        List<ClusterConfig.Member> members = List.of(member(0), member(1), member(2));
        router = new Router(new ClusterConfig(members, Duration.ofMillis(500), Duration.ofSeconds(2),
                ClusterConfig.ReadYourWrites.SESSION, Duration.ZERO, ClusterConfig.NoReplica.PRIMARY, Optional.empty()));
        topology = new Topology(List.of(
                view(members.get(0), ServerView.Role.PRIMARY, false, "0-1-1000"),
                view(members.get(1), ServerView.Role.REPLICA, true, "0-1-1000"),
                view(members.get(2), ServerView.Role.REPLICA, true, "0-1-998")), 0, "");
        written = GtidSet.parse("0-1-999");
    }

    private static ClusterConfig.Member member(int i) {
        return new ClusterConfig.Member("db" + i, 3306, Optional.empty(), 1, ClusterConfig.Role.AUTO);
    }

    private static ServerView view(ClusterConfig.Member m, ServerView.Role role, boolean readable, String pos) {
        return new ServerView(Integer.parseInt(m.host().substring(2)), m, true, role, role == ServerView.Role.PRIMARY,
                role == ServerView.Role.REPLICA, GtidSet.parse(pos), 0, readable, "");
    }

    @Benchmark
    public int classifyPointSelect() {
        return ReadClassifier.classify(pointSelect, 0, pointSelect.writerIndex());
    }

    @Benchmark
    public int classifyUpdate() {
        return ReadClassifier.classify(update, 0, update.writerIndex());
    }

    @Benchmark
    public Router.Decision routeRead() {
        return router.route(topology, Router.Work.READ, Router.Reason.READ, false, GtidSet.EMPTY, 0);
    }

    @Benchmark
    public Router.Decision routeReadAfterOwnWrite() {
        return router.route(topology, Router.Work.READ, Router.Reason.READ, false, written, 0);
    }

    @Benchmark
    public Router.Decision routeWrite() {
        return router.route(topology, Router.Work.PRIMARY, Router.Reason.WRITE, false, GtidSet.EMPTY, 0);
    }
}
