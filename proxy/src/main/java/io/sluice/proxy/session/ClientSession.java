package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.EventExecutor;
import io.sluice.config.PoolMode;
import io.sluice.config.UserConfig;
import io.sluice.proxy.protocol.SluiceError;
import io.sluice.proxy.protocol.SluiceException;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.BackendKey;
import io.sluice.proxy.protocol.Capabilities;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.ErrPacket;
import io.sluice.proxy.protocol.MalformedPacketException;
import io.sluice.proxy.protocol.OkPacket;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.ResponseTracker;
import io.sluice.proxy.protocol.ServerStatus;
import io.sluice.proxy.cluster.Cluster;
import io.sluice.proxy.cluster.Router;
import io.sluice.proxy.digest.DigestRecorder;
import io.sluice.proxy.pool.BackendPools;
import io.sluice.proxy.session.statements.StatementBook;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.SocketAddress;
import java.util.List;
import java.util.Map;

/**
 * One logged-in client, the coordinator of its session and the sole owner of its
 * {@link BackendLink}: it borrows a backend from the pool when a command needs one
 * ({@link BackendLink#acquire}), and gives it back ({@link BackendLink#unlink}) when the pool mode
 * says so: in session mode when the client leaves.
 *
 * <p>Threading: everything runs on the client channel's event loop. Server packets arrive on the
 * backend's loop; when the two differ, the backend handler hands each read burst over in one task
 * ({@link #executor()}).
 *
 * <p>Flow: the frontend handler passes each command-phase packet to {@link #onClientPacket}; one
 * {@code switch} over {@link CommandType} decides to forward, answer locally, translate or refuse.
 * Forwarding without a backend parks the packet in the {@link CommandQueue} and the
 * {@link BackendLink} asks the gate; on grant it links, restores the state, and the session sends
 * the command. The client is read on while the
 * command waits, and stops being read as soon as it sends more (see {@link CommandQueue#holdBack}). Server
 * packets are forwarded unchanged, frame by frame, or a run of plain rows as one buffer
 * ({@link #onBackendRows}; rows are never decoded), while the {@link ResponseTracker} watches for
 * the end of each response. KILL across sessions is {@link KillDelivery}'s, the leak and timeout
 * checks are {@link Watchdogs}', what the session is doing is in {@link Activity}; they ask the
 * session what they need through its one {@code Units} object.
 */
public final class ClientSession implements BackendConnection.Listener {
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

    private static final String SHUTTING_DOWN = "Sluice is shutting down; reconnect (to another instance)";

    /** The close reason when the client's socket closed without Sluice closing it (COM_QUIT or not). */
    public static final String CLIENT_DISCONNECTED = "client disconnected";

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
    /** What the pool mode decides about the backend ({@link #mode}'s rules). */
    private ModeRules rules;

    /** The linked backend and the acquire under way: borrowing, state sync, re-prepare, writing, giving back. */
    private final BackendLink link;
    /** The command waiting for a backend (or for Sluice's own commands on it) and the packets held back behind it. */
    private final CommandQueue queue;
    /**
     * Sequence id of the last packet of the current command in either direction: the command
     * packet itself (0) when it starts, then each client data packet and each server packet
     * forwarded. An ERR Sluice writes mid-command carries this + 1, what the client expects next.
     */
    private int lastSeq;
    /** What the session is doing (state, current command, since when), for the admin and the watchdogs. */
    private final Activity activity = new Activity();
    private boolean closed;
    /** The client said COM_QUIT, or Sluice closes it (shutdown, admin kill): not a client that vanished. */
    private volatile boolean closeRequested;

    /** Leak detection, idle-in-transaction, max query and transaction time: the clock, the verdicts, the checks. */
    private final Watchdogs watchdogs;

    /** Why the session keeps its backend between statements; it does while any pin holds. */
    private final PinTable pins = new PinTable();
    /** The schema, and in transaction mode the movable state (variables, user variables, LAST_INSERT_ID, ...). */
    private final SessionState sessionState;
    /** Transaction pool mode: the client's prepared-statement commands, virtualized (see docs/multiplexing.md). */
    private final StatementCommands statements;
    /** The rest of a refused command of 16 MiB or more is dropped. */
    private boolean dropContinuation;

