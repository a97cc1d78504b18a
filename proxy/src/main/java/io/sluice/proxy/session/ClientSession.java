package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.sluice.config.PoolMode;
import io.sluice.config.UserConfig;
import io.sluice.proxy.protocol.SluiceError;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.BackendKey;
import io.sluice.proxy.protocol.Capabilities;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.ErrPacket;
import io.sluice.proxy.protocol.Packets;
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
 * One logged-in client, the coordinator of its session: it builds the session's units, is what the
 * frontend and the admin talk to, and ends the session. The work is the units': the
 * {@link CommandPath} carries each client command to the backend (PgBouncer's client.c), the
 * {@link ResponsePath} carries the server's answer back and learns from it (server.c), the
 * {@link BackendLink} borrows, links and gives back the backend; {@link KillDelivery} delivers KILL
 * across sessions, {@link Watchdogs} watch for leaks and time limits, {@link Activity} says what the
 * session is doing. They ask the session what they need through its one {@code Units} object, the
 * only code besides {@link #changeUser} and {@link #close} that moves the session's user or ends it.
 *
 * <p>Threading: everything runs on the client channel's event loop; server packets are handed over
 * to it ({@link ResponsePath#executor()}). {@link #snapshot}, {@link #backend}, {@link #pins},
 * {@link #commandNanos}, {@link #closeClient} and {@link #closeForShutdown} may be called from any
 * thread.
 */
public final class ClientSession {
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

    static final String SHUTTING_DOWN = "Sluice is shutting down; reconnect (to another instance)";

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

    /** The linked backend and the acquire under way: borrowing, state sync, re-prepare, writing, giving back. */
    private final BackendLink link;
    /** The command waiting for a backend (or for Sluice's own commands on it) and the packets held back behind it. */
    private final CommandQueue queue;
    /** The client side: each command from its arrival to its write on the backend; the pool mode's rules and the user's backend key. */
    private final CommandPath commands;
    /** The server side: forwards responses, learns from them, and keeps the sequence id an ERR of Sluice's carries. */
    private final ResponsePath responses;
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
    /** KILL across sessions: this session's side, as killer or target. */
    private final KillDelivery kills;
    /** With several servers: where each unit of work goes, and this session's last write; null with one server. */
    private final SessionRouting routing;
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
        this.capabilities = capabilities;
        this.sessionState = new SessionState(pins, schema);
        this.attributes = attributes;
        StatementBook book = new StatementBook(pools);
        this.statements = new StatementCommands(book, pins, sessionState, client, pools);
        this.queue = new CommandQueue(client);
        Units units = new Units();
        this.watchdogs = new Watchdogs(units, activity, loop);
        this.kills = new KillDelivery(id, units, client, registry);
        this.routing = cluster == null ? null : new SessionRouting(cluster, user);
        DigestRecorder digests = new DigestRecorder(registry.digests());
        this.responses = new ResponsePath(units, client, capabilities, queue, activity, pins, sessionState, statements,
                watchdogs, kills, routing, digests);
        this.link = new BackendLink(id, units, responses, client, pools, routing, sessionState, book);
        responses.attach(link);
        this.commands = new CommandPath(units, client, frontend, registry, link, queue, responses, activity, watchdogs, pins,
                sessionState, statements, kills, digests);
        commands.become(user.name(), BackendKey.of(user.backendUser(), capabilities, collation, mode == PoolMode.TRANSACTION), mode);
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
        return SessionSnapshot.of(id, user.name(), client.remoteAddress(), programName(), activity, pins.list(), commands.mode(),
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
        return commands.multiplexed();
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
        commands.become(newUser.name(), BackendKey.of(newUser.backendUser(), capabilities, collation, newMode == PoolMode.TRANSACTION), newMode);
        sessionState.selectSchema(newSchema);
        commands.forgetState();
        commands.login(seq);
    }

    /**
     * Completes the login: with a schema, a backend is borrowed to check it exists (the server's
     * ERR, e.g. 1049 Unknown database, is what the client then reads); then OK with {@code seq}.
     */
    public void login(int seq) {
        commands.login(seq);
    }

    // ---------------------------------------------------------------- client side

    /** A command-phase packet from the client; the session owns it. */
    public void onClientPacket(ByteBuf packet) {
        commands.onClientPacket(packet);
    }

    /** The client's read burst ended: push what was written to the backend. */
    public void onClientReadComplete() {
        link.flush();
    }

    /** The client's channel became writable again (or not): resume (or pause) reading the backend. */
    public void onClientWritabilityChanged(boolean writable) {
        link.clientWritable(writable);
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
                frontend.fail(SluiceError.UNAVAILABLE, responses.errSeq(), SHUTTING_DOWN);
            }
        });
    }

    /** Ends the session: withdraws a pending acquire, gives the backend back (reset, or discarded mid-response). */
    public void close(String reason) {
        if (closed) {
            return;
        }
        if (CLIENT_DISCONNECTED.equals(reason) && !closeRequested && responses.midCommand()) {
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
            BackendPools.Release how = !idle ? BackendPools.Release.DISCARD : commands.rules().onIdleClose(pins.pinned());
            link.unlink(how);
        }
        log.debug("{}: closed: {}", this, reason);
    }

    // ---------------------------------------------------------------- what the session's units ask of it

    /**
     * What the backend link, KILL and the watchdogs ask of this session and tell it, on its loop
     * (the watchdogs' cheap questions also from the detector's thread: {@link #backend}).
     */
    private final class Units implements BackendLink.Owner, KillDelivery.Party, Watchdogs.Watched, ResponsePath.Owner,
            CommandPath.Owner {
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
        public void releaseIfUnpinned() {
            commands.releaseIfUnpinned();
        }

        @Override
        public void requestClose() {
            closeRequested = true;
        }

        @Override
        public void retryOnNextPrimary(ByteBuf statement) {
            queue.park(statement, CommandType.COM_QUERY);
            activity.waiting();
            routing.cluster().awaitNextPoll(loop, () -> {
                if (!closed) {
                    link.acquire(commands.key(), commands::sendPending, 1);
                }
            });
        }

        @Override
        public void linkReady(Runnable then) {
            commands.resume(then);
        }

        @Override
        public void refused(Throwable cause, int errSeq) {
            commands.refused(cause, errSeq);
        }

        @Override
        public void stepRefused(ErrPacket error, int errSeq, boolean schemaGone) {
            if (schemaGone) {
                // The schema is gone (or never existed): the client reads the server's own error.
                sessionState.selectSchema(null);
                link.unlink(BackendPools.Release.CLEAN);
            }
            commands.failPending(error, errSeq);
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
            commands.releaseIfUnpinned();
        }

        @Override
        public void fail(SluiceError error, int seq, String message) {
            frontend.fail(error, seq, message);
        }

        @Override
        public void answerOk() {
            client.writeAndFlush(Packets.ok(client.alloc(), 1, 0, 0, commands.status(), 0));
        }

        @Override
        public void sendKill(String sql, BackendConnection target, BackendPools targetPools, boolean query) {
            if (routing == null) {
                commands.forward(Packets.query(client.alloc(), sql), CommandType.COM_QUERY);
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
            return commands.rules().releasesBetweenTransactions();
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
            return responses.errSeq();
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
