package io.sluice.proxy;

import io.micrometer.core.instrument.MeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.sluice.config.AdminConfig;
import io.sluice.config.AuthConfig;
import io.sluice.config.BackendTlsConfig;
import io.sluice.config.ClusterConfig;
import io.sluice.config.UserConfig;
import io.sluice.config.FrontendConfig;
import io.sluice.config.ServerConfig;
import io.sluice.config.SluiceConfig;
import io.sluice.proxy.backend.BackendConnector;
import io.sluice.proxy.cluster.Cluster;
import io.sluice.proxy.cluster.ServerView;
import io.sluice.proxy.cluster.Topology;
import io.sluice.proxy.cluster.ClusterMonitor;
import io.sluice.proxy.digest.DigestTable;
import io.sluice.proxy.frontend.FrontendInitializer;
import io.sluice.proxy.frontend.FrontendContext;
import io.sluice.proxy.frontend.ServerAccounts;
import io.sluice.proxy.metrics.ProxyMetrics;
import io.sluice.proxy.pool.BackendPools;
import io.sluice.proxy.protocol.auth.RsaPassword;
import io.sluice.proxy.session.LeakDetector;
import io.sluice.proxy.session.SessionRegistry;
import io.sluice.proxy.transport.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;

/**
 * One running Sluice proxy: the listening socket, the shared event loops, the backend pools, the
 * session registry and metrics. Built from a validated {@link SluiceConfig}; {@link #start} binds,
 * {@link #close} stops accepting, closes clients and backends, and frees the event loops.
 */
