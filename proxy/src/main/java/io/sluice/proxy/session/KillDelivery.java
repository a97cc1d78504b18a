package io.sluice.proxy.session;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.pool.BackendPools;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.SluiceError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * KILL [CONNECTION | QUERY] &lt;id&gt; across sessions, one per session (killer or target).
 * Delivered as messages between the two sessions' loops, and each side changes only its own
 * fields: the killer checks ({@link #verdict}) and sends the KILL to the target's loop
 * ({@link #kill}); the target pins the backend running its statement and answers with the server
 * thread to kill ({@link #killedBy}); the killer sends {@code KILL QUERY|CONNECTION <thread>} on its
 * own backend and, once that response is complete ({@link #responseComplete}), tells the target
 * that the KILL was delivered, so the backend may change hands again.
 *
 * <p>Threading: each method runs on the loop of the session it belongs to (a message to the other
 * session is a task on its loop); the one mutable field, {@link #deliverTo}, is the killer's, on
 * the killer's loop.
 */
final class KillDelivery {
    /** Log lines are the session's (operators and tests look for them under ClientSession). */
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

    /** What a KILL statement comes to, before anything is delivered. */
    enum Verdict {
        /** Not a form Sluice delivers (a server thread id, KILL USER, ...): 9402. */
        UNSUPPORTED,
        /** No session has that id: 1094 Unknown thread id, as the server says. */
        NO_SUCH_SESSION,
        /** Another user's session: 1095 You are not owner of thread, as the server says. */
        NOT_OWNER,
        /** KILL CONNECTION of the killer's own session: it ends. */
        OWN_CONNECTION,
        /** To the target's loop. */
        DELIVER
    }

    /** What a session does for KILL, on its own loop. */
    interface Party {
        /** The backend running a statement for this session now, or null when none is. */
        BackendConnection running();

        /** The backend running the statement to kill must not serve anyone else until the KILL is delivered. */
        void pinUntilKillDelivered();

        /** The KILL was delivered (or refused): the pin goes, and the backend may go back to the pool. */
        void killDelivered();

        /** Ends the session: ERR with sequence id {@code seq}, then close. */
        void fail(SluiceError error, int seq, String message);

        /** Answers the KILL with OK: there was nothing to kill. */
        void answerOk();

        /**
         * Sends {@code sql} (a KILL of {@code target}'s server thread) as this session's command on
         * its backend; with several servers, over a connection of its own to the server {@code target}
         * came from ({@code targetPools}), then answers OK.
         */
        void sendKill(String sql, BackendConnection target, BackendPools targetPools, boolean query);

        /** The pools the linked backend came from. */
        BackendPools backendPools();

        /** The current user's name. */
        String user();
    }

    private final long id;
    private final Party party;
    private final Channel client;
    private final EventLoop loop;
    private final SessionRegistry registry;
    /** Killer side: the target to tell once the KILL's response is complete, or null. */
    private KillDelivery deliverTo;

    KillDelivery(long id, Party party, Channel client, SessionRegistry registry) {
        this.id = id;
        this.party = party;
        this.client = client;
        this.loop = client.eventLoop();
        this.registry = registry;
    }

    /**
     * What {@code k} from session {@code killerId} of {@code killerUser} comes to when the session
     * it names belongs to {@code targetUser} (null: no such session).
     */
    static Verdict verdict(KillStatement k, long killerId, String killerUser, String targetUser) {
        if (k == KillStatement.UNSUPPORTED) {
            return Verdict.UNSUPPORTED;
        }
        if (targetUser == null) {
            return Verdict.NO_SUCH_SESSION;
        }
        if (!targetUser.equals(killerUser)) {
            return Verdict.NOT_OWNER;
        }
        if (k.id() == killerId && !k.query()) {
            return Verdict.OWN_CONNECTION;
        }
        return Verdict.DELIVER;
    }

    /** Killer's loop: the client sent {@code k}. */
    void kill(KillStatement k) {
        ClientSession target = k == KillStatement.UNSUPPORTED ? null : registry.get(k.id());
        switch (verdict(k, id, party.user(), target == null ? null : target.user())) {
            case UNSUPPORTED -> {
                SluiceError e = SluiceError.UNSUPPORTED_COMMAND;
                client.writeAndFlush(Packets.err(client.alloc(), 1, e.code(), e.sqlState(), "Sluice: only KILL "
                        + "[CONNECTION | QUERY] <id> with a Sluice connection id is supported (ids are Sluice's, not the server's)"));
            }
            case NO_SUCH_SESSION -> client.writeAndFlush(Packets.err(client.alloc(), 1, 1094, "HY000", "Unknown thread id: " + k.id()));
            case NOT_OWNER -> client.writeAndFlush(Packets.err(client.alloc(), 1, 1095, "HY000", "You are not owner of thread " + k.id()));
            case OWN_CONNECTION -> party.fail(SluiceError.UNAVAILABLE, 1, "Sluice: connection killed by its own KILL");
            case DELIVER -> {
                KillDelivery t = target.kills();
                t.loop.execute(() -> t.killedBy(this, k));
            }
        }
    }

    /** Target's loop: stops its running query (KILL QUERY) or ends it (KILL CONNECTION). */
    private void killedBy(KillDelivery killer, KillStatement k) {
        BackendConnection b = party.running();
        boolean running = b != null;
        long thread = running ? b.threadId() : -1;
        if (running) {
            // Until the KILL has been delivered, this backend must not serve anyone else.
            party.pinUntilKillDelivered();
        }
        if (!k.query()) {
            log.info("{}: killed by {}", party, killer.party);
            if (!running) {
                party.fail(SluiceError.UNAVAILABLE, 0, "Sluice: connection killed by session " + killer.id);
            }
        }
        boolean query = k.query();
        BackendPools pools = party.backendPools();
        killer.loop.execute(() -> killer.targetAnswered(this, b, pools, thread, query));
    }

    /** Killer's loop: asks the server to kill the target's backend thread through this session's own backend. */
    private void targetAnswered(KillDelivery target, BackendConnection b, BackendPools pools, long thread, boolean query) {
        if (b != null) {
            deliverTo = target; // it pinned its backend until the KILL is delivered
        }
        if (thread < 0) {
            party.answerOk();
            return;
        }
        party.sendKill((query ? "KILL QUERY " : "KILL CONNECTION ") + thread, b, pools, query);
    }

    /** Killer's loop: the responses in flight are complete (or the command was refused); the target may release its pin. */
    void responseComplete() {
        KillDelivery t = deliverTo;
        if (t != null) {
            deliverTo = null;
            t.loop.execute(t.party::killDelivered);
        }
    }
}