    /**
     * The login (or COM_CHANGE_USER) is checking its schema on a backend: client packets wait, and
     * an error ends the connection after the ERR, as the server does (issue #24).
     */
    private boolean loggingIn;
    /** KILL across sessions: this session's side, as killer or target. */
    private final KillDelivery kills;
    /** With several servers: where each unit of work goes, and this session's last write; null with one server. */
    private final SessionRouting routing;
    /** With several servers: what a primary turning read-only or dying leaves for later (decisions: {@link ClusterFailure}). */
    private final ClusterFailure failure = new ClusterFailure();
    /** Per-statement statistics: this session's statements timed and counted by digest (docs/digests.md). */
    private final DigestRecorder digests;
    /** @param cluster the primary and its replicas, or null with one server */
    public ClientSession(long id, Channel client, Frontend frontend, BackendPools pools, Cluster cluster, SessionRegistry registry,
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
        this.rules = ModeRules.of(mode);
        this.capabilities = capabilities;
        this.key = BackendKey.of(user.backendUser(), capabilities, collation, mode == PoolMode.TRANSACTION);
        this.sessionState = new SessionState(pins, schema);
        this.attributes = attributes;
        StatementBook book = new StatementBook(pools);
        this.statements = new StatementCommands(book, pins, sessionState, client, pools);
        this.queue = new CommandQueue(client);
        Units units = new Units();
        this.watchdogs = new Watchdogs(units, activity, loop);
        this.kills = new KillDelivery(id, units, client, registry);
        this.routing = cluster == null ? null : new SessionRouting(cluster, user);
        this.link = new BackendLink(id, units, this, client, pools, routing, sessionState, book);
        this.digests = new DigestRecorder(registry.digests());
        registry.add(this);
    }

    public long id() {
        return id;
    }

    public String user() {
        return user.name();
    }

    /** The backend connection this session holds now, or null (any thread: a recent value). */
    public BackendConnection backend() {
        return link.published();
    }

    /** This session for the admin endpoint, from any thread (see {@link SessionSnapshot#of}). */
    public SessionSnapshot snapshot() {
        return SessionSnapshot.of(id, user.name(), client.remoteAddress(), programName(), activity, pins.list(), mode,
                sessionState.schema(), connectedAtMillis, backend(), watchdogs, routing == null ? null : routing.lastRoute());
    }

    /** Nanoseconds since the current command started, or -1 when idle. */
    public long commandNanos() {
        return activity.commandNanos();
    }

    private SocketAddress clientAddress() {
        return client.remoteAddress();
    }

    /** Why this session keeps its backend between statements (transaction mode), empty when it does not. */
    public List<Pin> pins() {
        return pins.list();
    }

    /** Whether this session shares backends between its statements (transaction pool mode). */
    private boolean multiplexed() {
        return mode == PoolMode.TRANSACTION;
    }

    private void forgetState() {
        sessionState.forget();
        pins.clear();
        watchdogs.forgetTransaction();
        statements.clear();
    }

    /** True while a server response is outstanding or a command waits for a backend. */
    public boolean busy() {
        BackendConnection b = link.get();
        return queue.waiting() || b != null && !b.tracker().idle();
    }

    @Override
    public String toString() {
        return "session#" + id + "(" + user.name() + "@" + SessionSnapshot.host(client.remoteAddress()) + ")";
    }

    // ---------------------------------------------------------------- login

