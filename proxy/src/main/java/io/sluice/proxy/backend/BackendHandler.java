package io.sluice.proxy.backend;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Promise;
import io.sluice.config.BackendTlsConfig;
import io.sluice.config.ServerConfig;
import io.sluice.proxy.protocol.Capabilities;
import io.sluice.proxy.protocol.ErrPacket;
import io.sluice.proxy.protocol.HandshakeResponse41;
import io.sluice.proxy.protocol.HandshakeV10;
import io.sluice.proxy.protocol.PacketFrameDecoder;
import io.sluice.proxy.protocol.Packets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The last handler of a backend channel: logs in (handshake, optional TLS, authentication), then
 * hands every server packet to the connection's current listener, which owns it. Runs on the
 * backend's event loop. A listener on another event loop gets the packets of a read burst in one
 * task at the burst's end ({@link #handOver}), not one task per packet: a 64 KiB read of a result
 * set is hundreds of rows, and a task each cost a lambda, a queue node and an unrecycled slice per
 * row (~25 B of garbage per row, measured) besides the hand-off itself.
 */
final class BackendHandler extends ChannelInboundHandlerAdapter implements PacketFrameDecoder.RowRuns {
    private static final Logger log = LoggerFactory.getLogger(BackendHandler.class);
    /** What Sluice asks for on every backend connection, besides the key's flags. */
    private static final int BASE_FLAGS = Capabilities.CLIENT_LONG_PASSWORD | Capabilities.CLIENT_PROTOCOL_41
            | Capabilities.CLIENT_SECURE_CONNECTION | Capabilities.CLIENT_PLUGIN_AUTH
            | Capabilities.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | Capabilities.CLIENT_TRANSACTIONS
            | Capabilities.CLIENT_CONNECT_ATTRS;

    private final BackendConnector connector;
    private final BackendKey key;
    private final String password;
    private final ServerConfig config;
    private final SslContext sslContext;
    private final Promise<BackendConnection> promise;
    private BackendAuth auth;
    private HandshakeV10 handshake;
    private Capabilities negotiated;
    private boolean secure;
    private BackendConnection connection;
    /** Packets of the current read burst for {@link #handOverTo}, a listener on another loop; null when none. */
    private ArrayList<ByteBuf> handOver;
    private BackendConnection.Listener handOverTo;
    /** The list of the last hand-over, given back emptied by the listener's loop for the next burst. */
    private final AtomicReference<ArrayList<ByteBuf>> spare = new AtomicReference<>();

