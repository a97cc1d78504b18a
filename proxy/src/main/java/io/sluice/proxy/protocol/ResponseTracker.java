package io.sluice.proxy.protocol;

import io.netty.buffer.ByteBuf;

import java.util.ArrayDeque;

/**
 * Knows where each server response ends, without decoding rows. Commands are registered in the
 * order they are written to the server with {@link #expect}; every server packet is then fed to
 * {@link #onServerPacket}, which says whether it completed the oldest outstanding response.
 * Commands that have no reply (COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA, COM_QUIT) are never queued.
 *
 * <p>Response shapes follow the protocol docs: a text or binary result set is column count, column
 * definitions, an EOF unless CLIENT_DEPRECATE_EOF, rows, then EOF/OK; SERVER_MORE_RESULTS_EXISTS
 * chains another result; an ERR ends everything; a 0xFB reply to COM_QUERY hands the turn to the
 * client (LOAD DATA LOCAL INFILE) until it sends an empty packet. A packet with a 16 MiB - 1 payload
 * is continued by the next frame, which is passed over as a continuation.
 *
 * <p>Not thread-safe: owned by the thread that drives the connection it tracks.
 */
public final class ResponseTracker {
    /** The packet did not end the oldest response. */
    public static final int MORE = 0;
    /** The packet ended the oldest outstanding response. */
    public static final int DONE = 1;
    /** The server asked for a local file: the client's next packets go to the server. */
    public static final int LOCAL_INFILE = 2;

    private enum State { FIRST, COLUMNS, COLUMNS_EOF, ROWS, PREPARE_PARAMS, PREPARE_PARAMS_EOF, PREPARE_COLUMNS,
        PREPARE_COLUMNS_EOF, FIELD_LIST, LOCAL_INFILE }

    private final boolean eofDeprecated;
    private final ArrayDeque<CommandType> outstanding = new ArrayDeque<>();
    private State state = State.FIRST;
    private long remaining;
    private int prepareColumns;
    private boolean serverContinuation;
    private boolean clientContinuation;
    private int lastStatus;
    private boolean lastWasError;
    /** The packet just fed was an OK packet (not a classic EOF), decoded into {@link #ok}. */
    private boolean okPacket;
    /** The last OK packet fed, decoded once (reused: no allocation per packet). */
    private final OkPacket ok = new OkPacket();
    /** The last result read was a result set (not an OK), with this many rows. */
    private boolean resultSet;
    private long resultRows;

    public ResponseTracker(Capabilities negotiated) {
        this.eofDeprecated = negotiated.isEofDeprecated();
    }

    /** Whether a command of this type gets a reply from the server. */
    public static boolean hasResponse(CommandType type) {
        return switch (type) {
            case COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA, COM_QUIT -> false;
            default -> true;
        };
    }

    /** Registers a command just written to the server. Commands without a reply are ignored. */
    public void expect(CommandType type) {
        if (hasResponse(type)) {
            if (outstanding.isEmpty()) {
                state = State.FIRST;
            }
            outstanding.addLast(type);
        }
    }

    /** No response outstanding: the server is waiting for a command. */
    public boolean idle() {
        return outstanding.isEmpty();
    }

    /** Responses still outstanding. */
    public int outstanding() {
        return outstanding.size();
    }

    /** The command whose response is being read, or null when idle. */
    public CommandType current() {
        return outstanding.peekFirst();
    }

    /** Whether the next server packet starts the oldest outstanding response (its first packet). */
    public boolean atResponseStart() {
        return state == State.FIRST && !serverContinuation && !outstanding.isEmpty();
    }

    /** Server status flags from the last OK or EOF seen (SERVER_STATUS_IN_TRANS and friends). */
    public int lastStatus() {
        return lastStatus;
    }

    /**
     * Whether the packet just fed was an OK packet carrying status (and, on a session-tracking
     * connection, session-state changes): a command's OK, or a result set's closing OK under
     * CLIENT_DEPRECATE_EOF.
     */
    public boolean wasOkPacket() {
        return okPacket;
    }

    /**
     * The OK packet just fed, decoded: valid while {@link #wasOkPacket} is true, until the next
     * packet is fed. Owned by the loop that feeds this tracker.
     */
    public OkPacket ok() {
        return ok;
    }

    /** Whether the last result read was a result set (rows), rather than an OK. */
    public boolean lastWasResultSet() {
        return resultSet;
    }

    /** Rows of the last result set read (what FOUND_ROWS() returns after it, without SQL_CALC_FOUND_ROWS). */
    public long lastResultRows() {
        return resultRows;
    }

