package io.sluice.proxy.cluster;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.config.ClusterConfig;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.BackendConnector;
import io.sluice.proxy.backend.BackendKey;
import io.sluice.proxy.protocol.Capabilities;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.Packets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Polls every server of the cluster each {@code poll-interval} on one connection of its own per
 * server (logged in as the monitor user's server account), and publishes the {@link Topology}
 * that {@link TopologyRules} makes of the answers. Sluice never promotes or demotes a server: it
 * follows what the servers say. A server that does not answer is down; its connection is opened
 * again with backoff (up to 5 s) and it comes back by itself. All of it runs on one event loop;
 * {@link #topology()} may be read from any thread.
 */
public final class ClusterMonitor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClusterMonitor.class);
    private static final int UTF8MB4_GENERAL_CI = 45;
    private static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final ClusterConfig config;
    private final List<BackendConnector> connectors;
    private final BackendKey key;
    private final String password;
    private final EventLoop loop;
    private final TopologyRules rules;
    private final Probe[] probes;
    private final List<Consumer<Topology>> roundListeners = new CopyOnWriteArrayList<>();
    private volatile Topology topology;
    private ScheduledFuture<?> timer;
    private boolean closed;
    private int rounds;

    /**
     * @param connectors one per server, in the order of {@code config.servers()}
     * @param backendUser the server account that polls, and its password
     */
    public ClusterMonitor(ClusterConfig config, List<BackendConnector> connectors, String backendUser, String password,
                          EventLoop loop) {
        this.config = config;
        this.connectors = List.copyOf(connectors);
        // A plain client's flags: SUPPORTED also holds what a client may ask for, such as CLIENT_NO_SCHEMA,
        // which would make the server read information_schema.X as a table X of no database.
        this.key = BackendKey.of(backendUser, new Capabilities(Capabilities.SUPPORTED & ~Capabilities.CLIENT_NO_SCHEMA
                & ~Capabilities.CLIENT_IGNORE_SPACE & ~Capabilities.CLIENT_FOUND_ROWS), UTF8MB4_GENERAL_CI, false);
        this.password = password;
        this.loop = loop;
        this.rules = new TopologyRules(config);
        this.probes = new Probe[connectors.size()];
        List<ServerView> unknown = new ArrayList<>();
        for (int i = 0; i < probes.length; i++) {
            probes[i] = new Probe(i);
            unknown.add(ServerView.unknown(i, config.servers().get(i)));
        }
        this.topology = new Topology(unknown, Topology.NO_PRIMARY, "not polled yet");
    }

    /** The cluster as of the last round of polls. */
    public Topology topology() {
        return topology;
    }

    /** Called on the monitor's loop after every round of polls, changed or not (work waiting for a server retries then). */
    public void onRound(Consumer<Topology> listener) {
        roundListeners.add(listener);
    }

    /** Starts polling; returns a future that completes after the first round (whatever it found). */
    public Future<Topology> start() {
        Promise<Topology> first = loop.newPromise();
        loop.execute(() -> {
            round(first);
            long every = config.pollInterval().toNanos();
            timer = loop.scheduleAtFixedRate(() -> round(null), every, every, TimeUnit.NANOSECONDS);
        });
        return first;
    }

    /**
     * Polls every server now, out of turn: a server answered a write with "read-only", or refused
     * a connection, so the topology may have changed since the last round.
     */
    public void pollNow() {
        loop.execute(() -> round(null));
    }

    private void round(Promise<Topology> done) {
        if (closed) {
            return;
        }
        rounds++;
        List<Future<TopologyRules.Poll>> polls = new ArrayList<>();
        for (Probe p : probes) {
            polls.add(p.poll());
        }
        Promise<Void> all = loop.newPromise();
        int[] left = {polls.size()};
        for (Future<TopologyRules.Poll> f : polls) {
            f.addListener(x -> {
                if (--left[0] == 0) {
                    all.setSuccess(null);
                }
            });
        }
        all.addListener(x -> {
            List<TopologyRules.Poll> results = new ArrayList<>();
            for (Future<TopologyRules.Poll> f : polls) {
                results.add(f.getNow());
            }
            publish(rules.apply(results, System.nanoTime()));
            for (Consumer<Topology> l : roundListeners) {
                try {
                    l.accept(topology);
                } catch (RuntimeException e) {
                    log.warn("cluster round listener failed", e);
                }
            }
            if (done != null) {
                done.trySuccess(topology);
            }
        });
    }

    private void publish(Topology next) {
        Topology previous = topology;
        topology = next;
        if (!sameRouting(previous, next)) {
            log.info("cluster: {}", next.describe());
        }
    }

    /** Same primary, same readable replicas, same reasons: nothing a router or a reader of logs would act on. */
    private static boolean sameRouting(Topology a, Topology b) {
        if (a.primary() != b.primary() || !a.why().equals(b.why())) {
            return false;
        }
        for (int i = 0; i < a.servers().size(); i++) {
            ServerView x = a.server(i);
            ServerView y = b.server(i);
            if (x.readable() != y.readable() || x.role() != y.role() || x.up() != y.up()) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() {
        loop.execute(() -> {
            closed = true;
            if (timer != null) {
                timer.cancel(false);
            }
            for (Probe p : probes) {
                p.drop("Sluice is stopping");
            }
        });
    }

    /** Polls one server on its own connection. Runs on the monitor's loop only. */
    private final class Probe {
        private final int index;
        private BackendConnection connection;
        private boolean busy;
        private TopologyRules.Poll last = TopologyRules.Poll.down("not polled yet");
        private long retryAt;
        private long backoff;

        Probe(int index) {
            this.index = index;
        }

        private Duration timeout() {
            Duration poll = config.pollInterval().multipliedBy(2);
            return poll.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : poll;
        }

        Future<TopologyRules.Poll> poll() {
            Promise<TopologyRules.Poll> result = loop.newPromise();
            if (busy) {
                result.setSuccess(last); // the previous poll is still waiting for its answer
                return result;
            }
            if (connection != null && connection.isOpen()) {
                busy = true;
                ask(connection, result);
                return result;
            }
            if (System.nanoTime() < retryAt) {
                result.setSuccess(last);
                return result;
            }
            busy = true;
            connectors.get(index).connect(loop, key, password).addListener(f -> {
                if (!f.isSuccess()) {
                    failed(f.cause() == null ? "connect failed" : f.cause().getMessage(), result);
                    return;
                }
                connection = (BackendConnection) f.getNow();
                backoff = 0;
                ask(connection, result);
            });
            return result;
        }

        private void ask(BackendConnection c, Promise<TopologyRules.Poll> result) {
            boolean mysql = !connectors.get(index).serverInfo().version().contains("MariaDB");
            String vars = mysql
                    ? "SELECT @@read_only OR @@super_read_only OR @@innodb_read_only, @@gtid_executed, "
                    + "(SELECT COUNT(*) FROM performance_schema.replication_applier_status WHERE SERVICE_STATE = 'ON') "
                    + "+ (SELECT COUNT(*) FROM performance_schema.replication_connection_status WHERE SERVICE_STATE = 'ON') = 2"
                    : "SELECT @@read_only OR @@innodb_read_only, IF(VARIABLE_VALUE = 'ON', @@gtid_slave_pos, @@gtid_binlog_pos), "
                    + "VARIABLE_VALUE = 'ON' FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SLAVE_RUNNING'";
            c.execute(Packets.query(c.channel().alloc(), vars), CommandType.COM_QUERY, timeout()).addListener(f -> {
                BackendConnection.Reply r = f.isSuccess() ? (BackendConnection.Reply) f.getNow() : null;
                if (r == null || !r.ok() || r.firstRow() == null || r.firstRow().size() < 3) {
                    String why = r == null ? String.valueOf(f.cause() == null ? "no answer" : f.cause().getMessage())
                            : r.ok() ? "no row from the server's variables" : String.valueOf(r.error());
                    drop(why);
                    failed(why, result);
                    return;
                }
                List<String> row = r.firstRow();
                boolean readOnly = "1".equals(row.get(0));
                boolean replicating = "1".equals(row.get(2));
                GtidSet position = GtidSet.parse(row.get(1));
                busy = false;
                last = new TopologyRules.Poll(true, !readOnly, replicating, position, "");
                result.setSuccess(last);
            });
        }

        private void failed(String why, Promise<TopologyRules.Poll> result) {
            busy = false;
            backoff = backoff == 0 ? config.pollInterval().toNanos() : Math.min(backoff * 2, MAX_BACKOFF_NANOS);
            retryAt = System.nanoTime() + backoff;
            if (last.up() || rounds <= 1) {
                log.warn("cluster: {} does not answer: {}", config.servers().get(index).address(), why);
            }
            last = TopologyRules.Poll.down(why);
            result.setSuccess(last);
        }

        void drop(String why) {
            if (connection != null) {
                connection.close(why);
                connection = null;
            }
        }
    }
}