    BackendHandler(BackendConnector connector, BackendKey key, String password, ServerConfig config,
                   SslContext sslContext, Promise<BackendConnection> promise) {
        this.connector = connector;
        this.key = key;
        this.password = password;
        this.config = config;
        this.sslContext = sslContext;
        this.promise = promise;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof PacketFrameDecoder.RowRun run) {
            rows(ctx, run.content());
            return;
        }
        ByteBuf packet = (ByteBuf) msg;
        if (connection != null) {
            BackendConnection.Listener l = connection.listener();
            if (l != null && !onThisLoop(l)) {
                if (handOverTo != l) {
                    handOver();
                    handOverTo = l;
                    ArrayList<ByteBuf> list = spare.getAndSet(null);
                    handOver = list != null ? list : new ArrayList<>();
                }
                handOver.add(packet);
                return;
            }
            handOver(); // what came before goes first
            if (l != null) {
                l.onBackendPacket(connection, packet);
            } else {
                packet.release();
                connection.close("idle backend got dirty: server sent an unsolicited packet");
            }
            return;
        }
        try {
            login(ctx, packet);
        } catch (RuntimeException e) {
            fail(ctx, e);
        } finally {
            packet.release();
        }
    }

    private void login(ChannelHandlerContext ctx, ByteBuf packet) {
        if (promise.isDone()) {
            ctx.close();
            return;
        }
        if (handshake == null) {
            answerHandshake(ctx, packet);
            return;
        }
        if (auth.onPacket(packet, ctx.alloc(), ctx::writeAndFlush) == BackendAuth.Step.SUCCESS) {
            loggedIn(new BackendConnection(ctx.channel(), key, password, handshake, negotiated, secureTransport()));
        }
    }

    /** The server's greeting: negotiate capabilities and TLS, then send the login (after the TLS handshake, if any). */
    private void answerHandshake(ChannelHandlerContext ctx, ByteBuf packet) {
        if (Packets.isErr(packet)) {
            // Refused before the handshake, e.g. 1040 Too many connections: keep the server's code,
            // so the pool can tell "full, retry" from "unreachable, fail fast".
            ErrPacket refusal = ErrPacket.read(packet);
            throw new BackendException("server refused the connection: " + refusal, refusal);
        }
        handshake = HandshakeV10.read(packet);
        connector.learned(ServerInfo.of(handshake));
        Capabilities server = handshake.capabilities();
        int want = BASE_FLAGS | key.serverVisibleFlags();
        int missing = key.serverVisibleFlags() & ~server.bits();
        if (missing != 0) {
            throw new BackendException("server lacks capability flags 0x" + Integer.toHexString(missing)
                    + " that the client negotiated");
        }
        BackendTlsConfig.Mode mode = config.tls().mode();
        boolean serverTls = server.has(Capabilities.CLIENT_SSL);
        if (mode != BackendTlsConfig.Mode.DISABLED && serverTls && sslContext != null) {
            want |= Capabilities.CLIENT_SSL;
        } else if (mode == BackendTlsConfig.Mode.REQUIRED || mode == BackendTlsConfig.Mode.VERIFY_CA) {
            throw new BackendException("sluice.server.tls.mode is " + mode.name().toLowerCase()
                    + " but the server does not offer TLS");
        }
        negotiated = new Capabilities((want & server.bits()) | Capabilities.CLIENT_LONG_PASSWORD);
        secure = negotiated.has(Capabilities.CLIENT_SSL);
        auth = new BackendAuth(password, handshake.nonce(), handshake.authPluginName(), secureTransport());
        if (!secure) {
            ctx.writeAndFlush(response(auth.initialResponse()).write(ctx.alloc(), 1));
            return;
        }
        HandshakeResponse41 sslRequest = response(new byte[0]);
        ctx.writeAndFlush(sslRequest.writeSslRequest(ctx.alloc(), 1));
        SslHandler ssl = sslContext.newHandler(ctx.alloc(), config.host(), config.port());
        ctx.pipeline().addFirst("tls", ssl);
        ssl.handshakeFuture().addListener(f -> {
            if (f.isSuccess()) {
                ctx.writeAndFlush(response(auth.initialResponse()).write(ctx.alloc(), 2));
            } else {
                fail(ctx, new BackendException("TLS handshake with server failed: " + f.cause().getMessage(), f.cause()));
            }
        });
    }

    /**
     * The server accepted the login: the connection is ready in session mode; in transaction mode
     * only once session tracking is on and the character set the login gave is read (both are what
     * transaction pooling restores), else the connect fails and the connection closes.
     */
    private void loggedIn(BackendConnection c) {
        connection = c;
        if (!key.multiplexed()) {
            if (!promise.trySuccess(c)) {
                c.close("login finished after the connect timeout");
            }
            return;
        }
        c.enableTracking(config.connectTimeout()).addListener(f -> {
            if (!f.isSuccess() || !((BackendConnection.Reply) f.getNow()).ok()) {
                String why = f.isSuccess() ? String.valueOf(((BackendConnection.Reply) f.getNow()).error()) : f.cause().getMessage();
                promise.tryFailure(new BackendException("server refused session tracking, which transaction pooling needs: " + why));
                c.close("session tracking refused");
                return;
            }
            c.readLoginVariables(config.connectTimeout()).addListener(g -> {
                if (!c.state().loginVariables().isEmpty()) {
                    if (!promise.trySuccess(c)) {
                        c.close("login finished after the connect timeout");
                    }
                    return;
                }
                String why = g.isSuccess() ? String.valueOf(((BackendConnection.Reply) g.getNow()).error()) : g.cause().getMessage();
                promise.tryFailure(new BackendException("could not read the character set the server gave this "
                        + "connection at login, which transaction pooling restores: " + why));
                c.close("login variables unreadable");
            });
        });
    }

    private HandshakeResponse41 response(byte[] authResponse) {
        return new HandshakeResponse41(negotiated, 1 << 30, key.collation(), key.backendUser(), authResponse, null,
                auth.plugin(), BackendConnector.CONNECT_ATTRIBUTES);
    }

    /**
     * Whether a password may cross in clear (caching_sha2_password's full authentication): over TLS,
     * or over the server's Unix socket, which the server counts as secure as well.
     */
    private boolean secureTransport() {
        return secure || config.socket().isPresent();
    }

    private void fail(ChannelHandlerContext ctx, Throwable e) {
        BackendException be = e instanceof BackendException b ? b
                : new BackendException("login to server " + connector.address() + " failed: " + e.getMessage(), e);
        promise.tryFailure(be);
        ctx.close();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (connection != null) {
            boolean handedOver = handOver();
            BackendConnection.Listener l = connection.listener();
            if (l != null && !handedOver) {
                if (onThisLoop(l)) {
                    l.onBackendReadComplete(connection);
                } else {
                    BackendConnection c = connection;
                    l.executor().execute(() -> l.onBackendReadComplete(c));
                }
            }
        }
    }

    /**
     * Row runs go to a listener on this loop that asked for them ({@link #rowRunBytes}); they were
     * measured just before, on this thread, so the listener is the same one.
     */
    @Override
    public int rowRunBytes(ByteBuf in, int from, int to) {
        BackendConnection c = connection;
        if (c == null || handOver != null) {
            return 0;
        }
        BackendConnection.Listener l = c.listener();
        return l != null && onThisLoop(l) ? l.rowRunBytes(c, in, from, to) : 0;
    }

    /** Whether {@code l} runs on this (the connection's) event loop, so it is called directly. */
    private static boolean onThisLoop(BackendConnection.Listener l) {
        EventExecutor e = l.executor();
        return e == null || e.inEventLoop();
    }

    private void rows(ChannelHandlerContext ctx, ByteBuf rows) {
        BackendConnection.Listener l = connection == null ? null : connection.listener();
        if (l != null && handOver == null && onThisLoop(l)) {
            l.onBackendRows(connection, rows);
            return;
        }
        // Not who measured the run (cannot happen on one thread): packet by packet, as ever.
        try {
            for (int i = rows.readerIndex(); i < rows.writerIndex(); ) {
                int len = Packets.HEADER_SIZE + rows.getUnsignedMediumLE(i);
                channelRead(ctx, rows.retainedSlice(i, len));
                i += len;
            }
        } finally {
            rows.release();
        }
    }

    /**
     * Sends the packets collected for a listener on another loop in one task, which also ends the
     * burst for it (read complete). Returns whether there were any.
     */
    private boolean handOver() {
        ArrayList<ByteBuf> packets = handOver;
        BackendConnection.Listener l = handOverTo;
        if (packets == null) {
            return false;
        }
        handOver = null;
        handOverTo = null;
        BackendConnection c = connection;
        try {
            l.executor().execute(() -> {
                for (int i = 0; i < packets.size(); i++) {
                    l.onBackendPacket(c, packets.get(i));
                }
                packets.clear();
                spare.set(packets);
                l.onBackendReadComplete(c);
            });
        } catch (RejectedExecutionException shuttingDown) {
            packets.forEach(ByteBuf::release);
        }
        return true;
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (connection != null) {
            handOver(); // ahead of the close, which the listener learns of through the same queue
            connection.closed("server closed the connection");
        } else {
            promise.tryFailure(new BackendException("server " + connector.address() + " closed the connection during login"));
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (connection != null) {
            log.warn("{}: {}", connection, cause.toString());
            connection.close("I/O error: " + cause.getMessage());
        } else {
            fail(ctx, cause);
        }
    }
}
