package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.sluice.config.PoolMode;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.BackendKey;
import io.sluice.proxy.digest.DigestRecorder;
import io.sluice.proxy.pool.BackendPools;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.ErrPacket;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.ResponseTracker;
import io.sluice.proxy.protocol.ServerStatus;
import io.sluice.proxy.protocol.SluiceError;
import io.sluice.proxy.protocol.SluiceException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of one session (PgBouncer's client.c to the {@link ResponsePath}'s server.c): each
 * command-phase packet from the client, from its arrival to its write on the backend. One
 * {@code switch} over {@link CommandRouter}'s decision forwards, answers locally, translates or
 * refuses; forwarding without a backend parks the command in the {@link CommandQueue} and the
 * {@link BackendLink} asks the gate ({@link #acquire}); the client is read on while the command
 * waits and stops being read as soon as it sends more ({@link CommandQueue#holdBack}). It holds
 * what the pool mode decides ({@link ModeRules}) and the backend key of the session's user, both
 * set at login and at COM_CHANGE_USER ({@link #become}), and so also decides when the backend goes
 * back ({@link #releaseIfUnpinned}).
 *
 * <p>Threading: the session's client event loop only. Log lines stay under {@link ClientSession}'s logger.
 */
final class CommandPath {
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

    /** What the command path asks of its session. */
    interface Owner {
        /** Whether the session has ended (late packets are dropped). */
        boolean closed();

        /** The client leaves at Sluice's or its own word (COM_QUIT, COM_SHUTDOWN): not a client that vanished. */
        void requestClose();
    }

    private final Owner owner;
    private final Channel client;
    private final ClientSession.Frontend frontend;
    private final SessionRegistry registry;
    private final BackendLink link;
    private final CommandQueue queue;
    private final ResponsePath responses;
    private final Activity activity;
    private final Watchdogs watchdogs;
    private final PinTable pins;
    private final SessionState sessionState;
    private final StatementCommands statements;
    private final KillDelivery kills;
    /** Per-statement statistics: this session's statements timed and counted by digest (docs/digests.md). */
    private final DigestRecorder digests;
    /** The session's front-end user, whose digests its statements count in. */
    private String user;
    /** The session's pool mode (volatile: the admin's snapshot reads it), and what it decides about the backend; set at login and COM_CHANGE_USER. */
    private volatile PoolMode mode;
    private ModeRules rules;
    /** Whether this session shares backends between its statements (transaction pool mode): a field compare per packet. */
    private boolean multiplexed;
    /** The pool key of the session's user (server account, capabilities, collation, mode). */
    private BackendKey key;
    /** The rest of a refused command of 16 MiB or more is dropped. */
    private boolean dropContinuation;
    /**
     * The login (or COM_CHANGE_USER) is checking its schema on a backend: client packets wait, and
     * an error ends the connection after the ERR, as the server does (issue #24).
     */
    private boolean loggingIn;

    CommandPath(Owner owner, Channel client, ClientSession.Frontend frontend, SessionRegistry registry, BackendLink link,
                CommandQueue queue, ResponsePath responses, Activity activity, Watchdogs watchdogs, PinTable pins,
                SessionState sessionState, StatementCommands statements, KillDelivery kills, DigestRecorder digests) {
        this.owner = owner;
        this.client = client;
        this.frontend = frontend;
        this.registry = registry;
        this.link = link;
        this.queue = queue;
        this.responses = responses;
        this.activity = activity;
        this.watchdogs = watchdogs;
        this.pins = pins;
        this.sessionState = sessionState;
        this.statements = statements;
        this.kills = kills;
        this.digests = digests;
    }

    /** The session's user (its front-end name and backend key) and pool mode from now on (login, COM_CHANGE_USER). */
    void become(String user, BackendKey key, PoolMode mode) {
        this.user = user;
        this.key = key;
        this.mode = mode;
        this.rules = ModeRules.of(mode);
        this.multiplexed = mode == PoolMode.TRANSACTION;
    }

    BackendKey key() {
        return key;
    }

    PoolMode mode() {
        return mode;
    }

    ModeRules rules() {
        return rules;
    }

    boolean multiplexed() {
        return multiplexed;
    }

    /** The session starts afresh (COM_RESET_CONNECTION, COM_CHANGE_USER): its state, pins, clocks and statements. */
    void forgetState() {
        sessionState.forget();
        pins.clear();
        watchdogs.forgetTransaction();
        statements.clear();
    }

    /**
     * Completes the login: with a schema, a backend is borrowed to check it exists (the server's
     * ERR, e.g. 1049 Unknown database, is what the client then reads); then OK with {@code seq}.
     */
    void login(int seq) {
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

    /** A command-phase packet from the client; the path owns it. */
    void onClientPacket(ByteBuf packet) {
        if (tookNonCommand(packet)) {
            return;
        }
        watchdogs.commandArrived();
        int seq = Packets.sequenceId(packet);
        responses.clientSent(seq);
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
        if (owner.closed()) {
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
        String message = responses.takeLost(type);
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
                owner.requestClose();
                frontend.fail(SluiceError.UNAVAILABLE, 1, ClientSession.SHUTTING_DOWN);
            }
            case QUIT -> {
                owner.requestClose();
                client.close();
            }
            case ANSWER_OK -> client.writeAndFlush(Packets.ok(client.alloc(), 1, 0, 0, status(), 0));
            case REFUSE_CHANGE_USER -> frontend.fail(SluiceError.PROTOCOL_ERROR, 1,
                    "Sluice: COM_CHANGE_USER sent while a previous command was still running");
            case ANSWER_RESET -> client.writeAndFlush(Packets.ok(client.alloc(), 1, 0, 0, ServerStatus.SERVER_STATUS_AUTOCOMMIT, 0));
            case KILL -> kills.kill(new KillStatement(false, killTarget));
            case UNSUPPORTED -> client.writeAndFlush(Packets.err(client.alloc(), 1, SluiceError.UNSUPPORTED_COMMAND.code(),
                    SluiceError.UNSUPPORTED_COMMAND.sqlState(), "Sluice does not relay " + type
                            + "; connect to the server directly for replication or administration"));
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

    int status() {
        BackendConnection b = link.get();
        return b == null ? ServerStatus.SERVER_STATUS_AUTOCOMMIT : b.tracker().lastStatus();
    }

    private void forwardContinuation(ByteBuf packet) {
        int seq = Packets.sequenceId(packet);
        if (link.writeContinuation(packet)) {
            responses.clientSent(seq);
        }
    }

    /** Sends a command to the backend, borrowing one first when the session holds none. */
    void forward(ByteBuf packet, CommandType type) {
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
    void sendPending() {
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
        digests.sent(type, packet, user, link.server(), activity.commandStartNanos(), link.get().tracker().idle());
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
        digests.sent(type, packet, user, link.server(), activity.commandStartNanos(), link.get().tracker().idle());
        link.write(packet, type);
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
        for (ByteBuf next; !queue.waiting() && !owner.closed() && (next = queue.nextHeldBack()) != null; ) {
            onClientPacket(next);
            replayed = true;
        }
        if (queue.waiting() || owner.closed()) {
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
    void failPending(ErrPacket e, int errSeq) {
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
            log.debug("{}: login failed: {}", owner, e.message());
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

    void refused(Throwable cause, int errSeq) {
        kills.responseComplete();
        SluiceError err = cause instanceof SluiceException se ? se.error() : SluiceError.SERVER_UNAVAILABLE;
        if (err == SluiceError.BACKEND_LOST) {
            // A backend failed under this session (reset, state restore): rare, and the client sees 9405.
            log.warn("{}: error 9405 to client {}: {}", owner, client.remoteAddress(), cause.getMessage());
        } else {
            // Refusals are counted in metrics; under overload a WARN per refusal would add load to the log.
            log.debug("{}: {}", owner, cause.getMessage());
        }
        failPending(new ErrPacket(err.code(), err.sqlState(), cause.getMessage()), errSeq);
    }

    /** The link is ready (linked, state replayed): run what waited for it, then read the client on. */
    void resume(Runnable then) {
        activity.idle();
        then.run();
        if (!queue.waiting()) {
            resumeReading();
        }
    }

    // ---------------------------------------------------------------- giving the backend back

    /** Transaction mode: gives the backend back as soon as nothing ties the session to it. */
    void releaseIfUnpinned() {
        BackendConnection b = link.get();
        if (rules.releasesBetweenTransactions() && b != null && b.tracker().idle() && !queue.waiting()
                && !link.acquiring() && !link.midContinuation() && !pins.pinned()) {
            link.unlink(BackendPools.Release.CLEAN);
        }
    }
}