public final class ProxyServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

    /** Volatile: {@link #reload} swaps in the applied config; readers take what is current per connection. */
    private volatile SluiceConfig config;
    private final Transport transport;
    private final ProxyMetrics metrics;
    private final BackendConnector connector;
    private final BackendPools pools;
    /** Every server's connector and pools, in the order of sluice.servers: the one server, or a cluster's. */
    private final List<BackendConnector> connectors = new ArrayList<>();
    private final List<BackendPools> allPools = new ArrayList<>();
    /** The primary and its replicas, when sluice.servers names more than one server; else null. */
    private final Cluster cluster;
    private final SessionRegistry sessions = new SessionRegistry();
    private final LeakDetector leakDetector;
    /** The server's own accounts for clients not in sluice.users (sluice.auth.source = server), else null. */
    private final ServerAccounts accounts;
    /** What the client side needs (config, users, pools, TLS, client counts); {@link #reload} updates it. */
    private final FrontendContext frontend;
    private volatile Channel serverChannel;
    private volatile boolean accepting;
    private boolean closed;
    /** The bound port, kept after the socket closes. */
    private volatile int port;

    /** @throws StartupException when a key, a certificate or the transport cannot be used here */
    public ProxyServer(SluiceConfig config, MeterRegistry registry) {
        this.config = config;
        // Files first, so that a bad one fails before any event loop thread exists.
        SslContext backendSsl = backendSsl(config.server().tls());
        SslContext frontendSsl = frontendSsl(config);
        KeyPair rsaKeys = rsaKeys(config);
        this.metrics = new ProxyMetrics(registry);
        try {
            this.transport = new Transport(config.listen(), metrics.busyPoll());
        } catch (Transport.Unavailable e) {
            throw new StartupException(e.getMessage(), e.getCause());
        }
        for (ClusterConfig.Member member : config.cluster().servers()) {
            ServerConfig server = config.cluster().isCluster() ? config.server().at(member) : config.server();
            BackendConnector c = new BackendConnector(server, transport, backendSsl);
            BackendPools p = new BackendPools(config.pool(), config.users().values(), c, metrics, transport.group(),
                    config.cluster().isCluster() ? member.address() : null);
            p.limitsPolicy(server.headroom(), server.fleetSize(), server.adaptive(), server.limitsRefresh());
            connectors.add(c);
            allPools.add(p);
        }
        this.connector = connectors.get(0);
        this.pools = allPools.get(0);
        this.cluster = config.cluster().isCluster() ? cluster(config, registry) : null;
        List<ClusterConfig.Member> members = config.cluster().servers();
        sessions.digests(new DigestTable(config.digests(), i -> members.get(Math.max(i, 0)).address()));
        this.accounts = config.auth().fromServer()
                ? new ServerAccounts(config.auth(), config.users(), config.pool().maxPerUser(), allPools, this::lookupServer) : null;
        this.frontend = new FrontendContext(config, metrics, connector, pools, sessions, frontendSsl, rsaKeys, cluster, accounts);
        this.leakDetector = new LeakDetector(sessions, () -> this.config.frontend(), metrics);
    }

    /**
     * Where a lookup of a server account goes (sluice.auth.source = server): the one server; with
     * several, the primary, or while there is none (a failover) the first server that is up, since
     * accounts replicate to every server.
     */
    private int lookupServer() {
        if (cluster == null) {
            return 0;
        }
        Topology t = cluster.topology();
        if (t.hasPrimary()) {
            return t.primary();
        }
        for (ServerView v : t.servers()) {
            if (v.up()) {
                return v.index();
            }
        }
        return 0;
    }

    private Cluster cluster(SluiceConfig config, MeterRegistry registry) {
        UserConfig monitorUser = config.cluster().monitorUser().map(config.users()::get)
                .orElse(config.users().values().stream().filter(u -> !u.settingsOnly()).findFirst().orElse(null));
        // With no configured user (sluice.auth.source = server), the lookup account polls the servers.
        ClusterMonitor monitor = new ClusterMonitor(config.cluster(), connectors,
                monitorUser != null ? monitorUser.backendUser() : config.auth().lookupUser().orElseThrow(),
                monitorUser != null ? monitorUser.backendPassword() : config.auth().lookupPassword().orElseThrow(),
                transport.group().next());
        return new Cluster(config.cluster(), allPools, monitor, registry);
    }

    private static SslContext backendSsl(BackendTlsConfig tls) {
        try {
            return switch (tls.mode()) {
                case DISABLED -> null;
                case PREFERRED, REQUIRED -> SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE).build();
                case VERIFY_CA -> SslContextBuilder.forClient().trustManager(tls.caFile().orElseThrow().toFile()).build();
            };
        } catch (IOException | IllegalArgumentException e) {
            throw new StartupException("sluice.server.tls: cannot load the CA file: " + e.getMessage(), e);
        }
    }

    private static SslContext frontendSsl(SluiceConfig config) {
        var tls = config.frontend().tls();
        if (!tls.enabled()) {
            return null;
        }
        try {
            return SslContextBuilder.forServer(tls.certFile().orElseThrow().toFile(), tls.keyFile().orElseThrow().toFile()).build();
        } catch (IOException | IllegalArgumentException e) {
            throw new StartupException("sluice.frontend.tls: cannot load certificate or key: " + e.getMessage(), e);
        }
    }

    private static KeyPair rsaKeys(SluiceConfig config) {
        var rsa = config.frontend().rsa();
        if (rsa.privateKeyFile().isEmpty()) {
            return RsaPassword.generate();
        }
        try {
            PrivateKey priv = RsaPassword.parsePrivateKeyPem(Files.readString(rsa.privateKeyFile().get()));
            PublicKey pub = RsaPassword.parsePublicKeyPem(Files.readString(rsa.publicKeyFile().orElseThrow()));
            return new KeyPair(pub, priv);
        } catch (IOException | IllegalArgumentException e) {
            throw new StartupException("sluice.frontend.rsa: cannot use the key files: " + e.getMessage(), e);
        }
    }

    /**
     * Learns the server's version and capabilities (so the first clients see the real server's),
     * starts pool housekeeping and binds the listening socket. A server that cannot be reached yet
     * is not fatal: Sluice starts, logs it, and learns the server on the first backend login.
     *
     * @throws StartupException when the listening address cannot be bound (this server is closed then)
     */
    public ProxyServer start() {
        try {
            List<io.netty.util.concurrent.Future<Void>> probes = new ArrayList<>();
            for (BackendConnector c : connectors) {
                probes.add(c.probe(transport.group().next()));
            }
            for (io.netty.util.concurrent.Future<Void> p : probes) {
                p.await(config.server().connectTimeout().toMillis() + 500);
            }
            if (cluster != null) { // the first round of polls, so the first clients find the primary
                cluster.monitor().start().await(config.server().connectTimeout().toMillis() + 500);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (BackendConnector c : connectors) {
            if (!c.serverInfo().learned()) {
                log.warn("server {} not reachable at startup; clients will be served once it is", c.address());
            }
        }
        allPools.forEach(BackendPools::start);
        leakDetector.start(transport.group().next());
        ServerBootstrap b = new ServerBootstrap()
                .group(transport.group())
                .channelFactory(transport.serverChannelFactory())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                // The pooled allocator: frame slices of pooled buffers are recycled, where Netty 4.2's
                // default adaptive allocator makes a new slice object per forwarded packet (bench: 40 B/packet).
                .childOption(ChannelOption.ALLOCATOR, io.netty.buffer.PooledByteBufAllocator.DEFAULT)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new FrontendInitializer(frontend));
        ChannelFuture bound = b.bind(config.listen().host(), config.listen().port()).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            close();
            throw new StartupException("cannot listen on " + config.listen().host() + ":" + config.listen().port()
                    + " (sluice.listen.host, sluice.listen.port): " + bound.cause().getMessage(), bound.cause());
        }
        serverChannel = bound.channel();
        port = ((InetSocketAddress) serverChannel.localAddress()).getPort();
        accepting = true;
        log.info("Sluice listening on {} ({} transport, busy-poll {}), {} {}, pool mode {}, max {} per user, {} global",
                serverChannel.localAddress(), transport.name(), transport.busyPollInEffect(),
                cluster == null ? "server" : "servers", cluster == null ? connector.address()
                        : cluster.topology().describe(), config.pool().mode().name().toLowerCase(),
                config.pool().maxPerUser(), config.pool().globalMax());
        return this;
    }

    /** The event loops' transport in use ({@code io-uring}, {@code epoll} or {@code nio}): what {@code auto} chose. */
    public String transportName() {
        return transport.name();
    }

    /** {@code sluice.listen.busy-poll} in effect ({@link Transport#busyPollInEffect()}). */
    public String busyPollInEffect() {
        return transport.busyPollInEffect();
    }

    /** The port clients connect to (useful when configured as 0). */
    public int port() {
        return port;
    }

    public SluiceConfig config() {
        return config;
    }

    public ProxyMetrics metrics() {
        return metrics;
    }

    public BackendConnector connector() {
        return connector;
    }

    /** The pools of the one server; with a cluster, those of the first server of sluice.servers (see {@link #cluster()}). */
    public BackendPools pools() {
        return pools;
    }

    /** Every server's pools, in the order of sluice.servers. */
    public List<BackendPools> allPools() {
        return allPools;
    }

    /** The primary and its replicas when sluice.servers names several servers; null with one server. */
    public Cluster cluster() {
        return cluster;
    }

    /** Per-statement statistics (docs/digests.md). */
    public DigestTable digests() {
        return sessions.digests();
    }

    public SessionRegistry sessions() {
        return sessions;
    }

    /** The server's own accounts learned for clients not in sluice.users, or null unless sluice.auth.source = server. */
    public ServerAccounts accounts() {
        return accounts;
    }

    // ---- lifecycle and reload (admin actions) --------------------------------------------------

    /** Whether new clients are taken: from {@link #start} until {@link #stopAccepting} or {@link #close}. */
    public boolean accepting() {
        return accepting;
    }

    /**
     * Reads the server's handshake once more, without logging in, so a Sluice that could not reach
     * the server at startup learns it is up before any client comes (readiness probes). Completes,
     * never fails, when the attempt ended; {@code connector().serverInfo().learned()} tells the result.
     * Only for a server not yet reached: an unfinished handshake counts toward its max_connect_errors.
     */
    public io.netty.util.concurrent.Future<Void> probeServer() {
        return connector.probe(transport.group().next()); // with a cluster, the monitor polls every server
    }

    /**
     * The first step of a graceful shutdown: a client that connects from now on gets ERR 9409 instead
     * of the handshake, and a session outside a transaction gets 9409 for its next command; open
     * transactions and commands in flight go on. The listening socket stays open until {@link #close},
     * so clients read why rather than a TCP refusal. Idempotent.
     */
    public void stopAccepting() {
        if (!accepting && sessions.draining()) {
            return;
        }
        accepting = false;
        sessions.drain();
        Channel ch = serverChannel;
        log.info("stopped accepting clients on {}: new clients and the next command outside a transaction get error 9409",
                ch == null ? "(not bound)" : ch.localAddress());
    }

    /**
     * Applies the reloadable part of {@code next} (see reference.conf): pool settings and users,
     * frontend limits and timeouts, the server connect timeout and the admin token. Everything else
     * (addresses, ports, TLS, io-threads, write buffers, server-version) keeps its running value.
     * Existing sessions and connections keep what they have; new work sees the new values.
     *
     * @param next a validated config, normally re-read from the same sources as at startup
     * @return the config now in effect: {@code next} where reloadable, the running config elsewhere
     */
    public synchronized SluiceConfig reload(SluiceConfig next) {
        SluiceConfig old = config;
        FrontendConfig of = old.frontend();
        FrontendConfig nf = next.frontend();
        FrontendConfig frontend = new FrontendConfig(nf.maxClients(), nf.authTimeout(), nf.idleTimeout(),
                of.writeBufferLow(), of.writeBufferHigh(), of.tls(), of.rsa(), of.serverVersion(), nf.drainTimeout(),
                nf.leakWarningAfter(), nf.idleInTransactionTimeout(), nf.maxClientsPerUser(), nf.maxClientsPerHost(),
                nf.maxQueryTime(), nf.maxTransactionTime());
        ServerConfig server = old.server().reloaded(next.server());
        for (BackendPools p : allPools) {
            p.limitsPolicy(server.headroom(), server.fleetSize(), server.adaptive(), server.limitsRefresh());
        }
        AdminConfig admin = new AdminConfig(old.admin().enabled(), old.admin().host(), old.admin().port(),
                next.admin().token(), next.admin().allowNoToken());
        // The servers and the monitor user stay; the cluster's other settings are read once at start for now.
        // sluice.auth: the source and the lookup account stay; TTLs, rate and cache bound apply, and the cache is dropped.
        AuthConfig oa = old.auth();
        AuthConfig na = next.auth();
        AuthConfig auth = new AuthConfig(oa.source(), oa.lookupUser(), oa.lookupPassword(), oa.lookupPoolMax(), na.cacheTtl(),
                na.negativeCacheTtl(), na.maxLookupsPerSecond(), na.maxCachedAccounts());
        SluiceConfig applied = new SluiceConfig(old.listen(), server, frontend, next.pool(), next.users(), admin, old.cluster(),
                next.digests(), auth);
        sessions.digests().configure(applied.digests());
        for (int i = 0; i < connectors.size(); i++) {
            connectors.get(i).reload(old.cluster().isCluster() ? server.at(old.cluster().servers().get(i)) : server);
        }
        this.frontend.reloadedUsers(applied);
        for (BackendPools p : allPools) {
            p.reconfigure(applied.pool(), applied.users().values());
        }
        if (accounts != null) {
            accounts.reloaded(auth, applied.users(), applied.pool().maxPerUser());
        }
        config = applied;
        this.frontend.reloadedConfig(applied);
        return applied;
    }

    /**
     * Stops accepting, closes every client (each gets ERR 9409 first) and backend connection, and
     * stops the event loops. Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        accepting = false;
        if (serverChannel != null) {
            serverChannel.close().syncUninterruptibly();
        }
        leakDetector.stop();
        for (var s : sessions.all()) {
            s.closeForShutdown();
        }
        if (cluster != null) {
            cluster.close();
        }
        allPools.forEach(BackendPools::close);
        // Backends were asked to quit; give the server a moment to close them, then close what is
        // left (a connection still logging in, or one whose server does not answer) before the
        // event loops stop, so no socket outlives this ProxyServer.
        for (BackendConnector c : connectors) {
            c.closeAll(java.time.Duration.ofSeconds(2));
        }
        transport.shutdown();
    }
}
