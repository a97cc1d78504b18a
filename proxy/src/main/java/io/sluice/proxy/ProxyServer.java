package io.sluice.proxy;

import io.micrometer.core.instrument.MeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.sluice.config.BackendTlsConfig;
import io.sluice.config.SluiceConfig;
import io.sluice.proxy.backend.BackendConnector;
import io.sluice.proxy.frontend.FrontendInitializer;
import io.sluice.proxy.frontend.UserDirectory;
import io.sluice.proxy.metrics.ProxyMetrics;
import io.sluice.proxy.pool.BackendPools;
import io.sluice.proxy.protocol.auth.RsaPassword;
import io.sluice.proxy.session.SessionRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;

/**
 * One running Sluice proxy: the listening socket, the shared event loops, the backend pools, the
 * session registry and metrics. Built from a validated {@link SluiceConfig}; {@link #start} binds,
 * {@link #close} stops accepting, closes clients and backends, and frees the event loops.
 */
public final class ProxyServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

    private final SluiceConfig config;
    private final Transport transport;
    private final ProxyMetrics metrics;
    private final BackendConnector connector;
    private final BackendPools pools;
    private final SessionRegistry sessions = new SessionRegistry();
    private final UserDirectory users;
    private final SslContext frontendSsl;
    private final KeyPair rsaKeys;
    private Channel serverChannel;

    public ProxyServer(SluiceConfig config, MeterRegistry registry) {
        this.config = config;
        this.transport = new Transport(config.listen().ioThreads());
        this.metrics = new ProxyMetrics(registry);
        this.connector = new BackendConnector(config.server(), transport, backendSsl(config.server().tls()));
        this.pools = new BackendPools(config.pool(), config.users().values(), connector, metrics, transport.group());
        this.users = new UserDirectory(config.users().values());
        this.frontendSsl = frontendSsl(config);
        this.rsaKeys = rsaKeys(config);
    }

    private static SslContext backendSsl(BackendTlsConfig tls) {
        try {
            return switch (tls.mode()) {
                case DISABLED -> null;
                case PREFERRED, REQUIRED -> SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE).build();
                case VERIFY_CA -> SslContextBuilder.forClient().trustManager(tls.caFile().orElseThrow().toFile()).build();
            };
        } catch (IOException e) {
            throw new UncheckedIOException("sluice.server.tls: " + e.getMessage(), e);
        }
    }

    private static SslContext frontendSsl(SluiceConfig config) {
        var tls = config.frontend().tls();
        if (!tls.enabled()) {
            return null;
        }
        try {
            return SslContextBuilder.forServer(tls.certFile().orElseThrow().toFile(), tls.keyFile().orElseThrow().toFile()).build();
        } catch (IOException e) {
            throw new UncheckedIOException("sluice.frontend.tls: cannot load certificate or key: " + e.getMessage(), e);
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
        } catch (IOException e) {
            throw new UncheckedIOException("sluice.frontend.rsa: cannot read key files: " + e.getMessage(), e);
        }
    }

    /**
     * Learns the server's version and capabilities (so the first clients see the real server's),
     * starts pool housekeeping and binds the listening socket. A server that cannot be reached yet
     * is not fatal: Sluice starts, logs it, and learns the server on the first backend login.
     */
    public ProxyServer start() {
        try {
            connector.probe(transport.group().next()).await(config.server().connectTimeout().toMillis() + 500);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!connector.serverInfo().learned()) {
            log.warn("server {} not reachable at startup; clients will be served once it is", connector.address());
        }
        pools.start();
        ServerBootstrap b = new ServerBootstrap()
                .group(transport.group())
                .channelFactory(transport.serverChannelFactory())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new FrontendInitializer(this));
        serverChannel = b.bind(config.listen().host(), config.listen().port()).syncUninterruptibly().channel();
        log.info("Sluice listening on {} ({} transport), server {}, pool mode {}, max {} per user, {} global",
                serverChannel.localAddress(), transport.name(), connector.address(), config.pool().mode().name().toLowerCase(),
                config.pool().maxPerUser(), config.pool().globalMax());
        return this;
    }

    /** The port clients connect to (useful when configured as 0). */
    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
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

    public BackendPools pools() {
        return pools;
    }

    public SessionRegistry sessions() {
        return sessions;
    }

    public UserDirectory users() {
        return users;
    }

    public SslContext frontendSsl() {
        return frontendSsl;
    }

    public KeyPair rsaKeys() {
        return rsaKeys;
    }

    /** Stops accepting, closes every client and backend connection, and stops the event loops. */
    @Override
    public void close() {
        if (serverChannel != null) {
            serverChannel.close().syncUninterruptibly();
        }
        for (var s : sessions.all()) {
            s.closeClient();
        }
        pools.close();
        transport.shutdown();
    }
}
