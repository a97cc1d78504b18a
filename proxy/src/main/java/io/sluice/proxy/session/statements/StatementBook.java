package io.sluice.proxy.session.statements;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.sluice.proxy.protocol.SluiceError;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.ServerStatements;
import io.sluice.proxy.backend.StatementKey;
import io.sluice.proxy.pool.BackendPools;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.ErrPacket;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.ResponseTracker;
import io.sluice.proxy.protocol.ServerStatus;
import io.sluice.proxy.protocol.StatementPackets;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * One transaction-mode client's prepared statements (see docs/multiplexing.md). The client's
 * statement ids are Sluice's own: a statement lives here with its SQL and context, and on each
 * backend that ran it in that backend's {@link ServerStatements}; it is prepared there lazily
 * ({@link #toServer}). Commands that need no server are answered here, as the server would.
 *
 * <p>Outcomes, not callbacks: each method says what the session must do next ({@link Outcome},
 * with {@link #error()}, {@link #flags()} and {@link #dropRest()} describing it), and keeps the
 * count of statements holding a cursor or long data ({@link #cursors()}, {@link #longData()}),
 * which the session mirrors into its CURSOR and LONG_DATA pins after each call.
 *
 * <p>Threading: owned by the session's client event loop; not thread-safe.
 */
public final class StatementBook {
    /** What the session does after {@link #onCommand} or {@link #toServer}. */
    public enum Outcome {
        /** Forward the packet (borrowing a backend if needed), adding {@link #flags()} to the statement in flight. */
        FORWARD,
        /** Write the packet on the linked backend now, as it is: it follows the client's prepare in flight (id 0xFFFFFFFF). */
        SEND_AHEAD,
        /** The packet was released; answer the client: {@link #error()} if set, else OK when {@link #okReply()}. */
        REPLY,
        /** The packet was released and a statement closed: the backend may be given back now. */
        CLOSED,
        /** {@link #toServer}: the packet must wait while {@link #toPrepare()} is prepared on the backend (not released). */
        PREPARE_FIRST,
        /** {@link #toServer}: the packet was released (the statement was closed while it waited; it was answered then). */
        DROPPED,
        /** {@link #toServer}: refused with ERR 9403 {@link #error()}; the packet was released. */
        REFUSED
    }

    /** Largest execution sent ahead of its prepare's answer that is copied to learn its parameter types. */
    private static final int FIRST_EXECUTE_COPY = 64 * 1024;

    private final BackendPools pools;
    /** The client's prepared statements by the ids Sluice gave them. */
    private final Map<Integer, ClientStatement> statements = new HashMap<>();
    private int lastStatementId;
    /** The statements of the COM_STMT_PREPAREs in flight, oldest first; each gets its id when the server's OK comes. */
    private final ArrayDeque<ClientStatement> preparing = new ArrayDeque<>();
    /**
     * The client's last successful prepare: what MariaDB's statement id 0xFFFFFFFF names once no
     * prepare is in flight (the server forgets it when a prepare fails or the statement is closed).
     */
    private ClientStatement lastPrepared;
    /** The last COM_STMT_PREPARE on the linked backend was the client's own (not Sluice's re-prepare). */
    private boolean lastPrepareByClient;
    /** The statements of the COM_STMT_EXECUTE / _FETCH / _RESET in flight, oldest first. */
    private final ArrayDeque<ClientStatement> inFlight = new ArrayDeque<>();
    /** Statements with a cursor open, and with long data sent: the session's CURSOR and LONG_DATA pins. */
    private int cursors;
    private int longData;

    // ---- what the last outcome means (valid until the next call)
    private ErrPacket error;
    private boolean okReply;
    private boolean dropRest;
    private int flags;
    private ClientStatement toPrepare;

    public StatementBook(BackendPools pools) {
        this.pools = pools;
    }

    /** The ERR to answer with, or null. */
    public ErrPacket error() {
        return error;
    }

    /** {@link Outcome#REPLY} without an error: answer OK. */
    public boolean okReply() {
        return okReply;
    }

    /** The refused command is 16 MiB or more: drop the rest of it. */
    public boolean dropRest() {
        return dropRest;
    }

    /** Classifier flags of the statement an execution runs (0 for other commands). */
    public int flags() {
        return flags;
    }

    /** After {@link Outcome#PREPARE_FIRST}: what to prepare on the backend. */
    public StatementKey toPrepare() {
        return toPrepare.key;
    }

    public int cursors() {
        return cursors;
    }

    public int longData() {
        return longData;
    }

    /** Statements open or being prepared (for sluice.pool.max-client-statements). */
    public int open() {
        return statements.size() + preparing.size();
    }

    /** COM_RESET_CONNECTION, COM_CHANGE_USER: the client's statements are gone. */
    public void clear() {
        statements.clear();
        preparing.clear();
        lastPrepared = null;
        inFlight.clear();
        cursors = 0;
        longData = 0;
    }

    /** A COM_STMT_PREPARE failed or was refused: as the server, id 0xFFFFFFFF names nothing now. */
    public void prepareFailed() {
        lastPrepared = null;
    }

    /** Sluice prepares a statement on the linked backend: the server's "last statement" is now Sluice's. */
    public void preparedBySluice() {
        lastPrepareByClient = false;
    }

    /** A COM_SEND_LONG_DATA for {@code clientId} could not be sent: the statement's next execution reports {@code e}. */
    public void deferError(int clientId, ErrPacket e) {
        ClientStatement s = statements.get(clientId);
        if (s != null) {
            s.deferredError = e;
        }
    }

    private Outcome reply(ErrPacket e, boolean ok, boolean drop) {
        error = e;
        okReply = ok;
        dropRest = drop;
        return Outcome.REPLY;
    }

    /**
     * A statement command from the client (EXECUTE, FETCH, RESET, CLOSE, SEND_LONG_DATA); the book
     * owns {@code packet} unless the outcome is {@link Outcome#FORWARD} or {@link Outcome#SEND_AHEAD}.
     *
     * @param backend the backend linked to the session, or null
     */
    public Outcome onCommand(ByteBuf packet, CommandType type, BackendConnection backend) {
        flags = 0;
        if (!StatementPackets.hasStatementId(packet)) {
            packet.release();
            return reply(ResponseTracker.hasResponse(type) ? new ErrPacket(1835, "HY000", "Malformed communication packet.")
                    : null, false, false);
        }
        int clientId = StatementPackets.statementId(packet);
        if (clientId == StatementPackets.LAST_PREPARED_ID) {
            ClientStatement sent = lastPrepareByClient && backend != null ? preparing.peekLast() : null;
            if (sent != null) {
                return sendAhead(sent, packet, type);
            }
            if (lastPrepared != null) {
                clientId = lastPrepared.id;
                StatementPackets.statementId(packet, clientId);
            }
        }
        ClientStatement s = statements.get(clientId);
        if (type == CommandType.COM_STMT_CLOSE) {
            packet.release();
            return s != null && close(s, backend) ? Outcome.CLOSED : reply(null, false, false);
        }
        if (s == null) {
            boolean drop = Packets.payloadLength(packet) == Packets.MAX_PAYLOAD;
            packet.release();
            return reply(ResponseTracker.hasResponse(type) ? new ErrPacket(1243, "HY000", "Unknown prepared statement handler ("
                    + Integer.toUnsignedString(clientId) + ") given to " + commandName(type)) : null, false, drop);
        }
        Outcome answered = answerHere(s, packet, type, clientId);
        if (answered != null) {
            return answered;
        }
        if (type == CommandType.COM_STMT_EXECUTE) {
            flags = s.flags; // what the statement's SQL does to the session, as for COM_QUERY
        }
        return Outcome.FORWARD;
    }

    /** What the server would answer without running anything; null when the command must go to the server. */
    private Outcome answerHere(ClientStatement s, ByteBuf packet, CommandType type, int clientId) {
        switch (type) {
            case COM_STMT_RESET -> {
                s.deferredError = null;
                if (!s.holdsServerState()) {
                    // Nothing of this client's lives on a server statement: the reset is a no-op there.
                    packet.release();
                    return reply(null, true, false);
                }
            }
            case COM_STMT_FETCH -> {
                if (!s.cursor) {
                    packet.release();
                    return reply(new ErrPacket(1421, "HY000", "The statement (" + clientId + ") has no open cursor."), false, false);
                }
            }
            case COM_STMT_EXECUTE -> {
                ErrPacket e = s.deferredError;
                if (e != null) {
                    s.deferredError = null;
                    boolean drop = Packets.payloadLength(packet) == Packets.MAX_PAYLOAD;
                    packet.release();
                    return reply(e, false, drop);
                }
            }
            default -> {
            }
        }
        return null;
    }

    /**
     * A statement command naming 0xFFFFFFFF (MariaDB's "the statement just prepared") while the
     * client's COM_STMT_PREPARE is in flight on the linked backend, as pipelining drivers send it:
     * the server resolves that id to the same prepare, or refuses it as it would directly when the
     * prepare fails, so the command follows it unchanged. Sluice keeps its books on the statement it
     * registers when the server's answer comes ({@link #prepareReply}); a close waits for that.
     */
    private Outcome sendAhead(ClientStatement s, ByteBuf packet, CommandType type) {
        switch (type) {
            case COM_STMT_CLOSE -> {
                packet.release();
                s.closedEarly = true;
                return reply(null, false, false);
            }
            case COM_STMT_EXECUTE -> {
                flags = s.flags;
                if (s.firstExecute == null && Packets.payloadLength(packet) <= FIRST_EXECUTE_COPY) {
                    s.firstExecute = ByteBufUtil.getBytes(packet);
                }
            }
            case COM_STMT_SEND_LONG_DATA -> {
                if (!s.longData) {
                    s.longData = true;
                    longData++;
                }
            }
            default -> {
            }
        }
        s.sentAhead = true;
        if (ResponseTracker.hasResponse(type)) {
            inFlight.addLast(s);
        }
        return Outcome.SEND_AHEAD;
    }

    private static String commandName(CommandType type) {
        return switch (type) {
            case COM_STMT_EXECUTE -> "mysqld_stmt_execute";
            case COM_STMT_FETCH -> "mysqld_stmt_fetch";
            default -> "mysqld_stmt_reset";
        };
    }

    /**
     * A statement command about to go out on the linked backend {@code b}: under that backend's id
     * for the statement, with the client's parameter types put in when the backend's statement does
     * not have them (flag 0). Returns the packet to write (maybe a new one), or null with
     * {@link Outcome#PREPARE_FIRST}, {@link Outcome#DROPPED} or {@link Outcome#REFUSED} in
     * {@code outcome()}.
     */
    public ByteBuf toServer(ByteBuf packet, CommandType type, BackendConnection b, ByteBufAllocator alloc) {
        ClientStatement s = statements.get(StatementPackets.statementId(packet));
        if (s == null) {
            packet.release(); // closed while the command waited; it was answered then
            outcome = Outcome.DROPPED;
            return null;
        }
        ServerStatements.Prepared p = b.state().statements().get(s.key);
        if (p == null) {
            toPrepare = s;
            outcome = Outcome.PREPARE_FIRST;
            return null;
        }
        StatementPackets.statementId(packet, p.serverId());
        if (type == CommandType.COM_STMT_EXECUTE && s.params > 0) {
            packet = bindTypes(s, p, packet, alloc);
            if (packet == null) {
                outcome = Outcome.REFUSED;
                return null;
            }
        }
        if (ResponseTracker.hasResponse(type)) {
            inFlight.addLast(s);
        }
        if (type == CommandType.COM_STMT_SEND_LONG_DATA && !s.longData) {
            s.longData = true;
            longData++;
        }
        outcome = Outcome.FORWARD;
        return packet;
    }

    private Outcome outcome;

    /** Why {@link #toServer} returned null. */
    public Outcome outcome() {
        return outcome;
    }

    /** The execute packet to send, with the client's parameter types when the server statement needs them; null when refused. */
    private ByteBuf bindTypes(ClientStatement s, ServerStatements.Prepared p, ByteBuf packet, ByteBufAllocator alloc) {
        int flag = StatementPackets.boundFlagIndex(packet, s.params);
        if (flag < 0) {
            return packet; // too short: the server says what is wrong with it
        }
        if (packet.getByte(flag) == 1) {
            if (!StatementPackets.sameTypes(packet, flag, s.types)) {
                s.types = StatementPackets.types(packet, flag, s.params);
            }
            p.boundTypes(s.types);
            return packet;
        }
        if (s.types == null || StatementPackets.sameTypes(s.types, p.boundTypes())) {
            return packet;
        }
        ByteBuf rebound = StatementPackets.withTypes(alloc, packet, flag, s.types);
        if (rebound == null) {
            dropRest = Packets.payloadLength(packet) == Packets.MAX_PAYLOAD;
            packet.release();
            SluiceError e = SluiceError.UNSUPPORTED_COMMAND;
            error = new ErrPacket(e.code(), e.sqlState(), "Sluice: this execution of statement " + s.id + " is 16 MiB or "
                    + "more and sends no parameter types, which the server connection serving it needs; send the types "
                    + "with it (new-params-bound flag 1), or send large values with COM_STMT_SEND_LONG_DATA");
            return null;
        }
        packet.release();
        p.boundTypes(s.types);
        return rebound;
    }

    /** The client's COM_STMT_PREPARE for {@code key} is being written: its statement gets an id when the server's OK comes. */
    public void prepareSent(StatementKey key, int flags) {
        preparing.addLast(new ClientStatement(0, key, 0, flags));
        lastPrepareByClient = true;
    }

    /**
     * The first packet of a COM_STMT_PREPARE reply (borrowed; its statement id is rewritten in
     * place): on OK the statement gets a Sluice id, and the backend's statement is kept for reuse.
     * {@code schema} and {@code variables} are the session's now: the context the server prepared it in.
     *
     * @return whether a statement the client closed early was closed now (the backend may be given back)
     */
    public boolean prepareReply(BackendConnection b, ByteBuf packet, String schema, Map<String, String> variables) {
        ClientStatement s = preparing.pollFirst();
        if (s == null) {
            return false;
        }
        byte[] firstExecute = s.firstExecute;
        s.firstExecute = null;
        if (Packets.header(packet) != Packets.OK) {
            lastPrepared = null; // as the server, which forgets its last statement when a prepare fails
            clearLongData(s);
            return false;
        }
        s.key = StatementKey.of(schema, variables, s.key.sql().bytes());
        int serverId = StatementPackets.statementId(packet);
        do {
            lastStatementId++;
        } while (lastStatementId == 0 || lastStatementId == StatementPackets.LAST_PREPARED_ID
                || statements.containsKey(lastStatementId));
        s.id = lastStatementId;
        s.params = StatementPackets.preparedParams(packet);
        statements.put(s.id, s);
        lastPrepared = s;
        StatementPackets.statementId(packet, s.id);
        pools.metrics().clientPrepared();
        keepOnBackend(b, s, serverId, firstExecute);
        return s.closedEarly && close(s, b);
    }

    /** The backend prepared {@code s} as {@code serverId}: keep that statement, or the copy the backend had. */
    private void keepOnBackend(BackendConnection b, ClientStatement s, int serverId, byte[] firstExecute) {
        ServerStatements.Prepared cached = b.state().statements().get(s.key);
        if (cached != null && s.sentAhead && !otherStatementHoldsState(s)) {
            // Commands sent ahead with id 0xFFFFFFFF went to this new server statement (long data,
            // parameter types): keep it rather than the copy the backend had.
            b.state().statements().remove(s.key);
            closeServerStatement(b, cached.serverId());
            cached = null;
        }
        if (cached != null) {
            closeServerStatement(b, serverId); // the backend had it already: keep that one
        } else {
            keepServerStatement(b, s.key, serverId);
            if (firstExecute != null && s.params > 0) {
                learnTypes(s, b.state().statements().get(s.key), Unpooled.wrappedBuffer(firstExecute));
            }
        }
    }

    /** Whether another statement of this client has its cursor or long data on the backend statement for {@code s}'s key. */
    private boolean otherStatementHoldsState(ClientStatement s) {
        for (ClientStatement t : statements.values()) {
            if (t != s && t.holdsServerState() && t.key.equals(s.key)) {
                return true;
            }
        }
        return false;
    }

    /** The parameter types an execution sent ahead of the prepare's answer bound on the server statement {@code p}. */
    private static void learnTypes(ClientStatement s, ServerStatements.Prepared p, ByteBuf execute) {
        int flag = StatementPackets.boundFlagIndex(execute, s.params);
        if (flag >= 0 && execute.getByte(flag) == 1) {
            s.types = StatementPackets.types(execute, flag, s.params);
            if (p != null && s.types != null) {
                p.boundTypes(s.types);
            }
        }
    }

    /** Adds a statement to the backend's cache, closing the least recently used ones beyond its size. */
    public void keepServerStatement(BackendConnection b, StatementKey key, int serverId) {
        b.state().statements().put(key, new ServerStatements.Prepared(serverId), pools.config().statementCache(), this::statementInUse,
                evicted -> {
                    pools.metrics().statementEvicted();
                    closeServerStatement(b, evicted);
                });
    }

    /**
     * A command's response ended on {@code backend} (null when none is linked): for a
     * COM_STMT_EXECUTE / _FETCH / _RESET, what it did to the statement's cursor and long data.
     */
    public void commandDone(CommandType type, boolean failed, BackendConnection backend) {
        if (type != CommandType.COM_STMT_EXECUTE && type != CommandType.COM_STMT_FETCH && type != CommandType.COM_STMT_RESET) {
            return;
        }
        ClientStatement s = inFlight.pollFirst();
        if (s == null) {
            return;
        }
        int status = backend == null ? 0 : backend.tracker().lastStatus();
        boolean cursor = s.cursor;
        switch (type) {
            case COM_STMT_EXECUTE -> {
                clearLongData(s);
                cursor = !failed && ServerStatus.has(status, ServerStatus.SERVER_STATUS_CURSOR_EXISTS);
                if (failed && backend != null) {
                    ServerStatements.Prepared p = backend.state().statements().get(s.key);
                    if (p != null) {
                        p.boundTypes(null); // whether the server kept the types is unknown: send them next time
                    }
                }
            }
            case COM_STMT_FETCH -> cursor &= failed || !ServerStatus.has(status, ServerStatus.SERVER_STATUS_LAST_ROW_SENT);
            default -> {
                if (!failed) {
                    clearLongData(s);
                    cursor = false;
                }
            }
        }
        if (cursor != s.cursor) {
            s.cursor = cursor;
            if (cursor) {
                cursors++;
            } else if (cursors > 0) {
                cursors--;
            }
        }
    }

    private void clearLongData(ClientStatement s) {
        if (s.longData) {
            s.longData = false;
            if (longData > 0) {
                longData--;
            }
        }
    }

    /**
     * COM_STMT_CLOSE: the client is done with {@code s}. The backend's statement stays for the next
     * session that prepares the same SQL, unless this client's cursor or long data is on it; then it
     * is closed on the server, so nobody else inherits them.
     *
     * @param backend the backend linked to the session, or null to use none
     * @return whether server state of the client was dropped (the backend may be given back)
     */
    private boolean close(ClientStatement s, BackendConnection backend) {
        statements.remove(s.id);
        if (s == lastPrepared) {
            lastPrepared = null; // the server forgets its last statement when it is closed
        }
        if (!s.holdsServerState()) {
            return false;
        }
        if (backend != null) {
            ServerStatements.Prepared p = backend.state().statements().remove(s.key);
            if (p != null) {
                closeServerStatement(backend, p.serverId());
            }
        }
        if (s.cursor) {
            s.cursor = false;
            if (cursors > 0) {
                cursors--;
            }
        }
        clearLongData(s);
        return true;
    }

    /** Whether this session's cursor or long data lives on the backend statement for {@code key} (it must not be evicted). */
    private boolean statementInUse(StatementKey key) {
        for (ClientStatement s : statements.values()) {
            if (s.holdsServerState() && s.key.equals(key)) {
                return true;
            }
        }
        return false;
    }

    private static void closeServerStatement(BackendConnection b, int serverId) {
        b.writeAndFlush(StatementPackets.command(b.channel().alloc(), CommandType.COM_STMT_CLOSE, serverId));
    }
}
