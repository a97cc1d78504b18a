package io.sluice.proxy.frontend;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.config.PoolMode;
import io.sluice.config.UserConfig;
import io.sluice.proxy.protocol.SluiceError;
import io.sluice.proxy.backend.ServerInfo;
import io.sluice.proxy.protocol.Capabilities;
import io.sluice.proxy.protocol.HandshakeResponse41;
import io.sluice.proxy.protocol.HandshakeV10;
import io.sluice.proxy.protocol.MalformedPacketException;
import io.sluice.proxy.protocol.PacketFrameDecoder;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.ServerStatus;
import io.sluice.proxy.protocol.auth.Nonces;
import io.sluice.proxy.session.ClientSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * Faces one client: sends the handshake, runs TLS and authentication (Sluice checks passwords
 * itself; a client that fails never touches a backend), enforces the connection limit and the
 * login and idle timeouts, then hands command-phase packets to its {@link ClientSession}. Runs on
 * the client's event loop; owns every packet it receives until it passes it on.
 */
final class FrontendHandler extends ChannelInboundHandlerAdapter implements ClientSession.Frontend {
    private static final Logger log = LoggerFactory.getLogger(FrontendHandler.class);
    private static final String DEFAULT_PLUGIN = AuthExchange.NATIVE;

    private enum Phase { HANDSHAKE, TLS, AUTH, COMMAND, CHANGE_USER, CLOSED }

    private final FrontendContext server;
    private ChannelHandlerContext ctx;
    private Phase phase = Phase.HANDSHAKE;
    private long id;
    private byte[] nonce;
    private Capabilities advertised;
    private Capabilities negotiated;
    private boolean tls;
    private boolean counted;
    /** The client address and the front-end user this connection counts against (per-host, per-user limits). */
    private String countedHost;
    private String countedUser;
    private ScheduledFuture<?> authTimer;
    /** Sequence id for the next packet Sluice sends in the current exchange. */
    private int nextSeq;
    private HandshakeResponse41 login;
    private AuthExchange auth;
    private ClientSession session;
    /** A login checked against a server account (sluice.auth.source = server): what it resolved to; else null. */
    private ServerAccounts.Resolution account;
    /** Whether this login already read its account again after a failed check. */
    private boolean accountReread;
    /** During COM_CHANGE_USER: who the client wants to become. */
    private UserConfig changeTo;
    private int changeCollation;
    private String changeSchema;

