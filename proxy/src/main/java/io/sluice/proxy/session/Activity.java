package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.ResponseTracker;

import java.nio.charset.StandardCharsets;

/**
 * What a session is doing, for the admin endpoint and the watchdogs: its {@link ClientSession.State},
 * the current command, when it started, and the first bytes of the last COM_QUERY. Only the
 * session moves it ({@link #waiting}, {@link #sent}, {@link #idle}, {@link #closed}).
 *
 * <p>Threading: written only on the session's client event loop; the fields are volatile because
 * the admin snapshot and the watchdogs' pass read them from other threads (each a recent value).
 */
final class Activity {
    private volatile ClientSession.State state = ClientSession.State.IDLE;
    private volatile long commandStartNanos;
    private volatile CommandType command;
    /** First bytes of the current COM_QUERY, for the admin view; reused, never reallocated. */
    private final byte[] statementHead = new byte[128];
    private volatile int statementHeadLength;

    ClientSession.State state() {
        return state;
    }

    /** When the current (or last) command started, or the session began to wait for a backend (System.nanoTime). */
    long commandStartNanos() {
        return commandStartNanos;
    }

    /** The current or last command, or null before the first. */
    CommandType command() {
        return command;
    }

    /** A backend is being asked for: the session waits from now. */
    void waiting() {
        state = ClientSession.State.WAITING;
        commandStartNanos = System.nanoTime();
    }

    /** Sluice's own commands run first on the backend: the client's command waits (its clock runs on). */
    void parked() {
        state = ClientSession.State.WAITING;
    }

    /** {@code type} went to the backend: a command with a response runs from now. */
    void sent(CommandType type) {
        command = type;
        if (ResponseTracker.hasResponse(type)) {
            state = ClientSession.State.QUERY;
            commandStartNanos = System.nanoTime();
        }
    }

    /** Nothing is in flight (or waits). */
    void idle() {
        state = ClientSession.State.IDLE;
    }

    void closed() {
        state = ClientSession.State.CLOSED;
    }

    /** Nanoseconds since the current command started, or -1 when idle. */
    long commandNanos() {
        ClientSession.State s = state;
        return s == ClientSession.State.QUERY || s == ClientSession.State.WAITING ? System.nanoTime() - commandStartNanos : -1;
    }

    /** Keeps the first bytes of a COM_QUERY's statement (copied into the reused buffer; nothing allocated). */
    void statement(ByteBuf packet) {
        int n = Math.min(statementHead.length, Packets.payloadLength(packet) - 1);
        packet.getBytes(packet.readerIndex() + Packets.HEADER_SIZE + 1, statementHead, 0, n);
        statementHeadLength = n;
    }

    /** The first bytes of the current or last COM_QUERY. */
    String statementHead() {
        int n = statementHeadLength;
        return new String(statementHead, 0, n, StandardCharsets.UTF_8);
    }

    /** {@code type} as log lines name it: a COM_QUERY by its statement's first bytes. */
    String describe(CommandType type) {
        return type == CommandType.COM_QUERY ? statementHead() : String.valueOf(type);
    }
}