    /**
     * Completes the login: with a schema, a backend is borrowed to check it exists (the server's
     * ERR, e.g. 1049 Unknown database, is what the client then reads); then OK with {@code seq}.
     */
    public void login(int seq) {
        if (sessionState.schema() == null) {
            writeOk(seq);
            return;
        }
        loggingIn = true;
        acquire(() -> {
            loggingIn = false;
            if (!rules.keepsBackendAfterLogin()) {
                link.unlink(BackendPools.Release.CLEAN);
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
        if (link.get() != null) {
            link.unlink(BackendPools.Release.RESET);
        }
        this.user = newUser;
        if (routing != null) {
            routing.user(newUser);
        }
        this.mode = newMode;
        this.rules = ModeRules.of(newMode);
        this.key = BackendKey.of(newUser.backendUser(), capabilities, collation, newMode == PoolMode.TRANSACTION);
        sessionState.selectSchema(newSchema);
        forgetState();
        login(seq);
    }

    // ---------------------------------------------------------------- client side

    /** A command-phase packet from the client; the session owns it. */
    public void onClientPacket(ByteBuf packet) {
        if (tookNonCommand(packet)) {
            return;
        }
        watchdogs.commandArrived();
        int seq = Packets.sequenceId(packet);
        lastSeq = seq;
        if (seq != 0) {
            packet.release();
            frontend.fail(SluiceError.PROTOCOL_ERROR, seq + 1, "Sluice: got packets out of order: a command "
                    + "must start with sequence id 0, got " + seq);
            return;
        }
        route(packet);
    }

    /**
     * Takes a client packet that does not start a command now: the session is closed, a command
     * waits (held back), the rest of a refused command (dropped), or the continuation of a 16 MiB
     * command or LOAD DATA content (forwarded). Returns false for a command to route.
     */
    private boolean tookNonCommand(ByteBuf packet) {
        if (closed) {
            packet.release();
            return true;
        }
        if (queue.waiting() || loggingIn) {
            queue.holdBack(packet);
            return true;
        }
        if (dropContinuation) {
            dropContinuation = Packets.payloadLength(packet) == Packets.MAX_PAYLOAD;
            packet.release();
            return true;
        }
        if (link.continues()) {
            forwardContinuation(packet);
            return true;
        }
        return false;
    }

    /** Carries out what {@link CommandRouter} decides for a command (sequence id 0). */
    private void route(ByteBuf packet) {
        CommandType type = Packets.payloadLength(packet) == 0 ? CommandType.UNKNOWN : CommandType.of(Packets.header(packet));
        digests.arrived(type, packet);
        String message = failure.takeLost(type);
        if (message != null) {
            packet.release();
            client.writeAndFlush(Packets.err(client.alloc(), 1, SluiceError.PRIMARY_CHANGED.code(),
                    SluiceError.PRIMARY_CHANGED.sqlState(), message));
            return;
        }
        BackendConnection linked = link.get();
        boolean responding = linked != null && !linked.tracker().idle();
        CommandRouter.Route route = CommandRouter.route(type, multiplexed(), registry.draining(), watchdogs.inTransaction(),
                linked != null, responding);
        switch (route) {
            case QUERY -> query(packet, false);
            case TRACKED_QUERY -> query(packet, true);
            case VIRTUAL_PREPARE -> prepare(packet);
            case VIRTUAL_STATEMENT -> statementStep(statements.onCommand(packet, type, link.get()), packet, type);
            case PIN_AND_FORWARD -> {
                pins.pin(Pin.SET_OPTION);
                forward(packet, type);
            }
            case FORWARD -> forward(packet, type);
            default -> answer(route, packet, type);
        }
    }

    /** Carries out a decision that Sluice answers itself, without the server. */
    private void answer(CommandRouter.Route route, ByteBuf packet, CommandType type) {
        if (route == CommandRouter.Route.CHANGE_USER) {
            frontend.changeUser(packet);
            return;
        }
        if (route == CommandRouter.Route.RESET_LOCALLY) {
            resetLocally(packet);
            return;
        }
        int header = Packets.payloadLength(packet) == 0 ? -1 : Packets.header(packet);
        long killTarget = route == CommandRouter.Route.KILL && Packets.payloadLength(packet) >= 5
                ? packet.getUnsignedIntLE(packet.readerIndex() + 5) : -1;
        packet.release();
        switch (route) {
            case SHUT_DOWN -> {
                closeRequested = true;
                frontend.fail(SluiceError.UNAVAILABLE, 1, SHUTTING_DOWN);
            }
            case QUIT -> {
                closeRequested = true;
                client.close();
            }
            case ANSWER_OK -> client.writeAndFlush(Packets.ok(client.alloc(), 1, 0, 0, status(), 0));
            case REFUSE_CHANGE_USER -> frontend.fail(SluiceError.PROTOCOL_ERROR, 1,
                    "Sluice: COM_CHANGE_USER sent while a previous command was still running");
            case ANSWER_RESET -> client.writeAndFlush(Packets.ok(client.alloc(), 1, 0, 0, ServerStatus.SERVER_STATUS_AUTOCOMMIT, 0));
            case KILL -> kills.kill(new KillStatement(false, killTarget));
            case UNSUPPORTED -> sendError(1, SluiceError.UNSUPPORTED_COMMAND, "Sluice does not relay " + type
                    + "; connect to the server directly for replication or administration");
            case UNKNOWN -> client.writeAndFlush(Packets.err(client.alloc(), 1, 1047, "08S01", "Unknown command (0x"
                    + Integer.toHexString(header & 0xff) + ")"));
            default -> throw new IllegalStateException("not answered by Sluice: " + route);
        }
    }

    /** COM_RESET_CONNECTION of an idle transaction-mode session: its state lives in Sluice (and maybe on a pinned backend): wipe both. */
    private void resetLocally(ByteBuf packet) {
        packet.release();
        boolean dirty = pins.pinned();
        forgetState();
        if (link.get() != null) {
            link.unlink(dirty ? BackendPools.Release.RESET : BackendPools.Release.CLEAN);
        }
        client.writeAndFlush(Packets.ok(client.alloc(), 1, 0, 0, ServerStatus.SERVER_STATUS_AUTOCOMMIT, 0));
    }

    /** COM_QUERY: a KILL is Sluice's to deliver; in transaction mode the statement is classified for pins and movable state. */
    private void query(ByteBuf packet, boolean tracked) {
        activity.statement(packet);
        int from = packet.readerIndex() + Packets.HEADER_SIZE + 1;
        int end = Packets.payloadEnd(packet);
        KillStatement kill = KillStatement.parse(packet, from, end);
        if (kill != null) {
            packet.release();
            kills.kill(kill);
            return;
        }
        if (tracked) {
            sessionState.queryClassified(packet, from, end);
        }
        forward(packet, CommandType.COM_QUERY);
    }

    /** COM_STMT_PREPARE in transaction mode: refused beyond sluice.pool.max-client-statements. */
    private void prepare(ByteBuf packet) {
        boolean big = Packets.payloadLength(packet) == Packets.MAX_PAYLOAD;
        if (statements.mayPrepare(packet)) {
            forward(packet, CommandType.COM_STMT_PREPARE);
        } else {
            dropContinuation = big;
        }
    }

    private int status() {
        BackendConnection b = link.get();
        return b == null ? ServerStatus.SERVER_STATUS_AUTOCOMMIT : b.tracker().lastStatus();
    }

    private void forwardContinuation(ByteBuf packet) {
        int seq = Packets.sequenceId(packet);
        if (link.writeContinuation(packet)) {
            lastSeq = seq;
        }
    }

    /** Sends a command to the backend, borrowing one first when the session holds none. */
    private void forward(ByteBuf packet, CommandType type) {
        if (link.get() != null) {
            send(packet, type);
            return;
        }
        if (!ResponseTracker.hasResponse(type) && !(rules.needsBackendWithoutReply() && type == CommandType.COM_STMT_SEND_LONG_DATA)) {
            // Session mode, COM_STMT_CLOSE / SEND_LONG_DATA with no backend: no statement lives anywhere to act on.
            packet.release();
            return;
        }
        queue.park(packet, type);
        acquire(this::sendPending, 1);
    }

    /** Sends the command that waited (for a backend, or for its statement to be prepared on it). */
    private void sendPending() {
        CommandType t = queue.type();
        ByteBuf p = queue.take();
        activity.idle();
        send(p, t);
        link.flush();
        if (!queue.waiting()) {
            resumeReading();
        }
    }

    /** Sends a command on the linked backend: statement commands of a multiplexed session through their virtual ids. */
    private void send(ByteBuf packet, CommandType type) {
        if (multiplexed() && isStatementCommand(type)) {
            // Under the backend's id for the statement, preparing it there first when it is not.
            ByteBuf out = statements.toServer(packet, type, link.get());
            if (out != null) {
                write(out, type);
                statements.sent();
            } else {
                statementStep(statements.notSent(), packet, type);
            }
            return;
        }
        activity.sent(type);
        digests.sent(type, packet, user.name(), link.server(), activity.commandStartNanos(), link.get().tracker().idle());
        link.send(packet, type);
    }

    private static boolean isStatementCommand(CommandType type) {
        return switch (type) {
            case COM_STMT_EXECUTE, COM_STMT_FETCH, COM_STMT_RESET, COM_STMT_SEND_LONG_DATA -> true;
            default -> false;
        };
    }

    /** Writes a command as it is (a statement command already under the backend's id). */
    private void write(ByteBuf packet, CommandType type) {
        activity.sent(type);
        digests.sent(type, packet, user.name(), link.server(), activity.commandStartNanos(), link.get().tracker().idle());
        link.write(packet, type);
    }

    /** The client's read burst ended: push what was written to the backend. */
    public void onClientReadComplete() {
        link.flush();
    }

    /** The client's channel became writable again (or not): resume (or pause) reading the backend. */
    public void onClientWritabilityChanged(boolean writable) {
        link.clientWritable(writable);
    }

    // ---------------------------------------------------------------- prepared statements (transaction mode)

    /** Carries out what {@link StatementCommands} decides for a statement command (transaction mode). */
    private void statementStep(StatementCommands.Step step, ByteBuf packet, CommandType type) {
        switch (step) {
            case FORWARD -> forward(packet, type);
            case WRITE -> write(packet, type);
            case PREPARE_FIRST -> {
                park(packet, type);
                link.prepare(statements.toPrepare(), this::sendPending);
            }
            case ANSWERED -> dropContinuation = statements.dropRest();
            case REFUSED -> {
                dropContinuation = statements.dropRest();
                activity.idle();
                releaseIfUnpinned();
            }
            case CLOSED -> releaseIfUnpinned();
            default -> {
            }
        }
    }

    /**
     * Reads the client again. Turning auto-read on can hand over commands the flow-control handler
     * held back (a client that sent several at once, like SEND_LONG_DATA then EXECUTE) right here,
     * outside a read burst whose end would flush them: flush the backend after.
     */
    private void resumeReading() {
        boolean replayed = false;
        for (ByteBuf next; !queue.waiting() && !closed && (next = queue.nextHeldBack()) != null; ) {
            onClientPacket(next);
            replayed = true;
        }
        if (queue.waiting() || closed) {
            return; // a held-back command waits in turn
        }
        // Usually reading was never stopped (see CommandQueue#holdBack): then there is nothing to
        // hand over or flush, and the backend's pipeline is not walked for a flush per query.
        boolean stopped = queue.resumeClientReads();
        if (stopped || replayed) {
            link.flush();
        }
    }

    /** Parks a command while Sluice runs its own commands on the backend first (see {@link CommandQueue}). */
    private void park(ByteBuf packet, CommandType type) {
        queue.park(packet, type);
        activity.parked();
    }

    /**
     * The parked command cannot run: the server refused what had to come first (its ERR is what the
     * client reads; for a command without a reply, the statement's next execution reads it).
     */
    private void failPending(ErrPacket e, int errSeq) {
        CommandType t = queue.type();
        ByteBuf p = queue.take();
        int longDataId = StatementCommands.longDataId(t, p);
        if (p != null) {
            dropContinuation = Packets.payloadLength(p) == Packets.MAX_PAYLOAD;
            p.release();
        }
        activity.idle();
        if (loggingIn) {
            // A login that fails after the password check (1049 Unknown database, no backend) ends
            // the connection, as the server's does; the session keeps no backend (the paths here
            // have given it back already).
            log.debug("{}: login failed: {}", this, e.message());
            if (link.get() != null) {
                link.unlink(BackendPools.Release.RESET);
            }
            client.writeAndFlush(Packets.err(client.alloc(), errSeq, e.code(), e.sqlState(), e.message()))
                    .addListener(io.netty.channel.ChannelFutureListener.CLOSE);
            return;
        }
        if (statements.failed(t, longDataId, e)) {
            client.writeAndFlush(Packets.err(client.alloc(), errSeq, e.code(), e.sqlState(), e.message()));
        }
        resumeReading();
        releaseIfUnpinned();
    }

    // ---------------------------------------------------------------- acquiring

    /**
     * Borrows a backend (a client that sends more meanwhile is not read: {@link CommandQueue#holdBack}), links
     * it, restores the schema, then runs {@code then}. On refusal the client gets the gate's ERR with sequence id {@code errSeq}.
     */
    private void acquire(Runnable then, int errSeq) {
        link.acquire(key, then, errSeq);
    }

    private void refused(Throwable cause, int errSeq) {
        kills.responseComplete();
        SluiceError err = cause instanceof SluiceException se ? se.error() : SluiceError.SERVER_UNAVAILABLE;
        if (err == SluiceError.BACKEND_LOST) {
            // A backend failed under this session (reset, state restore): rare, and the client sees 9405.
            log.warn("{}: error 9405 to client {}: {}", this, clientAddress(), cause.getMessage());
        } else {
            // Refusals are counted in metrics; under overload a WARN per refusal would add load to the log.
            log.debug("{}: {}", this, cause.getMessage());
        }
        failPending(new ErrPacket(err.code(), err.sqlState(), cause.getMessage()), errSeq);
    }

    private void resume(Runnable then) {
        activity.idle();
        then.run();
        if (!queue.waiting()) {
            resumeReading();
        }
    }

    // ---------------------------------------------------------------- server side

    /** Server packets and read-complete events come to this session's loop (see {@link BackendConnection.Listener#executor}). */
    @Override
    public EventExecutor executor() {
        return loop;
    }

    /** Plain rows of the result set being forwarded can come as runs (see {@link #onBackendRows}). */
    @Override
    public int rowRunBytes(BackendConnection b, ByteBuf buf, int from, int to) {
        return b == link.get() && !closed ? b.tracker().rowRunBytes(buf, from, to) : 0;
    }

    /** The server sent what the protocol does not allow here: drop the backend, tell the client. */
    private void serverBrokeProtocol(BackendConnection b, MalformedPacketException e) {
        log.warn("{}: server broke the protocol on {}: {}", this, b, e.getMessage());
        link.unlink(BackendPools.Release.DISCARD);
        frontend.fail(SluiceError.BACKEND_LOST, lastSeq + 1, "Sluice: the server sent an unexpected packet: "
                + e.getMessage());
    }

    /**
     * Several row packets in one buffer: nothing in a row concerns the session but its count and
     * sequence id, so the run goes to the client whole, as the packets one by one would.
     */
    @Override
    public void onBackendRows(BackendConnection b, ByteBuf rows) {
        if (b != link.get() || closed) {
            rows.release();
            return;
        }
        int n;
        try {
            n = b.tracker().onRowRun(rows);
        } catch (MalformedPacketException e) {
            rows.release();
            serverBrokeProtocol(b, e);
            return;
        }
        lastSeq = (Packets.sequenceId(rows) + n - 1) & 0xff;
        client.write(rows, client.voidPromise());
    }

    @Override
    public void onBackendPacket(BackendConnection b, ByteBuf packet) {
        if (b != link.get() || closed) {
            packet.release();
            return;
        }
        int r;
        CommandType answered = b.tracker().current();
        boolean prepareReply = answered == CommandType.COM_STMT_PREPARE && multiplexed() && b.tracker().atResponseStart();
        try {
            r = b.tracker().onServerPacket(packet);
            if (prepareReply && statements.onPrepareReply(b, packet)) {
                releaseIfUnpinned(); // the reply closed a statement
            }
            if (multiplexed() && b.tracker().wasOkPacket()) {
                onOkPacket(b, packet);
            }
        } catch (MalformedPacketException e) {
            packet.release();
            serverBrokeProtocol(b, e);
            return;
        }
        digests.serverPacket(r, b.tracker(), packet);
        if (r == ResponseTracker.DONE && routing != null && (packet = clusterResponseEnded(b, packet, answered)) == null) {
            return;
        }
        lastSeq = Packets.sequenceId(packet);
        client.write(packet, client.voidPromise());
        if (r == ResponseTracker.DONE) {
            if (multiplexed()) {
                onCommandDone(b, answered, packet);
            }
            if (b.tracker().idle()) {
                activity.idle();
                onResponseComplete(b);
            }
        }
    }

    /** Several servers, a response ended with {@code last}: returns the packet to forward, or null (see {@link #readOnlyAnswer}). */
    private ByteBuf clusterResponseEnded(BackendConnection b, ByteBuf last, CommandType answered) {
        if (ClusterFailure.isReadOnlyAnswer(b.tracker().lastWasError(), last) && link.linkedAsPrimary()) {
            ByteBuf forward = readOnlyAnswer(b, last, answered); // takes the kept statement when it sends it again
            link.dropRetained();
            return forward;
        }
        link.dropRetained(); // kept for a read-only answer; any other answer ends its use
        return last;
    }

    /**
     * An OK packet from a session-tracking backend: learn the transaction status, the insert id and
     * the state changes, then hide the tracking data from a client that did not ask for it.
     */
    private void onOkPacket(BackendConnection b, ByteBuf packet) {
        OkPacket ok = b.tracker().ok(); // decoded once, by the tracker, from this packet
        sessionState.readOk(ok, packet, b);
        if (!capabilities.isSessionTracked()) {
            ok.stripSessionTrackingOf(packet);
        }
    }

    /**
     * One command's response ended ({@code last} its final packet; transaction mode): its result's
     * ROW_COUNT/FOUND_ROWS, and what its statements did to the session's pins and state.
     */
    private void onCommandDone(BackendConnection b, CommandType type, ByteBuf last) {
        boolean error = b.tracker().lastWasError();
        // A cursor's rows come with COM_STMT_FETCH; the tracker counts them on from the execute.
        if ((type == CommandType.COM_QUERY || type == CommandType.COM_STMT_EXECUTE || type == CommandType.COM_STMT_FETCH)
                && !error) {
            sessionState.resultEnded(b.tracker(), last);
        }
        if (type == CommandType.COM_STMT_EXECUTE || type == CommandType.COM_STMT_FETCH || type == CommandType.COM_STMT_RESET) {
            statements.commandDone(type, error, link.get());
        }
        if (type != CommandType.COM_QUERY && type != CommandType.COM_STMT_EXECUTE) {
            return;
        }
        sessionState.statementDone(error, link.get());
        if (routing != null) {
            routing.afterResponse(sessionState.lastWriteGtid());
        }
    }

    /** A response ended and nothing else is outstanding: the pool mode decides whether to keep the backend. */
    private void onResponseComplete(BackendConnection b) {
        if (failure.takeRollBack()) {
            // The transaction died with its primary's role (9413 sent): the reset rolls it back there.
            pins.clear(Pin.TRANSACTION);
            pins.clear(Pin.NEXT_TRANSACTION);
            watchdogs.responseComplete(false, activity.commandStartNanos());
            kills.responseComplete();
            link.unlink(BackendPools.Release.RESET);
            return;
        }
        // Leak detection: an idle stretch starts now, in a transaction or not by the server's word.
        watchdogs.responseComplete(ServerStatus.has(b.tracker().lastStatus(), ServerStatus.SERVER_STATUS_IN_TRANS),
                activity.commandStartNanos());
        kills.responseComplete();
        releaseIfUnpinned();
    }

    /**
     * Several servers: the backend of a transaction died with its server (a primary killed before a
     * failover). With no response under way, or none of it forwarded yet, the transaction is gone
     * but the session need not be: the client reads 9413 (now, or as the answer to its next
     * command) and goes on; the monitor polls at once. Returns false when the session must end
     * (state beyond the transaction, or a response cut off): 9405 as with one server.
     */
    private boolean primaryLost(BackendConnection b, boolean inFlight) {
        routing.cluster().troubled();
        link.dropRetained();
        ClusterFailure.Verdict v = ClusterFailure.onLost(pins.pinned(), pins.onlyTransaction(),
                inFlight && !b.tracker().atResponseStart(), inFlight && sessionState.statementEndsTransaction(),
                link.midContinuation());
        if (v == ClusterFailure.Verdict.END) {
            return false;
        }
        pins.clear(Pin.TRANSACTION);
        pins.clear(Pin.NEXT_TRANSACTION);
        watchdogs.responseComplete(false, activity.commandStartNanos());
        String message = ClusterFailure.lost(b);
        if (inFlight) {
            activity.idle();
            kills.responseComplete();
            sendError(lastSeq + 1, SluiceError.PRIMARY_CHANGED, message);
        } else {
            failure.lostWhileIdle(message); // the answer to the client's next command
        }
        return true;
    }

    /**
     * The server the session's work went to as the primary answered "read-only": a switchover is
     * under way, and this is a topology change, not the application's error. The monitor polls at
     * once; {@link ClusterFailure} decides: the statement waits for the next primary (RETRY), the
     * transaction gets 9413 (ROLL_BACK) or the session 9405 (END). Returns the packet to forward, or null.
     */
    private ByteBuf readOnlyAnswer(BackendConnection b, ByteBuf err, CommandType answered) {
        int server = link.server();
        routing.cluster().troubled();
        if (!multiplexed()) {
            // Session mode: the session's state lives on that backend and nowhere else.
            int seq = Packets.sequenceId(err);
            err.release();
            frontend.fail(SluiceError.BACKEND_LOST, seq, "Sluice: " + routing.cluster().address(server) + " stopped being "
                    + "the primary (it answered read-only); this session's state was on it and is gone, reconnect");
            return null;
        }
        ByteBuf again = ClusterFailure.retries(answered, pins.pinned(), sessionState.autocommitOff()) ? link.takeRetained() : null;
        if (again != null) {
            err.release();
            log.info("{}: {} answered read-only (it is no longer the primary): the statement waits for the next primary",
                    this, routing.cluster().address(server));
            link.unlink(BackendPools.Release.CLEAN);
            queue.park(again, CommandType.COM_QUERY);
            activity.waiting();
            routing.cluster().awaitNextPoll(loop, () -> {
                if (!closed) {
                    link.acquire(key, this::sendPending, 1);
                }
            });
            return null;
        }
        int seq = Packets.sequenceId(err);
        err.release();
        String address = routing.cluster().address(server);
        if (ClusterFailure.onReadOnly(pins.onlyTransaction()) == ClusterFailure.Verdict.END) {
            frontend.fail(SluiceError.BACKEND_LOST, seq, ClusterFailure.readOnlyEnds(address, pins.list()));
            return null;
        }
        failure.rollBackOnRelease();
        return Packets.err(client.alloc(), seq, SluiceError.PRIMARY_CHANGED.code(), SluiceError.PRIMARY_CHANGED.sqlState(),
                ClusterFailure.readOnlyRollsBack(address));
    }

    /** Transaction mode: gives the backend back as soon as nothing ties the session to it. */
    private void releaseIfUnpinned() {
        BackendConnection b = link.get();
        if (rules.releasesBetweenTransactions() && b != null && b.tracker().idle() && !queue.waiting()
                && !link.acquiring() && !link.midContinuation() && !pins.pinned()) {
            link.unlink(BackendPools.Release.CLEAN);
        }
    }

    @Override
    public void onBackendReadComplete(BackendConnection b) {
        client.flush();
    }

    @Override
    public void onBackendClosed(BackendConnection b, String reason) {
        loop.execute(() -> {
            if (b != link.get() || closed) {
                return;
            }
            boolean inFlight = midCommand();
            link.lost();
            log.warn("{}: backend {} closed{}: {}", this, b, inFlight ? " mid-response" : "", reason);
            if (routing != null && primaryLost(b, inFlight)) {
                return;
            }
            frontend.fail(SluiceError.BACKEND_LOST, inFlight ? lastSeq + 1 : 0,
                    "Sluice: the server connection serving this session was lost (" + reason + "); session state is gone, reconnect");
        });
    }

    // ---------------------------------------------------------------- watchdogs

    private String programName() {
        return attributes.getOrDefault("program_name", "");
    }

    /** The watchdogs of this session (leaks, idle in transaction, max query and transaction time). */
    Watchdogs watchdogs() {
        return watchdogs;
    }

    // ---------------------------------------------------------------- KILL

    /** This session's side of KILL across sessions (as killer or target). */
    KillDelivery kills() {
        return kills;
    }

    // ---------------------------------------------------------------- errors and close

    /**
     * Whether the client is waiting for the reply to a command (or still sending it): an ERR
     * Sluice writes now answers that command, with sequence id {@link #lastSeq} + 1; otherwise it
     * is unsolicited and starts at 0.
     */
    private boolean midCommand() {
        BackendConnection b = link.get();
        return queue.waiting() || link.midContinuation() || b != null && !b.tracker().idle();
    }

    private void sendError(int seq, SluiceError error, String message) {
        client.writeAndFlush(Packets.err(client.alloc(), seq, error.code(), error.sqlState(), message));
    }

    /** Closes the client connection (shutdown, admin kill); {@link #close} follows from the channel. */
    public void closeClient() {
        closeRequested = true;
        client.close();
    }

    /**
     * Shutdown, after the drain: the client gets ERR 9409 (as the answer to the command in flight,
     * or unsolicited with sequence id 0 when idle) and is closed; {@link #close} follows. Any thread.
     */
    public void closeForShutdown() {
        closeRequested = true;
        if (loop.isShuttingDown()) {
            client.close(); // a second close of the proxy: nothing left to tell
            return;
        }
        loop.execute(() -> {
            if (!closed) {
                frontend.fail(SluiceError.UNAVAILABLE, midCommand() ? lastSeq + 1 : 0, SHUTTING_DOWN);
            }
        });
    }

    /** Ends the session: withdraws a pending acquire, gives the backend back (reset, or discarded mid-response). */
    public void close(String reason) {
        if (closed) {
            return;
        }
        if (CLIENT_DISCONNECTED.equals(reason) && !closeRequested && midCommand()) {
            // Gone mid-command without COM_QUIT (killed, crashed, network cut): the server runs the
            // statement, holding its locks, until it notices, as for a direct client.
            CommandType inFlight = queue.waiting() ? queue.type() : activity.command();
            log.info("{}: client {} vanished mid-command ({}{}{}); discarding backend {}", this, clientAddress(),
                    queue.waiting() ? "waiting for a backend: " : "", inFlight == CommandType.COM_QUERY
                            ? "'" + activity.statementHead() + "'" : String.valueOf(inFlight),
                    watchdogs.inTransaction() ? ", in a transaction" : "", link.get());
            pools.metrics().sessionVanished();
        }
        closed = true;
        activity.closed();
        registry.remove(this);
        link.cancelAcquire();
        link.dropRetained();
        queue.releaseAll();
        BackendConnection b = link.get();
        if (b != null) {
            boolean idle = b.tracker().idle() && !link.midContinuation();
            // A backend cut off mid-response is discarded; the pool mode says how an idle one goes back.
            BackendPools.Release how = !idle ? BackendPools.Release.DISCARD : rules.onIdleClose(pins.pinned());
            link.unlink(how);
        }
        log.debug("{}: closed: {}", this, reason);
    }

    // ---------------------------------------------------------------- what the session's units ask of it

    /**
     * What the backend link, KILL and the watchdogs ask of this session and tell it, on its loop
     * (the watchdogs' cheap questions also from the detector's thread: {@link #backend}).
     */
    private final class Units implements BackendLink.Owner, KillDelivery.Party, Watchdogs.Watched {
        @Override
        public Router.Decision route() {
            return routing.decide(queue.type(), queue.peek(), multiplexed(), pins.pinned(), sessionState.autocommitOff(),
                    statements.flags());
        }

        @Override
        public BackendPools backendPools() {
            return link.linkedPools();
        }

        @Override
        public void waitingForBackend() {
            activity.waiting();
        }

        @Override
        public boolean closed() {
            return closed;
        }

        @Override
        public boolean multiplexed() {
            return ClientSession.this.multiplexed();
        }

        @Override
        public void linkReady(Runnable then) {
            resume(then);
        }

        @Override
        public void refused(Throwable cause, int errSeq) {
            ClientSession.this.refused(cause, errSeq);
        }

        @Override
        public void stepRefused(ErrPacket error, int errSeq, boolean schemaGone) {
            if (schemaGone) {
                // The schema is gone (or never existed): the client reads the server's own error.
                sessionState.selectSchema(null);
                link.unlink(BackendPools.Release.CLEAN);
            }
            failPending(error, errSeq);
        }

        @Override
        public BackendConnection running() {
            BackendConnection b = link.get();
            return b != null && !b.tracker().idle() ? b : null;
        }

        @Override
        public void pinUntilKillDelivered() {
            pins.pin(Pin.KILL_PENDING);
        }

        @Override
        public void killDelivered() {
            pins.unpin(Pin.KILL_PENDING);
            releaseIfUnpinned();
        }

        @Override
        public void fail(SluiceError error, int seq, String message) {
            frontend.fail(error, seq, message);
        }

        @Override
        public void answerOk() {
            client.writeAndFlush(Packets.ok(client.alloc(), 1, 0, 0, status(), 0));
        }

        @Override
        public void sendKill(String sql, BackendConnection target, BackendPools targetPools, boolean query) {
            if (routing == null) {
                forward(Packets.query(client.alloc(), sql), CommandType.COM_QUERY);
                link.flush();
                return;
            }
            // Thread ids are per server: the KILL goes to the server the target's backend is on,
            // over a connection of its own, and this client reads OK as the server would answer.
            activity.waiting();
            targetPools.kill(target, query, () -> loop.execute(() -> {
                kills.responseComplete();
                answerOk();
            }));
        }

        @Override
        public String user() {
            return user.name();
        }

        @Override
        public boolean sharesBackends() {
            return rules.releasesBetweenTransactions();
        }

        @Override
        public BackendConnection backend() {
            return link.get();
        }

        @Override
        public boolean busy() {
            return ClientSession.this.busy();
        }

        @Override
        public boolean pinned() {
            return pins.pinned();
        }

        @Override
        public List<Pin> pins() {
            return pins.list();
        }

        @Override
        public int errSeq() {
            return midCommand() ? lastSeq + 1 : 0;
        }

        @Override
        public SocketAddress clientAddress() {
            return client.remoteAddress();
        }

        @Override
        public String programName() {
            return ClientSession.this.programName();
        }

        @Override
        public String toString() {
            return ClientSession.this.toString();
        }
    }
}