    /** Whether the last completed response ended with an ERR packet. */
    public boolean lastWasError() {
        return lastWasError;
    }

    /** True while the server waits for the client's LOAD DATA LOCAL file content. */
    public boolean awaitingClientData() {
        return state == State.LOCAL_INFILE && !outstanding.isEmpty();
    }

    /** Forgets everything outstanding (the connection is being discarded or reset). */
    public void clear() {
        outstanding.clear();
        state = State.FIRST;
        serverContinuation = false;
        clientContinuation = false;
    }

    /**
     * Feeds one client packet sent while {@link #awaitingClientData()}; returns true when it was the
     * empty packet that ends the file, after which the server's reply is awaited.
     */
    public boolean onClientDataPacket(ByteBuf packet) {
        int len = Packets.payloadLength(packet);
        boolean continuation = clientContinuation;
        clientContinuation = len == Packets.MAX_PAYLOAD;
        if (len == 0 && !continuation) {
            state = State.FIRST;
            return true;
        }
        return false;
    }

    /**
     * The length of the run of whole packets at {@code from} in {@code buf} (readable up to
     * {@code to}) that {@link #onServerPacket} would each take as a plain row of the current result
     * set: no terminator, error or 16 MiB packet among them. 0 unless there are at least two, or
     * when not in a result set's rows. Reads only; {@link #onRowRun} then takes the run.
     */
    public int rowRunBytes(ByteBuf buf, int from, int to) {
        if (!inRows()) {
            return 0;
        }
        int i = from;
        int rows = 0;
        while (to - i >= Packets.HEADER_SIZE) {
            int len = buf.getUnsignedMediumLE(i);
            if (len == Packets.MAX_PAYLOAD || to - i < Packets.HEADER_SIZE + len) {
                break;
            }
            int header = len == 0 ? -1 : buf.getUnsignedByte(i + Packets.HEADER_SIZE);
            if (header == Packets.ERR || Packets.endsRows(header, len, eofDeprecated)) {
                break;
            }
            rows++;
            i += Packets.HEADER_SIZE + len;
        }
        return rows >= 2 ? i - from : 0;
    }

    /** Between a result set's column definitions and its terminator, not inside a 16 MiB row. */
    private boolean inRows() {
        return state == State.ROWS && !serverContinuation && !outstanding.isEmpty();
    }

    /**
     * Takes a run of row packets measured by {@link #rowRunBytes}, as {@link #onServerPacket} would
     * one by one; returns how many rows it held.
     *
     * @throws MalformedPacketException when not in a result set's rows
     */
    public int onRowRun(ByteBuf run) {
        if (!inRows()) {
            throw new MalformedPacketException("rows arrived outside a result set");
        }
        int rows = 0;
        for (int i = run.readerIndex(), to = run.writerIndex(); i < to; i += Packets.HEADER_SIZE + run.getUnsignedMediumLE(i)) {
            rows++;
        }
        okPacket = false;
        resultRows += rows;
        return rows;
    }

    /**
     * Feeds one server packet; returns {@link #MORE}, {@link #DONE} or {@link #LOCAL_INFILE}.
     *
     * @throws MalformedPacketException when a packet arrives with nothing outstanding, or does not fit
     */
    public int onServerPacket(ByteBuf packet) {
        if (outstanding.isEmpty()) {
            throw new MalformedPacketException("server sent a packet (header 0x"
                    + Integer.toHexString(Packets.header(packet) & 0xff) + ") while no command was outstanding");
        }
        boolean continuation = serverContinuation;
        serverContinuation = Packets.payloadLength(packet) == Packets.MAX_PAYLOAD;
        okPacket = false;
        if (continuation) {
            return MORE;
        }
        CommandType cmd = outstanding.peekFirst();
        int header = Packets.header(packet);
        switch (state) {
            case FIRST:
                return first(cmd, header, packet);
            case COLUMNS:
                if (header == Packets.ERR) {
                    return error();
                }
                if (--remaining == 0) {
                    state = eofDeprecated ? State.ROWS : State.COLUMNS_EOF;
                }
                return MORE;
            case COLUMNS_EOF:
                if (header == Packets.ERR) {
                    return error();
                }
                lastStatus = Packets.eofStatus(packet);
                if (ServerStatus.has(lastStatus, ServerStatus.SERVER_STATUS_CURSOR_EXISTS)) {
                    return done(false);
                }
                state = State.ROWS;
                return MORE;
            case ROWS:
                if (header == Packets.ERR) {
                    return error();
                }
                if (Packets.endsRows(packet, eofDeprecated)) {
                    okPacket = eofDeprecated;
                    if (okPacket) {
                        ok.decode(packet);
                        lastStatus = Packets.isEof(packet) ? Packets.eofStatus(packet) : ok.status();
                    } else {
                        lastStatus = Packets.terminatorStatus(packet);
                    }
                    return done(cmd != CommandType.COM_STMT_FETCH);
                }
                resultRows++;
                return MORE;
            case FIELD_LIST:
                if (header == Packets.ERR) {
                    return error();
                }
                if (Packets.endsRows(packet, eofDeprecated)) {
                    lastStatus = Packets.terminatorStatus(packet);
                    return done(false);
                }
                return MORE;
            case PREPARE_PARAMS:
                if (--remaining == 0) {
                    state = eofDeprecated ? afterPrepareParams() : State.PREPARE_PARAMS_EOF;
                    if (state == null) {
                        return done(false);
                    }
                }
                return MORE;
            case PREPARE_PARAMS_EOF:
                state = afterPrepareParams();
                return state == null ? done(false) : MORE;
            case PREPARE_COLUMNS:
                if (--remaining == 0) {
                    if (eofDeprecated) {
                        return done(false);
                    }
                    state = State.PREPARE_COLUMNS_EOF;
                }
                return MORE;
            case PREPARE_COLUMNS_EOF:
                return done(false);
            case LOCAL_INFILE:
            default:
                throw new MalformedPacketException("server sent a packet while the client was sending LOAD DATA content");
        }
    }

