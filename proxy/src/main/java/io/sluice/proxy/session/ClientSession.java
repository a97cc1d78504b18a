package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.sluice.config.PoolMode;
import io.sluice.config.UserConfig;
import io.sluice.proxy.SluiceError;
import io.sluice.proxy.SluiceException;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.BackendKey;
import io.sluice.proxy.protocol.Capabilities;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.ErrPacket;
import io.sluice.proxy.protocol.MalformedPacketException;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.ResponseTracker;
import io.sluice.proxy.protocol.ServerStatus;
import io.sluice.proxy.pool.BackendPools;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * One logged-in client and the sole owner of its link to a backend connection: it borrows a
 * backend from the pool when a command needs one ({@link #link}), and gives it back
 * ({@link #unlink}) when the pool mode says so: in session mode when the client leaves.
 *
 * <p>Threading: everything runs on the client channel's event loop. Server packets arrive on the
 * backend's loop and are handed over with {@code execute} when the two differ
 * ({@link #onBackendPacket}).
 *
 * <p>Flow: the frontend handler passes each command-phase packet to {@link #onClientPacket}; one
 * {@code switch} over {@link CommandType} decides to forward, answer locally, translate or refuse.
 * Forwarding without a backend parks the packet in {@code pendingCommand}, stops reading the client
 * and asks the gate; on grant the session links, restores the schema, writes the command. Server
 * packets are forwarded frame by frame (never decoded into rows) while the {@link ResponseTracker}
 * watches for the end of each response.
 */
public final class ClientSession implements BackendConnection.Listener {
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);
    private static final Duration SYNC_TIMEOUT = Duration.ofSeconds(10);

    /** What a session is doing, as the admin endpoint shows it. */
    public enum State { IDLE, WAITING, QUERY, CLOSED }

    /** The frontend side of a session: what only the handler that owns the socket can do. */
    public interface Frontend {
        /** COM_CHANGE_USER arrived; the frontend runs the auth exchange and calls {@link #changeUser}. */
        void changeUser(ByteBuf packet);

        /** Sends an ERR and closes the client connection. */
        void fail(SluiceError error, int seq, String message);
    }

    private final long id;
    private final Channel client;
    private final EventLoop loop;
    private final Frontend frontend;
    private final BackendPools pools;
    private final SessionRegistry registry;
    private final Capabilities capabilities;
    private final Map<String, String> attributes;
    private final long connectedAtMillis = System.currentTimeMillis();
    private UserConfig user;
    private BackendKey key;
    private PoolMode mode;
    /** Schema the client has selected, as Sluice knows it; restored on a new backend. */
    private String schema;

    private BackendConnection backend;
    private Future<BackendConnection> acquiring;
    /** The command waiting for a backend (retained; released when written or on close). */
    private ByteBuf pendingCommand;
    private CommandType pendingType;
    /** The next client packet continues a command of 16 MiB or more. */
    private boolean clientContinuation;
    /** Sequence id of the last server packet forwarded to the client. */
    private int lastSeqToClient;
    private volatile State state = State.IDLE;
    private volatile long commandStartNanos;
    private volatile CommandType currentCommand;
    /** First bytes of the current COM_QUERY, for the admin view; reused, never reallocated. */
    private final byte[] statementHead = new byte[128];
    private volatile int statementHeadLength;
    private boolean closed;

    public ClientSession(long id, Channel client, Frontend frontend, BackendPools pools, SessionRegistry registry,
                         UserConfig user, PoolMode mode, Capabilities capabilities, int collation, String schema,
                         Map<String, String> attributes) {
        this.id = id;
        this.client = client;
        this.loop = client.eventLoop();
        this.frontend = frontend;
        this.pools = pools;
        this.registry = registry;
        this.user = user;
        this.mode = mode;
        this.capabilities = capabilities;
        this.key = BackendKey.of(user.backendUser(), capabilities, collation);
        this.schema = schema;
        this.attributes = attributes;
        registry.add(this);
    }

    public long id() {
        return id;
    }

    public String user() {
        return user.name();
    }

    public String schema() {
        return schema;
    }

    public PoolMode mode() {
        return mode;
    }

    public State state() {
        return state;
    }

    public Map<String, String> attributes() {
        return attributes;
    }

    public SocketAddress clientAddress() {
        return client.remoteAddress();
    }

    public String clientHost() {
        SocketAddress a = client.remoteAddress();
        return a instanceof InetSocketAddress i ? i.getAddress().getHostAddress() : String.valueOf(a);
    }

    public long connectedAtMillis() {
        return connectedAtMillis;
    }

    /** The backend connection this session holds now, or null. */
    public BackendConnection backend() {
        return backend;
    }

    public CommandType currentCommand() {
        return currentCommand;
    }

    /** Nanoseconds since the current command started, or -1 when idle. */
    public long commandNanos() {
        return state == State.QUERY || state == State.WAITING ? System.nanoTime() - commandStartNanos : -1;
    }

    /** The first bytes of the current or last COM_QUERY. */
    public String statementHead() {
        int n = statementHeadLength;
        return new String(statementHead, 0, n, StandardCharsets.UTF_8);
    }

    /** True while a server response is outstanding or a command waits for a backend. */
    public boolean busy() {
        return pendingCommand != null || backend != null && !backend.tracker().idle();
    }

    @Override
    public String toString() {
        return "session#" + id + "(" + user.name() + "@" + clientHost() + ")";
    }

    // ---------------------------------------------------------------- login

    /**
     * Completes the login: with a schema, a backend is borrowed to check it exists (the server's
     * ERR, e.g. 1049 Unknown database, is what the client then reads); then OK with {@code seq}.
     */
    public void login(int seq) {
        if (schema == null) {
            writeOk(seq);
            return;
        }
        acquire(() -> {
            if (mode == PoolMode.TRANSACTION) {
                unlink(BackendPools.Release.CLEAN);
            }
            writeOk(seq);
        }, seq);
    }

    private void writeOk(int seq) {
        client.writeAndFlush(Packets.ok(client.alloc(), seq, 0, 0, ServerStatus.SERVER_STATUS_AUTOCOMMIT, 0));
    }

    /**
     * After a successful COM_CHANGE_USER: the session starts afresh as {@code newUser} (state reset,
     * as the server would), then OK with {@code seq}.
     */
    public void changeUser(UserConfig newUser, PoolMode newMode, int collation, String newSchema, int seq) {
        if (backend != null) {
            unlink(BackendPools.Release.RESET);
        }
        this.user = newUser;
        this.mode = newMode;
        this.key = BackendKey.of(newUser.backendUser(), capabilities, collation);
        this.schema = newSchema;
        login(seq);
    }

    // ---------------------------------------------------------------- client side

    /** A command-phase packet from the client; the session owns it. */
    public void onClientPacket(ByteBuf packet) {
        if (closed) {
            packet.release();
            return;
        }
        if (clientContinuation || backend != null && backend.tracker().awaitingClientData()) {
            forwardContinuation(packet);
            return;
        }
        int seq = Packets.sequenceId(packet);
        if (seq != 0) {
            packet.release();
            frontend.fail(SluiceError.PROTOCOL_ERROR, seq + 1, "Sluice: got packets out of order: a command "
                    + "must start with sequence id 0, got " + seq);
            return;
        }
        CommandType type = Packets.payloadLength(packet) == 0 ? CommandType.UNKNOWN : CommandType.of(Packets.header(packet));
        switch (type) {
            case COM_QUIT -> {
                packet.release();
                client.close();
            }
            case COM_PING -> {
                if (backend == null || backend.tracker().idle()) {
                    packet.release();
                    client.writeAndFlush(Packets.ok(client.alloc(), 1, 0, 0, status(), 0));
                } else {
                    forward(packet, type);
                }
            }
            case COM_CHANGE_USER -> {
                if (busy()) {
                    packet.release();
                    frontend.fail(SluiceError.PROTOCOL_ERROR, 1, "Sluice: COM_CHANGE_USER sent while a previous command was still running");
                } else {
                    frontend.changeUser(packet);
                }
            }
            case COM_RESET_CONNECTION -> {
                if (backend == null) {
                    packet.release();
                    client.writeAndFlush(Packets.ok(client.alloc(), 1, 0, 0, ServerStatus.SERVER_STATUS_AUTOCOMMIT, 0));
                } else {
                    forward(packet, type);
                }
            }
            case COM_PROCESS_KILL -> {
                long target = Packets.payloadLength(packet) >= 5 ? packet.getUnsignedIntLE(packet.readerIndex() + 5) : -1;
                packet.release();
                kill(new KillStatement(false, target));
            }
            case COM_QUERY -> {
                rememberStatement(packet);
                KillStatement kill = KillStatement.parse(Packets.payload(packet).skipBytes(1));
                if (kill == null) {
                    forward(packet, type);
                } else {
                    packet.release();
                    kill(kill);
                }
            }
            case COM_INIT_DB, COM_FIELD_LIST, COM_STATISTICS, COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_FETCH,
                 COM_STMT_RESET, COM_STMT_SEND_LONG_DATA, COM_STMT_CLOSE, COM_SET_OPTION, COM_DEBUG, COM_REFRESH,
                 COM_PROCESS_INFO, COM_CREATE_DB, COM_DROP_DB -> forward(packet, type);
            case COM_SLEEP, COM_CONNECT, COM_TIME, COM_DELAYED_INSERT, COM_BINLOG_DUMP, COM_TABLE_DUMP,
                 COM_CONNECT_OUT, COM_REGISTER_SLAVE, COM_DAEMON, COM_BINLOG_DUMP_GTID, COM_SHUTDOWN -> {
                packet.release();
                sendError(1, SluiceError.UNSUPPORTED_COMMAND, "Sluice does not relay " + type
                        + "; connect to the server directly for replication or administration");
            }
            case UNKNOWN -> {
                int b = Packets.payloadLength(packet) == 0 ? -1 : Packets.header(packet);
                packet.release();
                client.writeAndFlush(Packets.err(client.alloc(), 1, 1047, "08S01", "Unknown command (0x"
                        + Integer.toHexString(b & 0xff) + ")"));
            }
        }
    }

    private void rememberStatement(ByteBuf packet) {
        int n = Math.min(statementHead.length, Packets.payloadLength(packet) - 1);
        packet.getBytes(packet.readerIndex() + Packets.HEADER_SIZE + 1, statementHead, 0, n);
        statementHeadLength = n;
    }

    private int status() {
        return backend == null ? ServerStatus.SERVER_STATUS_AUTOCOMMIT : backend.tracker().lastStatus();
    }

    private void forwardContinuation(ByteBuf packet) {
        if (backend == null) {
            // The command this continues was refused or its backend died: drop the rest of it.
            clientContinuation = Packets.payloadLength(packet) == Packets.MAX_PAYLOAD;
            packet.release();
            return;
        }
        if (clientContinuation) {
            clientContinuation = Packets.payloadLength(packet) == Packets.MAX_PAYLOAD;
        } else {
            backend.tracker().onClientDataPacket(packet);
        }
        backend.write(packet);
    }

    /** Sends a command to the backend, borrowing one first when the session holds none. */
    private void forward(ByteBuf packet, CommandType type) {
        if (backend != null) {
            write(packet, type);
            return;
        }
        if (!ResponseTracker.hasResponse(type)) {
            // COM_STMT_CLOSE / SEND_LONG_DATA with no backend: no statement lives anywhere to act on.
            packet.release();
            return;
        }
        pendingCommand = packet;
        pendingType = type;
        acquire(() -> {
            ByteBuf p = pendingCommand;
            CommandType t = pendingType;
            pendingCommand = null;
            pendingType = null;
            write(p, t);
            backend.flush();
        }, 1);
    }

    private void write(ByteBuf packet, CommandType type) {
        currentCommand = type;
        if (ResponseTracker.hasResponse(type)) {
            state = State.QUERY;
            commandStartNanos = System.nanoTime();
        }
        clientContinuation = Packets.payloadLength(packet) == Packets.MAX_PAYLOAD;
        backend.tracker().expect(type);
        backend.write(packet);
    }

    /** The client's read burst ended: push what was written to the backend. */
    public void onClientReadComplete() {
        if (backend != null) {
            backend.flush();
        }
    }

    /** The client's channel became writable again (or not): resume (or pause) reading the backend. */
    public void onClientWritabilityChanged(boolean writable) {
        BackendConnection b = backend;
        if (b != null) {
            b.channel().config().setAutoRead(writable);
        }
    }

    // ---------------------------------------------------------------- acquiring

    /**
     * Borrows a backend (stops reading the client meanwhile), links it, restores the schema, then
     * runs {@code then}. On refusal the client gets the gate's ERR with sequence id {@code errSeq}.
     */
    private void acquire(Runnable then, int errSeq) {
        state = State.WAITING;
        commandStartNanos = System.nanoTime();
        client.config().setAutoRead(false);
        Future<BackendConnection> f = pools.acquire(key, loop);
        acquiring = f;
        f.addListener(x -> {
            acquiring = null;
            if (closed) {
                if (x.isSuccess()) {
                    pools.release(f.getNow(), BackendPools.Release.CLEAN);
                }
                return;
            }
            if (!x.isSuccess()) {
                refused(x.cause(), errSeq);
                return;
            }
            link(f.getNow());
            syncState(then, errSeq);
        });
    }

    private void refused(Throwable cause, int errSeq) {
        ByteBuf p = pendingCommand;
        pendingCommand = null;
        pendingType = null;
        if (p != null) {
            clientContinuation = Packets.payloadLength(p) == Packets.MAX_PAYLOAD;
            p.release();
        }
        state = State.IDLE;
        SluiceError err = cause instanceof SluiceException se ? se.error() : SluiceError.SERVER_UNAVAILABLE;
        log.warn("{}: {}", this, cause.getMessage());
        sendError(errSeq, err, cause.getMessage());
        client.config().setAutoRead(true);
    }

    /** Brings a freshly linked backend to the session's state: today, its schema. */
    private void syncState(Runnable then, int errSeq) {
        BackendConnection b = backend;
        if (schema == null || schema.equals(b.schema())) {
            resume(then);
            return;
        }
        String want = schema;
        b.initDb(want, SYNC_TIMEOUT).addListener(f -> loop.execute(() -> {
            if (closed || backend != b) {
                return;
            }
            if (f.isSuccess() && ((BackendConnection.Reply) f.getNow()).ok()) {
                b.schema(want);
                resume(then);
            } else if (f.isSuccess()) {
                // The schema is gone (or never existed): the client reads the server's own error.
                ErrPacket e = ((BackendConnection.Reply) f.getNow()).error();
                ByteBuf p = pendingCommand;
                pendingCommand = null;
                if (p != null) {
                    p.release();
                }
                schema = null;
                unlink(BackendPools.Release.CLEAN);
                state = State.IDLE;
                client.writeAndFlush(Packets.err(client.alloc(), errSeq, e.code(), e.sqlState(), e.message()));
                client.config().setAutoRead(true);
            } else {
                unlink(BackendPools.Release.DISCARD);
                refused(new SluiceException(SluiceError.BACKEND_LOST, "Sluice: the backend connection failed while "
                        + "selecting schema '" + want + "': " + f.cause().getMessage()), errSeq);
            }
        }));
    }

    private void resume(Runnable then) {
        state = State.IDLE;
        then.run();
        client.config().setAutoRead(true);
    }

    // ---------------------------------------------------------------- link

    /** Links a backend to this session: from now on its packets come here. */
    private void link(BackendConnection b) {
        if (backend != null) {
            throw new IllegalStateException(this + " already holds " + backend + ", cannot link " + b);
        }
        backend = b;
        b.listener(this);
        b.channel().config().setAutoRead(client.isWritable());
    }

    /** Gives the backend back to the pool and clears both sides of the link. */
    private void unlink(BackendPools.Release how) {
        BackendConnection b = backend;
        if (b == null) {
            return;
        }
        backend = null;
        b.channel().config().setAutoRead(true);
        pools.release(b, how);
    }

    // ---------------------------------------------------------------- server side

    @Override
    public void onBackendPacket(BackendConnection b, ByteBuf packet) {
        if (loop.inEventLoop()) {
            backendPacket(b, packet);
        } else {
            loop.execute(() -> backendPacket(b, packet));
        }
    }

    private void backendPacket(BackendConnection b, ByteBuf packet) {
        if (b != backend || closed) {
            packet.release();
            return;
        }
        int r;
        try {
            r = b.tracker().onServerPacket(packet);
        } catch (MalformedPacketException e) {
            packet.release();
            log.warn("{}: server broke the protocol on {}: {}", this, b, e.getMessage());
            unlink(BackendPools.Release.DISCARD);
            frontend.fail(SluiceError.BACKEND_LOST, lastSeqToClient + 1, "Sluice: the server sent an unexpected packet: "
                    + e.getMessage());
            return;
        }
        lastSeqToClient = Packets.sequenceId(packet);
        client.write(packet, client.voidPromise());
        if (r == ResponseTracker.DONE && b.tracker().idle()) {
            state = State.IDLE;
            onResponseComplete(b);
        }
    }

    /** A response ended and nothing else is outstanding: the pool mode decides whether to keep the backend. */
    private void onResponseComplete(BackendConnection b) {
        if (currentCommand == CommandType.COM_INIT_DB && !b.tracker().lastWasError()) {
            // COM_INIT_DB succeeded: remember the schema to restore it on another backend. Text
            // USE statements are tracked with the multiplexing work (session-state tracking).
            b.schema(null);
        }
    }

    @Override
    public void onBackendReadComplete(BackendConnection b) {
        if (loop.inEventLoop()) {
            client.flush();
        } else {
            loop.execute(client::flush);
        }
    }

    @Override
    public void onBackendClosed(BackendConnection b, String reason) {
        loop.execute(() -> {
            if (b != backend || closed) {
                return;
            }
            boolean inFlight = !b.tracker().idle();
            backend = null;
            log.warn("{}: backend {} closed{}: {}", this, b, inFlight ? " mid-response" : "", reason);
            frontend.fail(SluiceError.BACKEND_LOST, inFlight ? lastSeqToClient + 1 : 0,
                    "Sluice: the server connection serving this session was lost (" + reason + "); session state is gone, reconnect");
        });
    }

    // ---------------------------------------------------------------- KILL

    private void kill(KillStatement k) {
        if (k == KillStatement.UNSUPPORTED) {
            sendError(1, SluiceError.UNSUPPORTED_COMMAND, "Sluice: only KILL [CONNECTION | QUERY] <id> with a Sluice "
                    + "connection id is supported (ids are Sluice's, not the server's)");
            return;
        }
        ClientSession target = registry.get(k.id());
        if (target == null) {
            client.writeAndFlush(Packets.err(client.alloc(), 1, 1094, "HY000", "Unknown thread id: " + k.id()));
            return;
        }
        if (!target.user.name().equals(user.name())) {
            client.writeAndFlush(Packets.err(client.alloc(), 1, 1095, "HY000", "You are not owner of thread " + k.id()));
            return;
        }
        if (target == this && !k.query()) {
            frontend.fail(SluiceError.UNAVAILABLE, 1, "Sluice: connection killed by its own KILL");
            return;
        }
        target.loop.execute(() -> target.killedBy(this, k));
    }

    /** Runs on the target's loop: stops its running query (KILL QUERY) or ends it (KILL CONNECTION). */
    private void killedBy(ClientSession killer, KillStatement k) {
        BackendConnection b = backend;
        boolean running = b != null && !b.tracker().idle();
        long thread = running ? b.threadId() : -1;
        if (!k.query()) {
            log.info("{}: killed by {}", this, killer);
            if (!running) {
                frontend.fail(SluiceError.UNAVAILABLE, 0, "Sluice: connection killed by session " + killer.id);
            }
        }
        killer.loop.execute(() -> killer.killThread(thread, k.query()));
    }

    /** Runs on the killer's loop: asks the server to kill a backend thread through this session's own backend. */
    private void killThread(long thread, boolean query) {
        if (thread < 0) {
            client.writeAndFlush(Packets.ok(client.alloc(), 1, 0, 0, status(), 0));
            return;
        }
        forward(Packets.query(client.alloc(), (query ? "KILL QUERY " : "KILL CONNECTION ") + thread), CommandType.COM_QUERY);
        if (backend != null) {
            backend.flush();
        }
    }

    // ---------------------------------------------------------------- errors and close

    private void sendError(int seq, SluiceError error, String message) {
        client.writeAndFlush(Packets.err(client.alloc(), seq, error.code(), error.sqlState(), message));
    }

    /** Closes the client connection (shutdown, admin kill); {@link #close} follows from the channel. */
    public void closeClient() {
        client.close();
    }

    /** Ends the session: withdraws a pending acquire, gives the backend back (reset, or discarded mid-response). */
    public void close(String reason) {
        if (closed) {
            return;
        }
        closed = true;
        state = State.CLOSED;
        registry.remove(this);
        if (acquiring != null) {
            acquiring.cancel(false);
        }
        if (pendingCommand != null) {
            pendingCommand.release();
            pendingCommand = null;
        }
        if (backend != null) {
            boolean clean = backend.tracker().idle() && !clientContinuation;
            unlink(clean ? BackendPools.Release.RESET : BackendPools.Release.DISCARD);
        }
        log.debug("{}: closed: {}", this, reason);
    }
}