    FrontendHandler(FrontendContext server) {
        this.server = server;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        counted = true;
        int clients = server.metrics().clients().incrementAndGet();
        if (server.sessions().draining()) {
            fail(SluiceError.UNAVAILABLE, 0, "Sluice is shutting down; connect to another instance");
            return;
        }
        if (clients > server.config().frontend().maxClients()) {
            server.metrics().clientRejected();
            fail(SluiceError.TOO_MANY_CLIENTS, 0, "Sluice: too many client connections (" + (clients - 1) + " open, limit "
                    + server.config().frontend().maxClients() + "); raise sluice.frontend.max-clients or close idle clients");
            return;
        }
        int perHost = server.config().frontend().maxClientsPerHost();
        countedHost = hostOf(ctx);
        int fromHost = server.joinClientCount(false, countedHost);
        if (perHost > 0 && fromHost > perHost) {
            server.metrics().clientRejected();
            fail(SluiceError.TOO_MANY_CLIENTS, 0, "Sluice: too many client connections from " + countedHost + " ("
                    + (fromHost - 1) + " open, limit " + perHost + "); raise sluice.frontend.max-clients-per-host "
                    + "or close that host's idle clients");
            return;
        }
        id = server.sessions().nextId();
        nonce = Nonces.newNonce();
        ServerInfo info = server.connector().serverInfo();
        int serverVisible = Capabilities.SUPPORTED & Capabilities.SERVER_VISIBLE & info.capabilities().bits();
        int caps = (Capabilities.SUPPORTED & ~Capabilities.SERVER_VISIBLE) | serverVisible;
        if (server.ssl() != null) {
            caps |= Capabilities.CLIENT_SSL;
        }
        advertised = new Capabilities(caps);
        String version = server.config().frontend().serverVersion().orElse(info.version());
        ctx.writeAndFlush(new HandshakeV10(version, id, nonce, advertised, info.collation(),
                ServerStatus.SERVER_STATUS_AUTOCOMMIT, DEFAULT_PLUGIN).write(ctx.alloc()));
        long timeout = server.config().frontend().authTimeout().toMillis();
        authTimer = ctx.executor().schedule(() -> {
            if (phase != Phase.COMMAND && phase != Phase.CLOSED) {
                fail(SluiceError.CLIENT_TIMEOUT, nextSeq, "Sluice: login not completed within " + timeout
                        + " ms (sluice.frontend.auth-timeout)");
            }
        }, timeout, TimeUnit.MILLISECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof PacketFrameDecoder.TlsBytes raw) {
            // Start of the TLS handshake that arrived with the SSLRequest: through the TLS handler first.
            ctx.pipeline().fireChannelRead(raw.bytes());
            return;
        }
        ByteBuf packet = (ByteBuf) msg;
        if (phase == Phase.COMMAND) {
            session.onClientPacket(packet);
            return;
        }
        try {
            int seq = Packets.sequenceId(packet);
            int expected = expectedSeq();
            nextSeq = seq + 1;
            if (seq != expected) {
                // As the server does (ER_NET_PACKETS_OUT_OF_ORDER): a login packet out of order ends the connection.
                fail(SluiceError.PROTOCOL_ERROR, nextSeq, "Sluice: got packets out of order during login: expected "
                        + "sequence id " + expected + ", got " + seq + " (" + phase.name().toLowerCase() + " phase)");
                return;
            }
            switch (phase) {
                case HANDSHAKE -> {
                    if (HandshakeResponse41.isSslRequest(packet)) {
                        startTls(ctx);
                    } else {
                        onLogin(HandshakeResponse41.read(packet));
                    }
                }
                case TLS -> onLogin(HandshakeResponse41.read(packet));
                case AUTH, CHANGE_USER -> {
                    if (auth == null) { // the account is still being read from the server
                        fail(SluiceError.PROTOCOL_ERROR, nextSeq, "Sluice: got a packet before the login was answered");
                        return;
                    }
                    onAuthResult(auth.next(packet, ctx.alloc(), this::reply));
                }
                default -> {
                }
            }
        } catch (MalformedPacketException e) {
            fail(SluiceError.PROTOCOL_ERROR, nextSeq, "Sluice: malformed packet during login: " + e.getMessage());
        } catch (RuntimeException e) {
            log.warn("client {}: login failed: {}", ctx.channel().remoteAddress(), e.toString());
            fail(SluiceError.PROTOCOL_ERROR, nextSeq, "Sluice: login failed: " + e.getMessage());
        } finally {
            packet.release();
        }
    }

    /**
     * The sequence id the client's next login packet must carry: 1 for the SSLRequest or the
     * handshake response, 2 for the handshake response over TLS after an SSLRequest, and in an
     * auth exchange (AuthSwitch, caching_sha2_password) one more than Sluice's last packet.
     */
    private int expectedSeq() {
        return switch (phase) {
            case HANDSHAKE -> 1;
            case TLS -> 2;
            default -> nextSeq & 0xff;
        };
    }

    private void reply(ByteBuf packet) {
        nextSeq = Packets.sequenceId(packet) + 1;
        ctx.writeAndFlush(packet);
    }

    private void startTls(ChannelHandlerContext ctx) {
        if (server.ssl() == null) {
            fail(SluiceError.PROTOCOL_ERROR, nextSeq, "Sluice: client asked for TLS but sluice.frontend.tls.enabled is false");
            return;
        }
        SslHandler ssl = server.ssl().newHandler(ctx.alloc());
        ctx.pipeline().addFirst("tls", ssl);
        phase = Phase.TLS;
        tls = true;
    }