    private int first(CommandType cmd, int header, ByteBuf packet) {
        if (header == Packets.ERR) {
            return error();
        }
        switch (cmd) {
            case COM_QUERY, COM_STMT_EXECUTE, COM_PROCESS_INFO -> {
                if (header == Packets.OK) {
                    lastStatus = ok.decode(packet).status();
                    okPacket = true;
                    resultSet = false;
                    return done(true);
                }
                if (header == Packets.LOCAL_INFILE && cmd == CommandType.COM_QUERY) {
                    state = State.LOCAL_INFILE;
                    clientContinuation = false;
                    return LOCAL_INFILE;
                }
                ByteBuf p = Packets.payload(packet);
                remaining = Packets.readLenencInt(p);
                if (remaining <= 0) {
                    throw new MalformedPacketException("result set with " + remaining + " columns");
                }
                resultSet = true;
                resultRows = 0;
                state = State.COLUMNS;
                return MORE;
            }
            case COM_STMT_PREPARE -> {
                if (header != Packets.OK) {
                    throw new MalformedPacketException("COM_STMT_PREPARE reply starts with 0x" + Integer.toHexString(header));
                }
                ByteBuf p = Packets.payload(packet);
                p.skipBytes(5);
                prepareColumns = p.readUnsignedShortLE();
                int params = p.readUnsignedShortLE();
                if (params > 0) {
                    remaining = params;
                    state = State.PREPARE_PARAMS;
                    return MORE;
                }
                state = afterPrepareParams();
                return state == null ? done(false) : MORE;
            }
            case COM_STMT_FETCH -> {
                state = State.ROWS;
                return onRowInFirst(packet);
            }
            case COM_FIELD_LIST -> {
                state = State.FIELD_LIST;
                if (Packets.endsRows(packet, eofDeprecated)) {
                    lastStatus = Packets.terminatorStatus(packet);
                    return done(false);
                }
                return MORE;
            }
            default -> {
                if (header == Packets.OK && Packets.payloadLength(packet) >= 7) {
                    lastStatus = ok.decode(packet).status();
                    okPacket = true;
                } else if (Packets.isEof(packet)) {
                    lastStatus = Packets.eofStatus(packet);
                }
                return done(false);
            }
        }
    }

    private int onRowInFirst(ByteBuf packet) {
        if (Packets.endsRows(packet, eofDeprecated)) {
            lastStatus = Packets.terminatorStatus(packet);
            return done(false);
        }
        resultRows++; // a fetch's first row: the cursor's rows count on from its execute
        return MORE;
    }

    private State afterPrepareParams() {
        if (prepareColumns > 0) {
            remaining = prepareColumns;
            return State.PREPARE_COLUMNS;
        }
        return null;
    }

    private int error() {
        lastWasError = true;
        outstanding.pollFirst();
        state = State.FIRST;
        return DONE;
    }

    private int done(boolean moreResultsPossible) {
        if (moreResultsPossible && ServerStatus.has(lastStatus, ServerStatus.SERVER_MORE_RESULTS_EXISTS)) {
            state = State.FIRST;
            return MORE;
        }
        lastWasError = false;
        outstanding.pollFirst();
        state = State.FIRST;
        return DONE;
    }
}
