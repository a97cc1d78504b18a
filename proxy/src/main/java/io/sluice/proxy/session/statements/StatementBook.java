package io.sluice.proxy.session.statements;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
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
    /** The statements by id, what is in flight, the cursor and long-data counts. */
    private final StatementTable table = new StatementTable();
    /** The backends' copies of the statements. */
    private final BackendCopies copies;

    // ---- what the last outcome means (valid until the next call)
    private ErrPacket error;
    private boolean okReply;
    private boolean dropRest;
    private int flags;
    private ClientStatement toPrepare;
    private Outcome outcome;

    public StatementBook(BackendPools pools) {
        this.pools = pools;
        this.copies = new BackendCopies(pools, table);
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
        return table.cursors();
    }

    public int longData() {
        return table.longData();
    }

    /** Why {@link #toServer} returned null. */
    public Outcome outcome() {
        return outcome;
    }

    /** Statements open or being prepared (for sluice.pool.max-client-statements). */
    public int open() {
        return table.open();
    }

    /** COM_RESET_CONNECTION, COM_CHANGE_USER: the client's statements are gone. */
    public void clear() {
        table.clear();
    }

    /** A COM_STMT_PREPARE failed or was refused: as the server, id 0xFFFFFFFF names nothing now. */
    public void prepareFailed() {
        table.forgetLastPrepared();
    }

    /** Sluice prepares a statement on the linked backend: the server's "last statement" is now Sluice's. */
    public void preparedBySluice() {
        table.preparedBySluice();
    }

    /** A COM_SEND_LONG_DATA for {@code clientId} could not be sent: the statement's next execution reports {@code e}. */
    public void deferError(int clientId, ErrPacket e) {
        table.deferError(clientId, e);
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
            ClientStatement sent = backend != null ? table.clientPrepareInFlight() : null;
            if (sent != null) {
                return sendAhead(sent, packet, type);
            }
            ClientStatement lastPrepared = table.lastPrepared();
            if (lastPrepared != null) {
                clientId = lastPrepared.id;
                StatementPackets.statementId(packet, clientId);
            }
        }
        ClientStatement s = table.get(clientId);
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
            case COM_STMT_SEND_LONG_DATA -> table.longDataSent(s);
            default -> {
            }
        }
        s.sentAhead = true;
        if (ResponseTracker.hasResponse(type)) {
            table.sent(s);
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
        ClientStatement s = table.get(StatementPackets.statementId(packet));
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
            ByteBuf bound = BackendCopies.bindTypes(s, p, packet, alloc);
            if (bound == null) {
                refuseUnbound(s, packet);
                outcome = Outcome.REFUSED;
                return null;
            }
            packet = bound;
        }
        if (ResponseTracker.hasResponse(type)) {
            table.sent(s);
        }
        if (type == CommandType.COM_STMT_SEND_LONG_DATA) {
            table.longDataSent(s);
        }
        outcome = Outcome.FORWARD;
        return packet;
    }

    /** An execution of 16 MiB or more without the parameter types the backend's statement needs: refused, {@code packet} released. */
    private void refuseUnbound(ClientStatement s, ByteBuf packet) {
        dropRest = Packets.payloadLength(packet) == Packets.MAX_PAYLOAD;
        packet.release();
        SluiceError e = SluiceError.UNSUPPORTED_COMMAND;
        error = new ErrPacket(e.code(), e.sqlState(), "Sluice: this execution of statement " + s.id + " is 16 MiB or "
                + "more and sends no parameter types, which the server connection serving it needs; send the types "
                + "with it (new-params-bound flag 1), or send large values with COM_STMT_SEND_LONG_DATA");
    }

    /** The client's COM_STMT_PREPARE for {@code key} is being written: its statement gets an id when the server's OK comes. */
    public void prepareSent(StatementKey key, int flags) {
        table.prepareSent(key, flags);
    }

    /**
     * The first packet of a COM_STMT_PREPARE reply (borrowed; its statement id is rewritten in
     * place): on OK the statement gets a Sluice id, and the backend's statement is kept for reuse.
     * {@code schema} and {@code variables} are the session's now: the context the server prepared it in.
     *
     * @return whether a statement the client closed early was closed now (the backend may be given back)
     */
    public boolean prepareReply(BackendConnection b, ByteBuf packet, String schema, Map<String, String> variables) {
        ClientStatement s = table.prepareAnswered();
        if (s == null) {
            return false;
        }
        byte[] firstExecute = s.firstExecute;
        s.firstExecute = null;
        if (Packets.header(packet) != Packets.OK) {
            table.forgetLastPrepared(); // as the server, which forgets its last statement when a prepare fails
            table.clearLongData(s);
            return false;
        }
        s.key = StatementKey.of(schema, variables, s.key.sql().bytes());
        int serverId = StatementPackets.statementId(packet);
        s.params = StatementPackets.preparedParams(packet);
        StatementPackets.statementId(packet, table.register(s));
        pools.metrics().clientPrepared();
        copies.keep(b, s, serverId, firstExecute);
        return s.closedEarly && close(s, b);
    }

    /** Adds a statement to the backend's cache, closing the least recently used ones beyond its size. */
    public void keepServerStatement(BackendConnection b, StatementKey key, int serverId) {
        copies.keep(b, key, serverId);
    }

    /**
     * A command's response ended on {@code backend} (null when none is linked): for a
     * COM_STMT_EXECUTE / _FETCH / _RESET, what it did to the statement's cursor and long data.
     */
    public void commandDone(CommandType type, boolean failed, BackendConnection backend) {
        if (type != CommandType.COM_STMT_EXECUTE && type != CommandType.COM_STMT_FETCH && type != CommandType.COM_STMT_RESET) {
            return;
        }
        ClientStatement s = table.commandAnswered();
        if (s == null) {
            return;
        }
        int status = backend == null ? 0 : backend.tracker().lastStatus();
        boolean cursor = s.cursor;
        switch (type) {
            case COM_STMT_EXECUTE -> {
                table.clearLongData(s);
                cursor = !failed && ServerStatus.has(status, ServerStatus.SERVER_STATUS_CURSOR_EXISTS);
                if (failed && backend != null) {
                    BackendCopies.executeFailed(backend, s);
                }
            }
            case COM_STMT_FETCH -> cursor &= failed || !ServerStatus.has(status, ServerStatus.SERVER_STATUS_LAST_ROW_SENT);
            default -> {
                if (!failed) {
                    table.clearLongData(s);
                    cursor = false;
                }
            }
        }
        table.cursor(s, cursor);
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
        if (!table.remove(s)) {
            return false;
        }
        if (backend != null) {
            copies.drop(backend, s);
        }
        return true;
    }
}