    private void onLogin(HandshakeResponse41 response) {
        login = response;
        negotiated = new Capabilities(response.capabilities().bits() & advertised.bits());
        if (!negotiated.isProtocol41() || !negotiated.has(Capabilities.CLIENT_SECURE_CONNECTION)) {
            fail(SluiceError.PROTOCOL_ERROR, nextSeq, "Sluice: the client must support CLIENT_PROTOCOL_41 and CLIENT_SECURE_CONNECTION");
            return;
        }
        if (server.config().frontend().tls().required() && !tls) {
            ctx.writeAndFlush(Packets.err(ctx.alloc(), nextSeq, 3159, "08004", "Connections using insecure transport are "
                    + "prohibited by Sluice (sluice.frontend.tls.required); connect with TLS"))
                    .addListener(ChannelFutureListener.CLOSE);
            phase = Phase.CLOSED;
            return;
        }
        Credentials c = server.users().lookup(response.user());
        if (c == null && server.accounts() != null && !response.user().isEmpty()) {
            phase = Phase.AUTH;
            server.accounts().resolve(response.user(), clientAddress(), ctx.channel().eventLoop(), false)
                    .addListener(f -> onAccount(f, false));
            return;
        }
        if (c == null) {
            deny(response.user(), response.authResponse().length > 0);
            return;
        }
        auth = new AuthExchange(c, nonce, tls, server.rsaKeys());
        phase = Phase.AUTH;
        onAuthResult(auth.first(response.authPlugin(), response.authResponse(), nextSeq - 1, ctx.alloc(), this::reply));
    }

    /** The server account of the login (or a fresh read of it after a failed check) is known, or could not be read. */
    private void onAccount(io.netty.util.concurrent.Future<? super ServerAccounts.Resolution> f, boolean reread) {
        if (phase == Phase.CLOSED || !ctx.channel().isActive()) {
            return;
        }
        if (!f.isSuccess() && reread) {
            // The cached account said no and it could not be read again now (lookup rate, queue): it stands.
            deny(login.user(), auth.usedPassword(), auth.refusal());
            return;
        }
        if (!f.isSuccess()) {
            lookupFailed(f.cause());
            return;
        }
        ServerAccounts.Resolution r = (ServerAccounts.Resolution) f.getNow();
        boolean usedPassword = reread ? auth.usedPassword() : login.authResponse().length > 0;
        switch (r.kind()) {
            case NONE -> deny(login.user(), usedPassword);
            case UNSUPPORTED_PLUGIN -> refusedAccount(r);
            case CHECK -> {
                account = r;
                if (reread) {
                    onAuthResult(auth.recheck(r.credentials()));
                    return;
                }
                auth = new AuthExchange(r.credentials(), nonce, tls, server.rsaKeys());
                onAuthResult(auth.first(login.authPlugin(), login.authResponse(), nextSeq - 1, ctx.alloc(), this::reply));
            }
        }
    }

    /** The account could not be read (lookup rate, the queue, the server): the client reads why, and is closed. */
    private void lookupFailed(Throwable e) {
        if (e instanceof io.sluice.proxy.protocol.SluiceException se) {
            fail(se.error(), nextSeq, se.getMessage());
        } else {
            fail(SluiceError.ACCOUNT_LOOKUP, nextSeq, "Sluice: cannot read the account on the server now: " + e.getMessage());
        }
    }

    /** The client's address for an account's host patterns; a non-IP client (none today) counts as local. */
    private java.net.InetAddress clientAddress() {
        return ctx.channel().remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null ? a.getAddress()
                : java.net.InetAddress.getLoopbackAddress();
    }

    /** After the password check of a server account: refuses it as the server would when locked or expired. */
    private boolean refusedAccount(ServerAccounts.Resolution r) {
        ServerAccounts.Refusal no = ServerAccounts.refusal(r, hostOf(ctx));
        if (no == null) {
            return false;
        }
        server.metrics().authFailed();
        log.info("client {}: login as '{}' refused: {}", hostOf(ctx), r.name(), no.why());
        refuse(no.code(), no.sqlState(), no.message());
        return true;
    }

    /** Sends the server-style error and closes: a login refused for what the account is, not the password. */
    private void refuse(int code, String sqlState, String message) {
        ctx.writeAndFlush(Packets.err(ctx.alloc(), nextSeq, code, sqlState, message)).addListener(ChannelFutureListener.CLOSE);
        phase = Phase.CLOSED;
    }

