package io.sluice.proxy.protocol;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;

/**
 * Reads OK_Packets (header 0x00, or 0xFE when it ends a result set under CLIENT_DEPRECATE_EOF) as
 * sent to a connection that negotiated CLIENT_PROTOCOL_41 and CLIENT_SESSION_TRACK: affected rows,
 * last insert id, status, warnings, info as a length-encoded string, then session-state changes
 * when SERVER_SESSION_STATE_CHANGED is set. Readers borrow the packet (absolute reads from
 * {@code readerIndex}); {@link #stripSessionTracking} edits it in place.
 *
 * <p>On the response path an OK is decoded once ({@link #decode}) into an instance that every
 * later step reads: the response tracker (status), the session (insert id, affected rows,
 * transaction status, session-state changes, stripping the tracking data). One instance is reused
 * per backend connection ({@code ResponseTracker#ok}), so decoding allocates nothing; it is owned
 * by the event loop that reads that connection's responses, and holds the last OK decoded until
 * the next. The static readers remain for one-off questions (tests, logs).
 */
public final class OkPacket {
    /** Session-state change types (SESSION_TRACK_*). */
    public static final int TRACK_SYSTEM_VARIABLES = 0;
    public static final int TRACK_SCHEMA = 1;
    public static final int TRACK_STATE_CHANGE = 2;
    public static final int TRACK_GTIDS = 3;
    public static final int TRACK_TRANSACTION_CHARACTERISTICS = 4;
    public static final int TRACK_TRANSACTION_STATE = 5;

    /** Receives the session-state changes of one OK packet, in order. */
    public interface StateVisitor {
        void systemVariable(String name, String value);

        void schema(String schema);

        /** The server says some session state changed (user variables, temporary tables, ...). */
        void stateChanged();

        /** Characteristics set for the next transaction only (SET TRANSACTION ...); empty when cleared. */
        void transactionCharacteristics(String statement);
    }

    private long affectedRows;
    private long lastInsertId;
    private int status;
    /** Where the status field is, relative to the packet's readerIndex at {@link #decode}. */
    private int statusOffset;

    /** An empty value, filled by {@link #decode}. */
    public OkPacket() {
    }

    /**
     * Reads the fixed fields of an OK packet (borrowed, not kept): affected rows, last insert id,
     * status. The session-state changes and info are read on demand from the same packet with the
     * offsets found here ({@link #visitSessionStateOf}, {@link #stripSessionTrackingOf}).
     *
     * @return this
     */
    public OkPacket decode(ByteBuf packet) {
        int start = packet.readerIndex();
        int i = afterHeader(packet);
        affectedRows = lenencAt(packet, i);
        i += Packets.lenencSize(packet.getUnsignedByte(i));
        lastInsertId = lenencAt(packet, i);
        i += Packets.lenencSize(packet.getUnsignedByte(i));
        status = packet.getUnsignedShortLE(i);
        statusOffset = i - start;
        return this;
    }

    public long affectedRows() {
        return affectedRows;
    }

    public long lastInsertId() {
        return lastInsertId;
    }

    /** Server status flags (SERVER_STATUS_IN_TRANS, SERVER_SESSION_STATE_CHANGED, ...). */
    public int status() {
        return status;
    }

    /** {@link #visitSessionState(ByteBuf, StateVisitor)} for {@code packet}, the one decoded last. */
    public void visitSessionStateOf(ByteBuf packet, StateVisitor visitor) {
        visitSessionState(packet, status, packet.readerIndex() + statusOffset, visitor);
    }

    /** {@link #stripSessionTracking(ByteBuf)} for {@code packet}, the one decoded last (the value keeps its status). */
    public void stripSessionTrackingOf(ByteBuf packet) {
        stripSessionTracking(packet, packet.readerIndex() + statusOffset);
    }

    private static int afterHeader(ByteBuf packet) {
        return packet.readerIndex() + Packets.HEADER_SIZE + 1;
    }

    private static long lenencAt(ByteBuf b, int i) {
        int first = b.getUnsignedByte(i);
        if (first < 0xfb) {
            return first;
        }
        return switch (first) {
            case 0xfc -> b.getUnsignedShortLE(i + 1);
            case 0xfd -> b.getUnsignedMediumLE(i + 1);
            case 0xfe -> b.getLongLE(i + 1);
            default -> 0;
        };
    }

