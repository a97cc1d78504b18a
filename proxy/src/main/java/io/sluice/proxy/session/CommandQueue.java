package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.sluice.proxy.protocol.CommandType;

import java.util.ArrayDeque;

/**
 * The command that waits (for a backend, or for Sluice's own commands on it) and the client
 * packets held back behind it, with the switching of reads that goes with them. Owns every buffer
 * it holds: the waiting command until {@link #take} hands it on, held-back packets until
 * {@link #nextHeldBack} does; {@link #releaseAll} on close.
 *
 * <p>Reading is not stopped when a command starts to wait: a client of this request-response
 * protocol sends nothing more until it has its answer, and turning reading off and on again costs
 * two epoll_ctl calls per wait, about 5% of Sluice's CPU in transaction mode with more clients than
 * backends (profile in docs/benchmarks.md). A client that sends ahead (pipelining, LOAD DATA, long
 * data) is stopped after its first extra packet ({@link #holdBack}); {@link #resumeClientReads}
 * turns reading back on.
 *
 * <p>Threading: owned by the session's client event loop.
 */
final class CommandQueue {
    private final Channel client;
    /** The command waiting (retained; handed on by {@link #take}, released on close). */
    private ByteBuf command;
    private CommandType type;
    /** Client packets that arrived while a command waited; replayed in order. */
    private final ArrayDeque<ByteBuf> heldBack = new ArrayDeque<>(2);

    CommandQueue(Channel client) {
        this.client = client;
    }

    /** A command waits. */
    boolean waiting() {
        return command != null;
    }

    /** The waiting command's type, or null. */
    CommandType type() {
        return type;
    }

    /** The waiting command, still owned here (for routing to read its text), or null. */
    ByteBuf peek() {
        return command;
    }

    /** Makes {@code packet} the waiting command (owned here until {@link #take}). */
    void park(ByteBuf packet, CommandType t) {
        command = packet;
        type = t;
    }

    /** Hands the waiting command on (the caller owns it now), or null; no command waits after. */
    ByteBuf take() {
        ByteBuf p = command;
        command = null;
        type = null;
        return p;
    }

    /**
     * A packet that came while a command waits: keep it, in order, until the waiting command has
     * gone out, and stop reading the client until then; the flow-control handler keeps whatever a
     * read already decoded.
     */
    void holdBack(ByteBuf packet) {
        heldBack.addLast(packet);
        autoRead(client, false);
    }

    /** The oldest held-back packet (the caller owns it now), or null. */
    ByteBuf nextHeldBack() {
        return heldBack.pollFirst();
    }

    /** Reads the client again; returns whether reading had been stopped. */
    boolean resumeClientReads() {
        return autoRead(client, true);
    }

    /** The session closes: every buffer held here is released. */
    void releaseAll() {
        ByteBuf p = take();
        if (p != null) {
            p.release();
        }
        for (ByteBuf held; (held = heldBack.pollFirst()) != null; ) {
            held.release();
        }
    }

    /**
     * Turns reading of {@code ch} on or off; returns whether that changed it. Netty's setAutoRead
     * swaps the flag atomically even when it already has the value, and link, unlink and
     * resumeReading ask for the value it already has on nearly every transaction-mode query.
     */
    static boolean autoRead(Channel ch, boolean on) {
        if (ch.config().isAutoRead() == on) {
            return false;
        }
        ch.config().setAutoRead(on);
        return true;
    }
}