    private void onAuthResult(AuthExchange.Result result) {
        switch (result) {
            case CONTINUE -> {
            }
            case FAILURE -> {
                if (account != null && phase == Phase.AUTH && !accountReread && auth.canRecheck()
                        && server.accounts().worthRefresh(account.name())) {
                    // The password may have changed on the server since the account was cached: read it once more.
                    accountReread = true;
                    server.accounts().resolve(account.name(), clientAddress(), ctx.channel().eventLoop(), true)
                            .addListener(f -> onAccount(f, true));
                    return;
                }
                String user = phase == Phase.CHANGE_USER ? changeTo.name() : login.user();
                deny(user, auth.usedPassword(), auth.refusal());
            }
            case SUCCESS -> {
                if (phase == Phase.CHANGE_USER) {
                    if (account != null) {
                        if (refusedAccount(account)) {
                            return;
                        }
                        learn(account);
                    }
                    phase = Phase.COMMAND;
                    session.changeUser(changeTo, modeOf(changeTo), changeCollation, changeSchema, nextSeq);
                    return;
                }
                authTimer.cancel(false);
                if (account != null && refusedAccount(account)) {
                    return;
                }
                UserConfig user = account != null ? account.credentials().user : server.users().lookup(login.user()).user;
                int perUser = server.config().frontend().maxClientsPerUser();
                countedUser = user.name();
                int ofUser = server.joinClientCount(true, countedUser);
                if (perUser > 0 && ofUser > perUser) {
                    server.metrics().clientRejected();
                    fail(SluiceError.TOO_MANY_CLIENTS, nextSeq, "Sluice: user '" + user.name() + "' has too many client "
                            + "connections (" + (ofUser - 1) + " open, limit " + perUser + "); raise "
                            + "sluice.frontend.max-clients-per-user or close that user's idle clients");
                    return;
                }
                if (account != null && account.row().maxUserConnections > 0 && modeOf(user) == PoolMode.SESSION
                        && ofUser > account.row().maxUserConnections) {
                    // Session mode: each client holds a server connection, so the account's limit is the server's answer.
                    server.metrics().clientRejected();
                    refuse(1226, "42000", "User '" + user.name() + "' has exceeded the 'max_user_connections' resource "
                            + "(current value: " + account.row().maxUserConnections + ")");
                    return;
                }
                if (account != null) {
                    learn(account);
                }
                ctx.pipeline().get(PacketFrameDecoder.class).maxPayload(Packets.MAX_PAYLOAD);
                session = new ClientSession(id, ctx.channel(), this, server.pools(), server.cluster(), server.sessions(), user, modeOf(user),
                        negotiated, login.collation(), login.database(), login.attributes());
                phase = Phase.COMMAND;
                log.debug("{}: logged in (db {}, {})", session, login.database(), negotiated);
                session.login(nextSeq);
            }
        }
    }

    /**
     * Gives the server account's pool what this login proved, before the session asks it for a
     * backend (a caching_sha2_password fast-path login proves nothing new: the pool has it already).
     */
    private void learn(ServerAccounts.Resolution r) {
        String secret = auth.backendSecret();
        if (secret != null) {
            server.accounts().learned(r, secret);
        }
    }

    private static String hostOf(ChannelHandlerContext ctx) {
        return ctx.channel().remoteAddress() instanceof InetSocketAddress a ? a.getAddress().getHostAddress() : "?";
    }

    private PoolMode modeOf(UserConfig u) {
        return u.poolMode().orElse(server.config().pool().mode());
    }

    private void deny(String user, boolean usedPassword) {
        deny(user, usedPassword, null);
    }

    /** As {@link #deny(String, boolean)}; a non-null {@code refusal} is logged and added to the message. */
    private void deny(String user, boolean usedPassword, String refusal) {
        server.metrics().authFailed();
        String host = ctx.channel().remoteAddress() instanceof InetSocketAddress a ? a.getAddress().getHostAddress() : "?";
        log.info("client {}: access denied for user '{}'{}", host, user, refusal == null ? "" : ": " + refusal);
        ctx.writeAndFlush(Packets.err(ctx.alloc(), nextSeq, 1045, "28000", "Access denied for user '" + user + "'@'" + host
                + "' (using password: " + (usedPassword ? "YES" : "NO") + ")" + (refusal == null ? "" : "; Sluice: " + refusal)))
                .addListener(ChannelFutureListener.CLOSE);
        phase = Phase.CLOSED;
    }