    public static long affectedRows(ByteBuf packet) {
        return lenencAt(packet, afterHeader(packet));
    }

    public static long lastInsertId(ByteBuf packet) {
        int i = afterHeader(packet);
        i += Packets.lenencSize(packet.getUnsignedByte(i));
        return lenencAt(packet, i);
    }

    /** Index of the status field. */
    private static int statusIndex(ByteBuf packet) {
        int i = afterHeader(packet);
        i += Packets.lenencSize(packet.getUnsignedByte(i));
        i += Packets.lenencSize(packet.getUnsignedByte(i));
        return i;
    }

    public static int status(ByteBuf packet) {
        return packet.getUnsignedShortLE(statusIndex(packet));
    }

    /** Calls {@code visitor} for each session-state change the packet carries (none without SERVER_SESSION_STATE_CHANGED). */
    public static void visitSessionState(ByteBuf packet, StateVisitor visitor) {
        visitSessionState(packet, status(packet), statusIndex(packet), visitor);
    }

    private static void visitSessionState(ByteBuf packet, int status, int statusAt, StateVisitor visitor) {
        if (!ServerStatus.has(status, ServerStatus.SERVER_SESSION_STATE_CHANGED)) {
            return;
        }
        ByteBuf p = packet.duplicate();
        p.readerIndex(statusAt + 4);
        p.writerIndex(Packets.payloadEnd(packet));
        if (!p.isReadable()) {
            return;
        }
        Packets.readLenencSlice(p); // info
        if (!p.isReadable()) {
            return;
        }
        ByteBuf changes = Packets.readLenencSlice(p);
        while (changes.isReadable()) {
            int type = changes.readUnsignedByte();
            ByteBuf data = Packets.readLenencSlice(changes);
            switch (type) {
                case TRACK_SYSTEM_VARIABLES -> {
                    String name = Packets.readLenencString(data);
                    String value = Packets.readLenencString(data);
                    visitor.systemVariable(name, value);
                }
                case TRACK_SCHEMA -> visitor.schema(Packets.readLenencString(data));
                case TRACK_STATE_CHANGE -> visitor.stateChanged();
                case TRACK_TRANSACTION_CHARACTERISTICS -> visitor.transactionCharacteristics(
                        data.isReadable() ? Packets.readLenencString(data) : "");
                default -> {
                    // GTIDs, transaction state and future types: not state Sluice moves.
                }
            }
        }
    }

    /**
     * Turns an OK packet read on a session-tracking connection into the form the server sends a
     * client without CLIENT_SESSION_TRACK, in place: the session-state flag is cleared and the state
     * data dropped; the info string keeps its length prefix when it is not empty (MySQL and MariaDB
     * both write it so, whatever the protocol docs say), and is left out when it is.
     */
    public static void stripSessionTracking(ByteBuf packet) {
        stripSessionTracking(packet, statusIndex(packet));
    }

    private static void stripSessionTracking(ByteBuf packet, int statusAt) {
        int status = packet.getUnsignedShortLE(statusAt);
        packet.setShortLE(statusAt, status & ~ServerStatus.SERVER_SESSION_STATE_CHANGED);
        int infoAt = statusAt + 4;
        int end = Packets.payloadEnd(packet);
        int newEnd = infoAt;
        if (infoAt < end) {
            int prefix = Packets.lenencSize(packet.getUnsignedByte(infoAt));
            long len = lenencAt(packet, infoAt);
            if (len > 0 && infoAt + prefix + len <= end) {
                newEnd = infoAt + prefix + (int) len;
            }
        }
        packet.writerIndex(newEnd);
        packet.setMediumLE(packet.readerIndex(), newEnd - packet.readerIndex() - Packets.HEADER_SIZE);
    }

    /** The info string (e.g. "Rows matched: 1  Changed: 1"), for logs and tests. */
    public static String info(ByteBuf packet) {
        int i = statusIndex(packet) + 4;
        int end = Packets.payloadEnd(packet);
        if (i >= end) {
            return "";
        }
        int prefix = Packets.lenencSize(packet.getUnsignedByte(i));
        int len = (int) Math.min(lenencAt(packet, i), end - i - prefix);
        return packet.toString(i + prefix, len, StandardCharsets.UTF_8);
    }
}
