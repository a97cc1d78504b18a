package io.sluice.proxy.session.statements;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.ServerStatements;
import io.sluice.proxy.backend.StatementKey;
import io.sluice.proxy.pool.BackendPools;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.StatementPackets;

/**
 * The backends' copies of one client's statements: which server statement a backend keeps for a
 * statement (in its {@link ServerStatements} cache, shared by every session that borrows it, the
 * least recently used closed beyond sluice.pool.statement-cache unless this client's cursor or long
 * data is on it), closing server statements, and the parameter types an execution must carry for
 * the backend's statement (the client sent them to another backend, maybe).
 *
 * <p>Threading: owned by the session's client event loop, which also owns the linked backend while
 * it is linked; not thread-safe.
 */
final class BackendCopies {
    private final BackendPools pools;
    private final StatementTable table;

    BackendCopies(BackendPools pools, StatementTable table) {
        this.pools = pools;
        this.table = table;
    }

    /** The backend prepared {@code s} as {@code serverId}: keep that statement, or the copy the backend had. */
    void keep(BackendConnection b, ClientStatement s, int serverId, byte[] firstExecute) {
        ServerStatements.Prepared cached = b.state().statements().get(s.key);
        if (cached != null && s.sentAhead && !table.otherHoldsState(s)) {
            // Commands sent ahead with id 0xFFFFFFFF went to this new server statement (long data,
            // parameter types): keep it rather than the copy the backend had.
            b.state().statements().remove(s.key);
            close(b, cached.serverId());
            cached = null;
        }
        if (cached != null) {
            close(b, serverId); // the backend had it already: keep that one
        } else {
            keep(b, s.key, serverId);
            if (firstExecute != null && s.params > 0) {
                learnTypes(s, b.state().statements().get(s.key), Unpooled.wrappedBuffer(firstExecute));
            }
        }
    }

    /** Adds a statement to the backend's cache, closing the least recently used ones beyond its size. */
    void keep(BackendConnection b, StatementKey key, int serverId) {
        b.state().statements().put(key, new ServerStatements.Prepared(serverId), pools.config().statementCache(), table::inUse,
                evicted -> {
                    pools.metrics().statementEvicted();
                    close(b, evicted);
                });
    }

    /** The client closed {@code s}, which held a cursor or long data: the backend's statement is closed too, so nobody inherits them. */
    void drop(BackendConnection backend, ClientStatement s) {
        ServerStatements.Prepared p = backend.state().statements().remove(s.key);
        if (p != null) {
            close(backend, p.serverId());
        }
    }

    /** An execution of {@code s} failed on {@code backend}: whether the server kept its parameter types is unknown, so send them next time. */
    static void executeFailed(BackendConnection backend, ClientStatement s) {
        ServerStatements.Prepared p = backend.state().statements().get(s.key);
        if (p != null) {
            p.boundTypes(null);
        }
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

    /**
     * The execute packet to send, with the client's parameter types when the server statement
     * {@code p} needs them (they were sent to another backend, or earlier); null when the types
     * cannot be put in (a packet of 16 MiB or more): then {@code packet} is not released.
     */
    static ByteBuf bindTypes(ClientStatement s, ServerStatements.Prepared p, ByteBuf packet, ByteBufAllocator alloc) {
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
            return null;
        }
        packet.release();
        p.boundTypes(s.types);
        return rebound;
    }

    private static void close(BackendConnection b, int serverId) {
        b.writeAndFlush(StatementPackets.command(b.channel().alloc(), CommandType.COM_STMT_CLOSE, serverId));
    }
}
