package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.StatementKey;
import io.sluice.proxy.pool.BackendPools;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.ErrPacket;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.ServerStatus;
import io.sluice.proxy.protocol.SluiceError;
import io.sluice.proxy.protocol.StatementPackets;
import io.sluice.proxy.session.statements.StatementBook;

/**
 * Transaction mode: the client's prepared-statement commands, carried through the
 * {@link StatementBook} that virtualizes them. This unit answers what Sluice answers itself (the
 * statement limit, a command on a closed statement, a refusal), keeps the book's open cursors and
 * long data as pins of the session, and tells the session in one {@link Step} what is left for it
 * to do with the command: forward it, write it, have the statement prepared first, give the
 * backend back. The session applies each step in one place. Used only on the session's event loop.
 */
final class StatementCommands {
    /** What the session does with a statement command. */
    enum Step {
        /** Forward the packet, borrowing a backend if needed. */
        FORWARD,
        /** Write the packet on the linked backend now, as it is. */
        WRITE,
        /** The packet waits while {@link #toPrepare()} is prepared on the linked backend. */
        PREPARE_FIRST,
        /** Answered by Sluice, the packet released: the rest of a 16 MiB command is dropped when {@link #dropRest()}. */
        ANSWERED,
        /** Refused (ERR 9403 sent), the packet released: the session is idle again, the backend may go back. */
        REFUSED,
        /** The packet was released and a statement closed: the backend may go back now. */
        CLOSED,
        /** Nothing more to do (the packet was released). */
        NONE
    }

    private final StatementBook book;
    private final PinTable pins;
    private final SessionState state;
    private final Channel client;
    private final BackendPools pools;

    StatementCommands(StatementBook book, PinTable pins, SessionState state, Channel client, BackendPools pools) {
        this.book = book;
        this.pins = pins;
        this.state = state;
        this.client = client;
        this.pools = pools;
    }

    /** The flags of the statement the last command concerned (see {@link StatementBook#flags}). */
    int flags() {
        return book.flags();
    }

    /** Whether the rest of the command just answered (16 MiB or more) is to be dropped. */
    boolean dropRest() {
        return book.dropRest();
    }

    /** The statement to prepare on the backend before the command ({@link Step#PREPARE_FIRST}). */
    StatementKey toPrepare() {
        return book.toPrepare();
    }

    /** The session starts afresh: no statements. */
    void clear() {
        book.clear();
    }

    /**
     * COM_STMT_PREPARE: false when the client has sluice.pool.max-client-statements open (ERR 1461
     * sent, the packet released).
     */
    boolean mayPrepare(ByteBuf packet) {
        int max = pools.config().maxClientStatements();
        if (book.open() < max) {
            return true;
        }
        packet.release();
        book.prepareFailed(); // a failed prepare: id 0xFFFFFFFF names nothing now
        client.writeAndFlush(Packets.err(client.alloc(), 1, 1461, "42000", "Sluice: this client already has "
                + max + " prepared statements open (sluice.pool.max-client-statements); close the ones it "
                + "no longer uses, or raise the limit"));
        return false;
    }

    /** A statement command from the client ({@code linked} the session's backend, or null): the book decides. */
    Step onCommand(ByteBuf packet, CommandType type, BackendConnection linked) {
        StatementBook.Outcome o = book.onCommand(packet, type, linked);
        syncPins();
        switch (o) {
            case FORWARD, SEND_AHEAD -> {
                state.statementRuns(book.flags());
                return o == StatementBook.Outcome.FORWARD ? Step.FORWARD : Step.WRITE;
            }
            case REPLY -> {
                ErrPacket e = book.error();
                if (e != null) {
                    client.writeAndFlush(Packets.err(client.alloc(), 1, e.code(), e.sqlState(), e.message()));
                } else if (book.okReply()) {
                    int status = linked == null ? ServerStatus.SERVER_STATUS_AUTOCOMMIT : linked.tracker().lastStatus();
                    client.writeAndFlush(Packets.ok(client.alloc(), 1, 0, 0, status, 0));
                }
                return Step.ANSWERED;
            }
            case CLOSED -> {
                return Step.CLOSED;
            }
            default -> {
                return Step.NONE;
            }
        }
    }

    /**
     * The command under the linked backend's id for its statement, to write now (the packet is
     * consumed), or null: then {@link #notSent} says why.
     */
    ByteBuf toServer(ByteBuf packet, CommandType type, BackendConnection linked) {
        return book.toServer(packet, type, linked, client.alloc());
    }

    /** After writing what {@link #toServer} returned: its cursors and long data are the session's pins. */
    void sent() {
        syncPins();
    }

    /** {@link #toServer} returned null: prepare the statement first, or the command was refused (ERR 9403 sent) or dropped. */
    Step notSent() {
        switch (book.outcome()) {
            case PREPARE_FIRST -> {
                book.preparedBySluice(); // the server's "last statement" is now Sluice's
                return Step.PREPARE_FIRST;
            }
            case REFUSED -> {
                client.writeAndFlush(Packets.err(client.alloc(), 1, SluiceError.UNSUPPORTED_COMMAND.code(),
                        SluiceError.UNSUPPORTED_COMMAND.sqlState(), book.error().message()));
                return Step.REFUSED;
            }
            default -> {
                return Step.NONE;
            }
        }
    }

    /** The first packet of a COM_STMT_PREPARE's response: the book reads the ids. Returns whether a statement closed. */
    boolean onPrepareReply(BackendConnection b, ByteBuf packet) {
        boolean closed = book.prepareReply(b, packet, state.schema(), state.variables());
        syncPins();
        return closed;
    }

    /** An EXECUTE, FETCH or RESET ended ({@code linked} the session's backend). */
    void commandDone(CommandType type, boolean error, BackendConnection linked) {
        book.commandDone(type, error, linked);
        syncPins();
    }

    /**
     * The parked command {@code p} cannot run ({@code e} is why; read before the packet goes).
     * Returns the statement id of a COM_STMT_SEND_LONG_DATA, which has no reply (its statement's
     * next execution reads the error), or 0.
     */
    static int longDataId(CommandType t, ByteBuf p) {
        return t == CommandType.COM_STMT_SEND_LONG_DATA ? StatementPackets.statementId(p) : 0;
    }

    /**
     * A parked command failed with {@code e}: a failed prepare names nothing; a SEND_LONG_DATA
     * keeps the error for its statement's execution. Returns whether the client is to read {@code e} now.
     */
    boolean failed(CommandType t, int longDataId, ErrPacket e) {
        if (t == CommandType.COM_STMT_PREPARE) {
            book.prepareFailed(); // a failed prepare: id 0xFFFFFFFF names nothing now
        }
        if (t == CommandType.COM_STMT_SEND_LONG_DATA) {
            book.deferError(longDataId, e);
            return false;
        }
        return true;
    }

    /** The book's cursors and long data are pins of this session. */
    private void syncPins() {
        pins.set(Pin.CURSOR, book.cursors());
        pins.set(Pin.LONG_DATA, book.longData());
    }
}
