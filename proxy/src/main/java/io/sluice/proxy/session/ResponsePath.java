package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.util.concurrent.EventExecutor;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.digest.DigestRecorder;
import io.sluice.proxy.pool.BackendPools;
import io.sluice.proxy.protocol.Capabilities;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.MalformedPacketException;
import io.sluice.proxy.protocol.OkPacket;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.ResponseTracker;
import io.sluice.proxy.protocol.ServerStatus;
import io.sluice.proxy.protocol.SluiceError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of one session (PgBouncer's server.c to the session's client.c): the listener of
 * whichever backend the session has linked. It forwards each server packet to the client unchanged,
 * frame by frame or a run of plain rows as one buffer ({@link #onBackendRows}; rows are never
 * decoded), while the backend's {@link ResponseTracker} watches for the end of each response. In
 * transaction mode it learns the session's state from OK packets and, when a response ends, what
 * the statements did to the pins, then asks the session to give the backend back if nothing ties it.
 * A backend lost under the session, a server breaking the protocol and, with several servers, a
 * primary that turns read-only or dies are handled here ({@link ClusterFailure} decides).
 *
 * <p>It keeps the one sequence-id fact both directions write: {@link #errSeq()}, what an ERR Sluice
 * writes now must carry.
 *
 * <p>Threading: the session's event loop only ({@link #executor()}); the backend handler hands server
 * packets over when the backend's loop is another. Log lines stay under {@link ClientSession}'s logger.
 */
final class ResponsePath implements BackendConnection.Listener {
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

    /** What the response path asks of its session. */
    interface Owner {
        /** Whether the session has ended (late packets are dropped). */
        boolean closed();

        /** Whether the session shares backends between its statements (transaction pool mode). */
        boolean multiplexed();

        /** Gives the backend back when nothing ties the session to it (transaction mode). */
        void releaseIfUnpinned();

        /** Sends an ERR and closes the client connection. */
        void fail(SluiceError error, int seq, String message);

        /** An autocommit statement the old primary refused read-only waits for the next primary, then is sent there. */
        void retryOnNextPrimary(ByteBuf statement);
    }

    private final Owner owner;
    private final Channel client;
    private final EventExecutor loop;
    private final Capabilities capabilities;
    private final CommandQueue queue;
    private final Activity activity;
    private final PinTable pins;
    private final SessionState sessionState;
    private final StatementCommands statements;
    private final Watchdogs watchdogs;
    private final KillDelivery kills;
    /** With several servers: where work goes, and this session's last write; null with one server. */
    private final SessionRouting routing;
    /** With several servers: what a primary turning read-only or dying leaves for later. */
    private final ClusterFailure failure = new ClusterFailure();
    /** Per-statement statistics: each response's end, rows and error for this session's statements (docs/digests.md). */
    private final DigestRecorder digests;
    /** Set once, right after construction: the link and its listener are made for each other. */
    private BackendLink link;
    /**
     * Sequence id of the last packet of the current command in either direction: the command
     * packet itself (0) when it starts, then each client data packet and each server packet
     * forwarded. An ERR Sluice writes mid-command carries this + 1, what the client expects next.
     */
    private int lastSeq;

    ResponsePath(Owner owner, Channel client, Capabilities capabilities, CommandQueue queue, Activity activity,
                 PinTable pins, SessionState sessionState, StatementCommands statements, Watchdogs watchdogs,
                 KillDelivery kills, SessionRouting routing, DigestRecorder digests) {
        this.owner = owner;
        this.client = client;
        this.loop = client.eventLoop();
        this.capabilities = capabilities;
        this.queue = queue;
        this.activity = activity;
        this.pins = pins;
        this.sessionState = sessionState;
        this.statements = statements;
        this.watchdogs = watchdogs;
        this.kills = kills;
        this.routing = routing;
        this.digests = digests;
    }

    void attach(BackendLink link) {
        this.link = link;
    }

    /** The client sent a packet of the current command (the command itself: 0). */
    void clientSent(int seq) {
        lastSeq = seq;
    }

    /** The sequence id an ERR Sluice writes now carries: the answer to the command under way, or unsolicited (0). */
    int errSeq() {
        return midCommand() ? lastSeq + 1 : 0;
    }

    /**
     * Whether the client is waiting for the reply to a command (or still sending it): an ERR
     * Sluice writes now answers that command; otherwise it is unsolicited and starts at 0.
     */
    boolean midCommand() {
        BackendConnection b = link.get();
        return queue.waiting() || link.midContinuation() || b != null && !b.tracker().idle();
    }

    /** The message for a command arriving after its transaction's server went away while idle (9413), once; else null. */
    String takeLost(CommandType type) {
        return failure.takeLost(type);
    }

    // ---------------------------------------------------------------- server packets

    /** Server packets and read-complete events come to this session's loop (see {@link BackendConnection.Listener#executor}). */
    @Override
    public EventExecutor executor() {
        return loop;
    }

    /** Plain rows of the result set being forwarded can come as runs (see {@link #onBackendRows}). */
    @Override
    public int rowRunBytes(BackendConnection b, ByteBuf buf, int from, int to) {
        return b == link.get() && !owner.closed() ? b.tracker().rowRunBytes(buf, from, to) : 0;
    }

    /**
     * Several row packets in one buffer: nothing in a row concerns the session but its count and
     * sequence id, so the run goes to the client whole, as the packets one by one would.
     */
    @Override
    public void onBackendRows(BackendConnection b, ByteBuf rows) {
        if (b != link.get() || owner.closed()) {
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
        if (b != link.get() || owner.closed()) {
            packet.release();
            return;
        }
        int r;
        boolean multiplexed = owner.multiplexed();
        CommandType answered = b.tracker().current();
        boolean prepareReply = answered == CommandType.COM_STMT_PREPARE && multiplexed && b.tracker().atResponseStart();
        try {
            r = b.tracker().onServerPacket(packet);
            if (prepareReply && statements.onPrepareReply(b, packet)) {
                owner.releaseIfUnpinned(); // the reply closed a statement
            }
            if (multiplexed && b.tracker().wasOkPacket()) {
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
            if (multiplexed) {
                onCommandDone(b, answered, packet);
            }
            if (b.tracker().idle()) {
                activity.idle();
                onResponseComplete(b);
            }
        }
    }

    @Override
    public void onBackendReadComplete(BackendConnection b) {
        client.flush();
    }

    @Override
    public void onBackendClosed(BackendConnection b, String reason) {
        loop.execute(() -> {
            if (b != link.get() || owner.closed()) {
                return;
            }
            boolean inFlight = midCommand();
            link.lost();
            log.warn("{}: backend {} closed{}: {}", owner, b, inFlight ? " mid-response" : "", reason);
            if (routing != null && primaryLost(b, inFlight)) {
                return;
            }
            owner.fail(SluiceError.BACKEND_LOST, inFlight ? lastSeq + 1 : 0,
                    "Sluice: the server connection serving this session was lost (" + reason + "); session state is gone, reconnect");
        });
    }

    /** The server sent what the protocol does not allow here: drop the backend, tell the client. */
    private void serverBrokeProtocol(BackendConnection b, MalformedPacketException e) {
        log.warn("{}: server broke the protocol on {}: {}", owner, b, e.getMessage());
        link.unlink(BackendPools.Release.DISCARD);
        owner.fail(SluiceError.BACKEND_LOST, lastSeq + 1, "Sluice: the server sent an unexpected packet: " + e.getMessage());
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
        owner.releaseIfUnpinned();
    }

    // ---------------------------------------------------------------- several servers

    /** Several servers, a response ended with {@code last}: returns the packet to forward, or null (see {@link #readOnlyAnswer}). */
    private ByteBuf clusterResponseEnded(BackendConnection b, ByteBuf last, CommandType answered) {
        if (ClusterFailure.isReadOnlyAnswer(b.tracker().lastWasError(), last) && link.linkedAsPrimary()) {
            ByteBuf forward = readOnlyAnswer(last, answered); // takes the kept statement when it sends it again
            link.dropRetained();
            return forward;
        }
        link.dropRetained(); // kept for a read-only answer; any other answer ends its use
        return last;
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
            client.writeAndFlush(Packets.err(client.alloc(), lastSeq + 1, SluiceError.PRIMARY_CHANGED.code(),
                    SluiceError.PRIMARY_CHANGED.sqlState(), message));
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
    private ByteBuf readOnlyAnswer(ByteBuf err, CommandType answered) {
        int server = link.server();
        routing.cluster().troubled();
        String address = routing.cluster().address(server);
        int seq = Packets.sequenceId(err);
        if (!owner.multiplexed()) {
            // Session mode: the session's state lives on that backend and nowhere else.
            err.release();
            owner.fail(SluiceError.BACKEND_LOST, seq, "Sluice: " + address + " stopped being "
                    + "the primary (it answered read-only); this session's state was on it and is gone, reconnect");
            return null;
        }
        ByteBuf again = ClusterFailure.retries(answered, pins.pinned(), sessionState.autocommitOff()) ? link.takeRetained() : null;
        if (again != null) {
            err.release();
            log.info("{}: {} answered read-only (it is no longer the primary): the statement waits for the next primary",
                    owner, address);
            link.unlink(BackendPools.Release.CLEAN);
            owner.retryOnNextPrimary(again);
            return null;
        }
        err.release();
        if (ClusterFailure.onReadOnly(pins.onlyTransaction()) == ClusterFailure.Verdict.END) {
            owner.fail(SluiceError.BACKEND_LOST, seq, ClusterFailure.readOnlyEnds(address, pins.list()));
            return null;
        }
        failure.rollBackOnRelease();
        return Packets.err(client.alloc(), seq, SluiceError.PRIMARY_CHANGED.code(), SluiceError.PRIMARY_CHANGED.sqlState(),
                ClusterFailure.readOnlyRollsBack(address));
    }
}
