package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.BackendKey;
import io.sluice.proxy.backend.StatementKey;
import io.sluice.proxy.cluster.Router;
import io.sluice.proxy.pool.BackendPools;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.ErrPacket;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.ServerStatus;
import io.sluice.proxy.protocol.SluiceError;
import io.sluice.proxy.protocol.SluiceException;
import io.sluice.proxy.session.statements.StatementBook;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A session's link to a backend connection: borrowing one from the pool ({@link #acquire}),
 * bringing it to the session's state before the first command and re-preparing a statement on it
 * (Sluice's own commands, run by its {@link OwnCommands}),
 * writing commands to it and giving it back ({@link #unlink}). It owns the linked backend and the
 * pending acquire; the session asks it ({@link #get}) and hears how things end through
 * {@link Owner}, whose calls all come on the session's loop.
 *
 * <p>Threading: everything runs on the session's client event loop; the linked backend is
 * published with release stores so that another thread ({@link #published}, for the admin) reads
 * a whole one.
 */
final class BackendLink {
    /** Log lines are the session's (operators and tests look for them under ClientSession). */
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

    /** What the session hears from its link, always on its loop. */
    interface Owner {
        /** A backend is being asked for: the session waits for it from now. */
        void waitingForBackend();

        boolean closed();

        /** Whether the session shares backends between statements (transaction mode): its movable state is replayed. */
        boolean multiplexed();

        /** The backend is linked and holds the session's state: run {@code then}, then read the client on. */
        void linkReady(Runnable then);

        /** No backend (the gate refused, or it was lost bringing it to state): the waiting command fails with 94xx. */
        void refused(Throwable cause, int errSeq);

        /**
         * The server refused one of Sluice's own commands: the waiting command fails with its ERR;
         * {@code schemaGone}: the session's schema does not exist (any more), and the backend is given back.
         */
        void stepRefused(ErrPacket error, int errSeq, boolean schemaGone);

        /** With several servers: where the command waiting for a backend goes (see {@link SessionRouting}). */
        Router.Decision route();
    }

    private final long sessionId;
    private final Owner owner;
    /** Where a linked backend's packets go: the session. */
    private final BackendConnection.Listener listener;
    private final Channel client;
    private final EventLoop loop;
    private final BackendPools pools;
    /** With several servers, where each unit of work goes; null with one. */
    private final SessionRouting routing;
    /** The pools the linked (or pending) backend comes from: {@link #pools}, or a cluster server's. */
    private BackendPools linkedPools;
    /** While work waits for a server to qualify (no primary, no replica): when it gives up; 0 when not waiting. */
    private long waitDeadlineNanos;
    /** Why the linked backend's server was chosen (with several servers), or null. */
    private Router.Reason linkedReason;
    /** The key of the last acquire, to acquire again when the backend is lost before the client's command went out. */
    private BackendKey acquiredFor;
    /** The session's state: what a write marks as this session's (last statement, a prepare's context). */
    private final SessionState sessionState;
    /** Transaction mode: the client's prepared statements (a prepare sent is noted there). */
    private final StatementBook statements;
    /** Sluice's own commands on the linked backend: state sync and re-prepare. */
    private final OwnCommands own;

    /** The linked backend; written only here, with a release store ({@link #BACKEND}). */
    private BackendConnection backend;
    private static final VarHandle BACKEND;

    static {
        try {
            BACKEND = MethodHandles.lookup().findVarHandle(BackendLink.class, "backend", BackendConnection.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private Future<BackendConnection> acquiring;
    /**
     * With several servers: the COM_QUERY in flight outside a transaction, kept (a retained
     * duplicate) so that a primary's "read-only" answer to it (a switchover under way) can be
     * followed by sending it again to the next primary; null otherwise.
     */
    private ByteBuf retained;
    /** The next client packet continues a command of 16 MiB or more. */
    private boolean clientContinuation;

    BackendLink(long sessionId, Owner owner, BackendConnection.Listener listener, Channel client, BackendPools pools,
                SessionRouting routing, SessionState sessionState, StatementBook statements) {
        this.sessionId = sessionId;
        this.routing = routing;
        this.linkedPools = pools;
        this.owner = owner;
        this.listener = listener;
        this.client = client;
        this.loop = client.eventLoop();
        this.pools = pools;
        this.sessionState = sessionState;
        this.statements = statements;
        this.own = new OwnCommands(this, owner, loop, pools, sessionState, statements);
    }

    /** The linked backend, or null; on the session's loop. */
    BackendConnection get() {
        return backend;
    }

    /** The linked backend, or null, from any thread (a recent value). */
    BackendConnection published() {
        return (BackendConnection) BACKEND.getAcquire(this);
    }

    /** Whether a backend has been asked for and not granted or refused yet. */
    boolean acquiring() {
        return acquiring != null;
    }

    // ---------------------------------------------------------------- acquiring

    /**
     * Borrows a backend for {@code key}, links it, brings it to the session's state, then tells the
     * owner ({@link Owner#linkReady} with {@code then}). On refusal the owner hears
     * {@link Owner#refused} with {@code errSeq}, the sequence id of the ERR the client reads.
     */
    void acquire(BackendKey key, Runnable then, int errSeq) {
        owner.waitingForBackend();
        BackendPools from = routing == null ? pools : routed(key, then, errSeq);
        if (from == null) {
            return; // waits for the next poll, or was refused
        }
        linkedPools = from;
        acquiredFor = key;
        Future<BackendConnection> f = from.acquire(key, loop);
        acquiring = f;
        f.addListener(x -> {
            acquiring = null;
            if (owner.closed()) {
                if (x.isSuccess()) {
                    from.release(f.getNow(), BackendPools.Release.CLEAN);
                }
                return;
            }
            if (!x.isSuccess()) {
                if (routing != null && unavailable(x.cause()) && waitForTopology(key, then, errSeq)) {
                    return; // the server may be gone (a failover): wait for the monitor to say
                }
                waitDeadlineNanos = 0;
                owner.refused(x.cause(), errSeq);
                return;
            }
            waitDeadlineNanos = 0;
            BackendConnection b = f.getNow();
            link(b);
            if (!b.isOpen()) {
                // It closed between the pool's hand-out and the link (the server went away), maybe
                // before it had a listener to tell; nothing was sent on it: ask the pool again.
                log.debug("{}: {} closed before use ({}); acquiring again", owner, b, b.closeReason());
                unlink(BackendPools.Release.DISCARD);
                acquire(key, then, errSeq);
                return;
            }
            own.syncState(b, then, errSeq);
        });
    }

    /**
     * Several servers: the pools of the server the router picks for the waiting command; null when
     * the work waits for the next poll (no primary during a switchover, no replica that qualifies)
     * or is refused with 9412 (its wait, bounded by the acquire timeout, is over, or the rules say fail).
     */
    private BackendPools routed(BackendKey key, Runnable then, int errSeq) {
        Router.Decision d = owner.route();
        if (d.server() >= 0) {
            linkedReason = d.reason();
            return routing.pools(d); // the wait, if any, ends when the backend is granted
        }
        long now = System.nanoTime();
        if (waitDeadlineNanos == 0) {
            waitDeadlineNanos = now + pools.config().acquireTimeout().toNanos();
        }
        if (d.server() == Router.WAIT && now - waitDeadlineNanos < 0) {
            routing.cluster().awaitNextPoll(loop, () -> {
                if (!owner.closed()) {
                    acquire(key, then, errSeq);
                }
            });
            return null;
        }
        waitDeadlineNanos = 0;
        owner.refused(new SluiceException(SluiceError.NO_SERVER, routing.refusal(d)), errSeq);
        return null;
    }

    private static boolean unavailable(Throwable cause) {
        return cause instanceof SluiceException se && se.error() == SluiceError.SERVER_UNAVAILABLE;
    }

    /**
     * Several servers, and the chosen one cannot be reached: poll now and route again after the
     * round, within the acquire timeout counted from the first try; false when that is over.
     */
    private boolean waitForTopology(BackendKey key, Runnable then, int errSeq) {
        long now = System.nanoTime();
        if (waitDeadlineNanos == 0) {
            waitDeadlineNanos = now + pools.config().acquireTimeout().toNanos();
        } else if (now - waitDeadlineNanos >= 0) {
            waitDeadlineNanos = 0;
            return false;
        }
        routing.cluster().troubled();
        routing.cluster().awaitNextPoll(loop, () -> {
            if (!owner.closed()) {
                acquire(key, then, errSeq);
            }
        });
        return true;
    }

    /** The pools the linked backend came from (its server's): where it goes back, and where a KILL QUERY for it goes. */
    BackendPools linkedPools() {
        return linkedPools;
    }

    /** The session ends: a pending acquire is withdrawn. */
    void cancelAcquire() {
        if (acquiring != null) {
            acquiring.cancel(false);
        }
    }

    /**
     * The linked backend was lost while Sluice's own commands ran on it, before the client's: with
     * several servers, its server may be gone (a failover), so route again after the next poll
     * ({@link #waitForTopology}); false when the session must be told (9405).
     */
    boolean retryAfterLoss(Runnable then, int errSeq) {
        return routing != null && waitForTopology(acquiredFor, then, errSeq);
    }

    /** Re-prepares {@code key} on the linked backend, then runs {@code done} (see {@link OwnCommands#prepare}). */
    void prepare(StatementKey key, Runnable done) {
        own.prepare(backend, key, done);
    }

    // ---------------------------------------------------------------- link

    /** Links a backend to the session: from now on its packets come to {@code listener}. */
    private void link(BackendConnection b) {
        if (backend != null) {
            throw new IllegalStateException(owner + " already holds " + backend + ", cannot link " + b);
        }
        BACKEND.setRelease(this, b);
        b.listener(listener);
        CommandQueue.autoRead(b.channel(), client.isWritable());
    }

    /** Gives the backend back to the pool and clears both sides of the link. */
    void unlink(BackendPools.Release how) {
        BackendConnection b = backend;
        if (b == null) {
            return;
        }
        BACKEND.setRelease(this, null);
        // The backend's read-complete event will no longer reach this session: flush what was
        // forwarded now (transaction mode unlinks on the last packet of a response).
        client.flush();
        CommandQueue.autoRead(b.channel(), true);
        linkedPools.release(b, how);
    }

    /** The linked backend closed on its own: forget it (the pool already has). */
    void lost() {
        BACKEND.setRelease(this, null);
    }

    // ---------------------------------------------------------------- writing

    /**
     * Sends a client's command on the linked backend, rewritten where the server would answer for
     * another session: CONNECTION_ID() is the session's id, and in transaction mode ROW_COUNT() and
     * FOUND_ROWS() read this session's previous statement, not the backend's.
     */
    void send(ByteBuf packet, CommandType type) {
        if (type == CommandType.COM_QUERY || type == CommandType.COM_STMT_PREPARE) {
            // CONNECTION_ID() is the session's id, the one the handshake gave and KILL takes (issue #24)
            packet = ConnectionIdRewrite.rewrite(client.alloc(), packet, sessionId);
        }
        if (type == CommandType.COM_QUERY && owner.multiplexed() && sessionState.readsOthersPreviousResult(backend, sessionId)) {
            // The server's ROW_COUNT()/FOUND_ROWS() here belong to another statement than this session's last.
            packet = PreviousResult.rewrite(client.alloc(), packet, sessionState.rowCount(), sessionState.foundRows());
        }
        write(packet, type);
    }

    /**
     * Writes a command to the linked backend and tells its response tracker what was asked; in
     * transaction mode the backend's last statement is now this session's, and a prepare is noted
     * in the statement book with the state it is parsed in.
     */
    void write(ByteBuf packet, CommandType type) {
        BackendConnection b = backend;
        clientContinuation = Packets.payloadLength(packet) == Packets.MAX_PAYLOAD;
        if ((type == CommandType.COM_QUERY || type == CommandType.COM_STMT_EXECUTE) && owner.multiplexed()) {
            sessionState.statementSent(b, sessionId);
        }
        if (type == CommandType.COM_STMT_PREPARE && owner.multiplexed()) {
            prepareSent(packet);
        }
        if (routing != null) {
            dropRetained();
            if (type == CommandType.COM_QUERY && !ServerStatus.has(b.tracker().lastStatus(), ServerStatus.SERVER_STATUS_IN_TRANS)) {
                retained = packet.retainedDuplicate();
            }
        }
        b.tracker().expect(type);
        b.write(packet);
    }

    /** The kept COM_QUERY (see {@link #retained}), now the caller's; null when none is kept. */
    ByteBuf takeRetained() {
        ByteBuf p = retained;
        retained = null;
        return p;
    }

    /** Forgets the kept COM_QUERY: its answer came, or the session ends. */
    void dropRetained() {
        if (retained != null) {
            retained.release();
            retained = null;
        }
    }

    /**
     * Whether the linked backend was taken as the primary's (a write, a transaction, a pin, ...),
     * not as a replica's: only then is a "read-only" answer news of a switchover.
     */
    boolean linkedAsPrimary() {
        return linkedReason != null && linkedReason != Router.Reason.READ && linkedReason != Router.Reason.READ_ONLY_TRANSACTION
                && linkedReason != Router.Reason.REPLICAS_ONLY;
    }

    /** The index of the server the linked backend came from, or -1 (one server). */
    int server() {
        return routing == null ? -1 : routing.cluster().indexOf(linkedPools);
    }

    private void prepareSent(ByteBuf packet) {
        byte[] sql = new byte[Packets.payloadLength(packet) - 1];
        packet.getBytes(packet.readerIndex() + Packets.HEADER_SIZE + 1, sql);
        int flags = StatementClassifier.classify(Unpooled.wrappedBuffer(sql), 0, sql.length);
        if ((flags & StatementClassifier.USER_VARIABLE_SET) != 0) {
            // SET @a = ? assigns what the execution binds: not a literal Sluice can replay.
            flags = flags & ~StatementClassifier.USER_VARIABLE_SET | StatementClassifier.USER_VARIABLE;
        }
        if (routing != null) {
            flags = SessionRouting.prepareFlags(flags, Unpooled.wrappedBuffer(sql), 0, sql.length);
        }
        statements.prepareSent(StatementKey.of(sessionState.schema(), sessionState.variables(), sql), flags);
    }

    /**
     * Whether the next client packet continues the command written last: the rest of a command of
     * 16 MiB or more, or the content of LOAD DATA LOCAL INFILE the server asked for.
     */
    boolean continues() {
        BackendConnection b = backend;
        return clientContinuation || b != null && b.tracker().awaitingClientData();
    }

    /** Whether the rest of a command of 16 MiB or more is still to come from the client. */
    boolean midContinuation() {
        return clientContinuation;
    }

    /**
     * Writes a packet that continues the command to the linked backend; without one (the command
     * was refused or its backend died) drops it. Returns whether it was written.
     */
    boolean writeContinuation(ByteBuf packet) {
        BackendConnection b = backend;
        if (b == null) {
            // The command this continues was refused or its backend died: drop the rest of it.
            clientContinuation = Packets.payloadLength(packet) == Packets.MAX_PAYLOAD;
            packet.release();
            return false;
        }
        if (clientContinuation) {
            clientContinuation = Packets.payloadLength(packet) == Packets.MAX_PAYLOAD;
        } else {
            b.tracker().onClientDataPacket(packet);
        }
        b.write(packet);
        return true;
    }

    /** Pushes what was written to the linked backend, if any. */
    void flush() {
        BackendConnection b = backend;
        if (b != null) {
            b.flush();
        }
    }

    /** The client's channel became writable again (or not): resume (or pause) reading the backend. */
    void clientWritable(boolean writable) {
        BackendConnection b = backend;
        if (b != null) {
            CommandQueue.autoRead(b.channel(), writable);
        }
    }
}
