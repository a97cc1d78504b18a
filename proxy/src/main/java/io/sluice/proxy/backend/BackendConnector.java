package io.sluice.proxy.backend;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.sluice.config.ServerConfig;
import io.sluice.proxy.transport.Transport;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.PacketFrameDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Opens and logs in backend connections. Each connection is opened on the event loop that asked
 * for it, so a client session and its backend usually share one thread. Also remembers what the
 * server said about itself ({@link #serverInfo()}).
 */
public final class BackendConnector {
    private static final Logger log = LoggerFactory.getLogger(BackendConnector.class);
    static final Map<String, String> CONNECT_ATTRIBUTES = Map.of("_client_name", "sluice", "program_name", "sluice");

    /** Volatile: a reload may change the connect timeout ({@link #reload}); where the server is and TLS never change. */
    private volatile ServerConfig config;
    private final Transport transport;
    private final SslContext sslContext;
    private volatile ServerInfo serverInfo = ServerInfo.UNKNOWN;
    /** Every open backend channel (closed ones leave by themselves), for a complete shutdown. */
    private final io.netty.channel.group.ChannelGroup channels =
            new io.netty.channel.group.DefaultChannelGroup("sluice-backends", io.netty.util.concurrent.GlobalEventExecutor.INSTANCE);

    public BackendConnector(ServerConfig config, Transport transport, SslContext sslContext) {
        this.config = config;
        this.transport = transport;
        this.sslContext = sslContext;
    }

    public ServerInfo serverInfo() {
        return serverInfo;
    }

    void learned(ServerInfo info) {
        if (!info.equals(serverInfo)) {
            if (!serverInfo.learned()) {
                log.info("server at {} is {} (capabilities 0x{}, collation {})", address(), info.version(),
                        Integer.toHexString(info.capabilities().bits()), info.collation());
            }
            serverInfo = info;
        }
    }

    /** Applies a reloaded config's connect timeout (all of it that may change) to connections opened from now on. */
    public void reload(ServerConfig next) {
        config = config.reloaded(next);
    }

    /**
     * Waits up to {@code grace} for backend channels to close by themselves (after COM_QUIT), then
     * closes the rest and waits for that. Blocking: call at shutdown, never on an event loop.
     */
    public void closeAll(java.time.Duration grace) {
        long deadline = System.nanoTime() + grace.toNanos();
        while (!channels.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (!channels.isEmpty()) {
            log.info("closing {} backend connection(s) that did not quit in time", channels.size());
            channels.close().awaitUninterruptibly(grace.toMillis());
        }
    }

    /** Where backend connections go: {@code unix:/path} or {@code host:port}. */
    public String address() {
        return config.address();
    }

    /**
     * A bootstrap on {@code loop} for the server's socket: TCP to host:port, or its Unix socket
     * (sluice.server.socket), where TCP options do not apply.
     */
    private Bootstrap bootstrap(EventLoop loop) {
        Bootstrap b = new Bootstrap()
                .group(loop)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, config.connectTimeout().toMillis()));
        if (config.socket().isPresent()) {
            return b.channelFactory(transport.domainSocketChannelFactory())
                    .remoteAddress(transport.domainSocketAddress(config.socket().get()));
        }
        return b.channelFactory(transport.socketChannelFactory())
                .remoteAddress(config.host(), config.port())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true);
    }

    /**
     * Reads the server's handshake without logging in, to learn its version and capabilities. The
     * future completes (never fails) when the handshake was read or the attempt ended.
     */
    public Future<Void> probe(EventLoop loop) {
        Promise<Void> done = loop.newPromise();
        Bootstrap b = bootstrap(loop)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new PacketFrameDecoder(Packets.MAX_PAYLOAD));
                        ch.pipeline().addLast(new io.netty.channel.ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(io.netty.channel.ChannelHandlerContext ctx, Object msg) {
                                io.netty.buffer.ByteBuf p = (io.netty.buffer.ByteBuf) msg;
                                try {
                                    learned(ServerInfo.of(io.sluice.proxy.protocol.HandshakeV10.read(p)));
                                } catch (RuntimeException e) {
                                    log.warn("server {} sent an unusable handshake: {}", address(), e.getMessage());
                                } finally {
                                    p.release();
                                    ctx.close();
                                }
                            }

                            @Override
                            public void exceptionCaught(io.netty.channel.ChannelHandlerContext ctx, Throwable cause) {
                                ctx.close();
                            }
                        });
                    }
                });
        ChannelFuture cf = b.connect();
        cf.addListener(f -> {
            if (!f.isSuccess()) {
                done.trySuccess(null);
            } else {
                cf.channel().closeFuture().addListener(x -> done.trySuccess(null));
            }
        });
        return done;
    }

    /**
     * Opens a connection for {@code key} on {@code loop} and logs in as the key's backend user with
     * {@code password}. The future fails with {@link BackendException} (the server's ERR inside when
     * it refused) after at most the configured connect timeout.
     */
    public Future<BackendConnection> connect(EventLoop loop, BackendKey key, String password) {
        Promise<BackendConnection> promise = loop.newPromise();
        Bootstrap b = bootstrap(loop)
                .option(ChannelOption.ALLOCATOR, io.netty.buffer.PooledByteBufAllocator.DEFAULT)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        BackendHandler handler = new BackendHandler(BackendConnector.this, key, password, config, sslContext, promise);
                        ch.pipeline().addLast("frames", new PacketFrameDecoder(Packets.MAX_PAYLOAD, handler));
                        ch.pipeline().addLast("backend", handler);
                    }
                });
        ChannelFuture cf = b.connect();
        cf.addListener(f -> {
            if (!f.isSuccess()) {
                promise.tryFailure(new BackendException("cannot connect to server " + address() + ": " + f.cause().getMessage(), f.cause()));
            }
        });
        Channel ch = cf.channel();
        channels.add(ch);
        loop.schedule(() -> {
            if (promise.tryFailure(new BackendException("server " + address() + " did not complete login within "
                    + config.connectTimeout().toMillis() + " ms (sluice.server.connect-timeout)"))) {
                ch.close();
            }
        }, config.connectTimeout().toNanos(), TimeUnit.NANOSECONDS);
        return promise;
    }
}