    /** COM_CHANGE_USER: parse it and check the new credentials (the session checked nothing is in flight). */
    @Override
    public void changeUser(ByteBuf packet) {
        try {
            nextSeq = Packets.sequenceId(packet) + 1;
            ByteBuf p = Packets.payload(packet).skipBytes(1);
            String user = Packets.readNulString(p);
            byte[] response;
            if (negotiated.has(Capabilities.CLIENT_SECURE_CONNECTION)) {
                int len = p.readUnsignedByte();
                response = new byte[len];
                p.readBytes(response);
            } else {
                response = Packets.readNulBytes(p);
            }
            String schema = p.isReadable() ? Packets.readNulString(p) : "";
            int collation = login.collation();
            if (p.readableBytes() >= 2) {
                collation = p.readUnsignedShortLE() & 0xff;
            }
            String plugin = p.isReadable() ? Packets.readNulString(p) : null;
            Credentials c = server.users().lookup(user);
            account = null;
            changeCollation = collation;
            changeSchema = schema.isEmpty() ? null : schema;
            phase = Phase.CHANGE_USER;
            if (c == null && server.accounts() != null && !user.isEmpty()) {
                // A server account: read (or taken from the cache) as for a login, then checked.
                byte[] sent = response;
                server.accounts().resolve(user, clientAddress(), ctx.channel().eventLoop(), false)
                        .addListener(f -> onChangeUserAccount(f, user, plugin, sent));
                return;
            }
            changeTo = c == null ? null : c.user;
            if (c == null) {
                deny(user, response.length > 0);
                return;
            }
            auth = new AuthExchange(c, nonce, tls, server.rsaKeys());
            onAuthResult(auth.first(plugin, response, nextSeq - 1, ctx.alloc(), this::reply));
        } catch (RuntimeException e) {
            fail(SluiceError.PROTOCOL_ERROR, nextSeq, "Sluice: malformed COM_CHANGE_USER: " + e.getMessage());
        } finally {
            packet.release();
        }
    }

    /** COM_CHANGE_USER to a server account: it is known (or could not be read); check the password as at login. */
    private void onChangeUserAccount(io.netty.util.concurrent.Future<? super ServerAccounts.Resolution> f, String user,
                                     String plugin, byte[] response) {
        if (phase == Phase.CLOSED || !ctx.channel().isActive()) {
            return;
        }
        if (!f.isSuccess()) {
            lookupFailed(f.cause());
            return;
        }
        ServerAccounts.Resolution r = (ServerAccounts.Resolution) f.getNow();
        switch (r.kind()) {
            case NONE -> deny(user, response.length > 0);
            case UNSUPPORTED_PLUGIN -> refusedAccount(r);
            case CHECK -> {
                account = r;
                changeTo = r.credentials().user;
                auth = new AuthExchange(r.credentials(), nonce, tls, server.rsaKeys());
                onAuthResult(auth.first(plugin, response, nextSeq - 1, ctx.alloc(), this::reply));
            }
        }
    }

    @Override
    public void fail(SluiceError error, int seq, String message) {
        if (phase == Phase.CLOSED) {
            return;
        }
        phase = Phase.CLOSED;
        if (ctx.channel().isActive()) {
            ctx.writeAndFlush(Packets.err(ctx.alloc(), seq & 0xff, error.code(), error.sqlState(), message))
                    .addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (session != null) {
            session.onClientReadComplete();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (session != null) {
            session.onClientWritabilityChanged(ctx.channel().isWritable());
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent && phase == Phase.COMMAND && !session.busy()) {
            fail(SluiceError.CLIENT_TIMEOUT, 0, "Sluice: closing a client idle for longer than "
                    + server.config().frontend().idleTimeout().toSeconds() + " s (sluice.frontend.idle-timeout)");
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        boolean closedBySluice = phase == Phase.CLOSED; // fail() sent an ERR and closed
        phase = Phase.CLOSED;
        if (authTimer != null) {
            authTimer.cancel(false);
        }
        if (counted) {
            server.metrics().clients().decrementAndGet();
            counted = false;
        }
        if (countedHost != null) {
            server.leaveClientCount(false, countedHost);
            countedHost = null;
        }
        if (countedUser != null) {
            server.leaveClientCount(true, countedUser);
            countedUser = null;
        }
        if (session != null) {
            session.close(closedBySluice ? "closed by Sluice" : ClientSession.CLIENT_DISCONNECTED);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            log.debug("client {}: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
            return;
        }
        Throwable root = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        String what = root.getMessage() == null ? root.toString() : root.getMessage();
        log.warn("client {}{}: closing after protocol error: {}", ctx.channel().remoteAddress(),
                session == null ? "" : " " + session, what);
        fail(SluiceError.PROTOCOL_ERROR, nextSeq, "Sluice: protocol error: " + what);
    }
}
