package io.sluice.proxy.cluster;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.util.concurrent.EventExecutor;
import io.sluice.config.ClusterConfig;
import io.sluice.config.UserConfig;
import io.sluice.proxy.pool.BackendPools;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A primary and its replicas behind one front: each server's own pools (with its own learned
 * limits, cap and queue), the monitor that tells their roles, the router, and what
 * read-your-writes remembers per front-end user. Sessions ask it where their next unit of work
 * goes ({@link #route}), then acquire from that server's {@link #pools(int)}. Thread-safe.
 */
public final class Cluster implements AutoCloseable {
    private final ClusterConfig config;
    private final List<BackendPools> pools;
    private final ClusterMonitor monitor;
    private final Router router;
    /** Read-your-writes per user: the position of the user's last write, when that mode is on. */
    private final ConcurrentHashMap<String, GtidSet> userWrites = new ConcurrentHashMap<>();
    /** Read-your-writes per user where no GTID is reported: reads on the primary until then (nanoTime). */
    private final ConcurrentHashMap<String, Long> userPrimaryUntil = new ConcurrentHashMap<>();
    /** Work waiting for a server to qualify (a primary after a switchover, a replica): run again after each poll. */
    private final ConcurrentLinkedQueue<Runnable> waiting = new ConcurrentLinkedQueue<>();
    private final Counter[][] routed;
    /** {@link #reportsWriteGtids()}, once every server's handshake has been seen. */
    private volatile boolean writeGtids;
    private volatile boolean writeGtidsSettled;

    public Cluster(ClusterConfig config, List<BackendPools> pools, ClusterMonitor monitor, MeterRegistry registry) {
        this.config = config;
        this.pools = List.copyOf(pools);
        this.monitor = monitor;
        this.router = new Router(config);
        Router.Reason[] reasons = Router.Reason.values();
        this.routed = new Counter[pools.size()][reasons.length];
        for (int i = 0; i < pools.size(); i++) {
            String server = config.servers().get(i).address();
            for (Router.Reason r : reasons) {
                routed[i][r.ordinal()] = Counter.builder("sluice_route").description("units of work routed to a server, by reason")
                        .tag("server", server).tag("reason", r.label()).register(registry);
            }
            int index = i;
            Gauge.builder("sluice_server_up", this, c -> c.topology().server(index).up() ? 1 : 0).tag("server", server)
                    .description("1 when the server answered its last poll").register(registry);
            Gauge.builder("sluice_server_primary", this, c -> c.topology().primary() == index ? 1 : 0).tag("server", server)
                    .description("1 for the server that takes writes").register(registry);
            Gauge.builder("sluice_server_readable", this, c -> c.topology().server(index).readable() ? 1 : 0).tag("server", server)
                    .description("1 for a replica that takes reads").register(registry);
            Gauge.builder("sluice_replica_lag_seconds", this, c -> c.lagSeconds(index)).tag("server", server)
                    .description("how far the replica is behind the primary, from GTID positions; -1 unknown").register(registry);
        }
        monitor.onRound(t -> wakeWaiting());
    }

    private double lagSeconds(int index) {
        long lag = topology().server(index).lagNanos();
        return lag < 0 ? -1 : lag / 1e9;
    }

    public ClusterConfig config() {
        return config;
    }

    public Topology topology() {
        return monitor.topology();
    }

    public ClusterMonitor monitor() {
        return monitor;
    }

    /** The pools of server {@code index} (its place in {@code sluice.servers}). */
    public BackendPools pools(int index) {
        return pools.get(index);
    }

    /**
     * Where the next unit of work of a session of {@code user} goes.
     *
     * @param sessionWrite        the position of the session's own last write, or {@link GtidSet#EMPTY}
     * @param sessionPrimaryUntil the session wrote where the server reports no GTID: its reads stay
     *                            on the primary until this {@code System.nanoTime()}, or 0
     */
    public Router.Decision route(Router.Work work, Router.Reason why, UserConfig user, GtidSet sessionWrite,
                                 long sessionPrimaryUntil) {
        GtidSet mustCover = GtidSet.EMPTY;
        long primaryUntil = 0;
        if (config.readYourWrites() == ClusterConfig.ReadYourWrites.SESSION) {
            mustCover = sessionWrite;
            primaryUntil = sessionPrimaryUntil;
        } else if (config.readYourWrites() == ClusterConfig.ReadYourWrites.USER) {
            GtidSet u = userWrites.get(user.name());
            mustCover = u == null ? sessionWrite : u.max(sessionWrite);
            Long until = userPrimaryUntil.get(user.name());
            primaryUntil = until == null ? sessionPrimaryUntil : later(until, sessionPrimaryUntil);
        }
        Router.Decision d = router.route(topology(), work, why, user.replicasOnly(), mustCover, primaryUntil);
        if (d.server() >= 0) {
            routed[d.server()][d.reason().ordinal()].increment();
        }
        return d;
    }

    private static long later(long a, long b) {
        return a == 0 ? b : b == 0 ? a : b - a > 0 ? b : a;
    }

    /**
     * Whether every server reports the GTID of each write it commits (MariaDB, through the session
     * tracking Sluice turns on). Where one does not (MySQL, whose session_track_gtids Sluice does
     * not turn on yet), a writer's reads stay on the primary for {@link #noGtidWindowNanos()}.
     */
    public boolean reportsWriteGtids() {
        if (writeGtidsSettled) {
            return writeGtids; // asked per routed write: the servers' flavour is read once, when all are known
        }
        boolean all = true;
        boolean learned = true;
        for (BackendPools p : pools) {
            var info = p.connector().serverInfo();
            learned &= info.learned();
            all &= info.learned() && info.version().contains("MariaDB");
        }
        if (learned) {
            writeGtids = all;
            writeGtidsSettled = true;
        }
        return all;
    }


    /**
     * How long a write without a reported GTID keeps its writer's reads on the primary: a readable
     * replica is at most max-replica-lag behind as of its last poll, so after that bound plus one
     * poll interval it has the write.
     */
    public long noGtidWindowNanos() {
        return config.maxReplicaLag().toNanos() + config.pollInterval().toNanos();
    }

    /** A session of {@code user} wrote where no GTID is reported: its reads stay on the primary until {@code until}. */
    public void wroteWithoutGtid(String user, long until) {
        if (config.readYourWrites() == ClusterConfig.ReadYourWrites.USER) {
            userPrimaryUntil.merge(user, until, Cluster::later);
        }
    }

    /** A session of {@code user} committed a write at {@code position} (read-your-writes per user). */
    public void wrote(String user, GtidSet position) {
        if (config.readYourWrites() == ClusterConfig.ReadYourWrites.USER && !position.isEmpty()) {
            userWrites.merge(user, position, GtidSet::max);
        }
    }

    /**
     * Runs {@code retry} on {@code loop} after the next round of polls, to route again (no primary
     * or no replica now). The caller bounds the wait with its own deadline.
     */
    public void awaitNextPoll(EventExecutor loop, Runnable retry) {
        waiting.add(() -> loop.execute(retry));
    }

    private void wakeWaiting() {
        for (Runnable r; (r = waiting.poll()) != null; ) {
            r.run();
        }
    }

    /** The index of the server whose pools these are, or -1. */
    public int indexOf(BackendPools p) {
        for (int i = 0; i < pools.size(); i++) {
            if (pools.get(i) == p) {
                return i;
            }
        }
        return -1;
    }

    /**
     * A server did not behave as its role said (answered a write with "read-only", refused a
     * connection): poll every server now rather than at the next interval.
     */
    public void troubled() {
        monitor.pollNow();
    }

    /** The address of server {@code index}, for messages. */
    public String address(int index) {
        return index < 0 ? "?" : config.servers().get(index).address();
    }

    /** How long a read may wait for a replica to apply its reader's write, in nanoseconds; 0 = never. */
    public long readYourWritesWaitNanos() {
        return config.readYourWritesWait().toNanos();
    }

    @Override
    public void close() {
        monitor.close();
        wakeWaiting();
    }
}
