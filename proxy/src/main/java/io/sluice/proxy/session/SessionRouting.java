package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.sluice.config.UserConfig;
import io.sluice.proxy.cluster.Cluster;
import io.sluice.proxy.cluster.GtidSet;
import io.sluice.proxy.cluster.ReadClassifier;
import io.sluice.proxy.cluster.Router;
import io.sluice.proxy.pool.BackendPools;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.Packets;

/**
 * One session's side of a cluster: what kind of work the command about to acquire a backend is
 * (rule 4 of the cluster issue, from the command, the session's state and the statement's text),
 * where the router sends it, and the position of the session's own last write (read-your-writes).
 * Used only on the session's event loop, and only when there are several servers.
 */
final class SessionRouting {
    /** A StatementBook flag bit: the prepared statement's SQL is a read a replica may run. */
    static final int REPLICA_READ = 1 << 30;

    private final Cluster cluster;
    private UserConfig user;
    private String lastGtidText;
    private GtidSet lastWrite = GtidSet.EMPTY;
    /** Where servers report no GTIDs: the session's reads stay on the primary until this nanoTime (0: no write yet). */
    private long primaryUntil;
    /** A read waiting for a replica to apply its writer's write (read-your-writes-wait): until this nanoTime, or 0. */
    private long rywWaitUntil;
    private volatile Router.Decision last;

    SessionRouting(Cluster cluster, UserConfig user) {
        this.cluster = cluster;
        this.user = user;
    }

    void user(UserConfig user) {
        this.user = user;
    }

    /**
     * Where the parked command goes ({@code type} null: none is parked, the login's schema check).
     *
     * @param multiplexed    transaction mode (session mode keeps the whole session on the primary)
     * @param stickToPrimary a pin holds, or autocommit is off: the next work opens or continues a transaction
     * @param statementFlags the StatementBook flags of the statement a COM_STMT_EXECUTE runs
     */
    Router.Decision decide(CommandType type, ByteBuf parked, boolean multiplexed, boolean stickToPrimary,
                           boolean autocommitOff, int statementFlags) {
        Router.Work work = Router.Work.PRIMARY;
        Router.Reason why;
        if (!multiplexed) {
            why = Router.Reason.SESSION_MODE;
        } else if (!user.readWriteSplit()) {
            why = Router.Reason.SPLIT_OFF;
        } else if (autocommitOff) {
            why = Router.Reason.TRANSACTION;
        } else if (stickToPrimary) {
            why = Router.Reason.PINNED;
        } else if (type == null) {
            // Nothing parked: a login checking that its schema exists, a read any qualifying server
            // answers, so clients log in while there is no primary (a failover) and read on.
            work = Router.Work.READ;
            why = Router.Reason.READ;
        } else if (type == CommandType.COM_QUERY || type == CommandType.COM_STMT_PREPARE) {
            int flags = parked == null ? 0 : ReadClassifier.classify(parked, parked.readerIndex() + Packets.HEADER_SIZE + 1,
                    Packets.payloadEnd(parked));
            if ((flags & ReadClassifier.PRIMARY_HINT) != 0) {
                why = Router.Reason.HINT;
            } else if ((flags & ReadClassifier.READ_ONLY_TRANSACTION) != 0) {
                work = Router.Work.READ;
                why = Router.Reason.READ_ONLY_TRANSACTION;
            } else if ((flags & ReadClassifier.READ) != 0) {
                work = Router.Work.READ;
                why = Router.Reason.READ;
            } else {
                why = Router.Reason.WRITE;
            }
        } else if (type == CommandType.COM_STMT_EXECUTE && (statementFlags & REPLICA_READ) != 0) {
            work = Router.Work.READ;
            why = Router.Reason.READ;
        } else {
            why = type == CommandType.COM_STMT_EXECUTE ? Router.Reason.WRITE : Router.Reason.COMMAND;
        }
        Router.Decision d = waitForReplica(cluster.route(work, why, user, lastWrite, primaryUntil));
        if (work == Router.Work.PRIMARY && d.server() >= 0 && writes(why) && !cluster.reportsWriteGtids()) {
            // No GTID will tell where this write is: keep the writer's reads on the primary long enough.
            primaryUntil = System.nanoTime() + cluster.noGtidWindowNanos();
            cluster.wroteWithoutGtid(user.name(), primaryUntil);
        }
        last = d;
        return d;
    }

    /**
     * sluice.cluster.read-your-writes-wait: a read that would go to the primary only because no
     * replica has its writer's write yet waits that long (polls come meanwhile) for one to have it.
     */
    private Router.Decision waitForReplica(Router.Decision d) {
        long wait = cluster.readYourWritesWaitNanos();
        if (wait == 0 || d.reason() != Router.Reason.READ_YOUR_WRITES || d.server() < 0) {
            rywWaitUntil = 0;
            return d;
        }
        long now = System.nanoTime();
        if (rywWaitUntil == 0) {
            rywWaitUntil = now + wait;
        }
        if (now - rywWaitUntil < 0) {
            return WAIT_FOR_REPLICA;
        }
        rywWaitUntil = 0;
        return d;
    }

    private static final Router.Decision WAIT_FOR_REPLICA = new Router.Decision(Router.WAIT, Router.Reason.READ_YOUR_WRITES);

    /** Work that may write: what went to the primary for any reason but a plain command. */
    private static boolean writes(Router.Reason why) {
        return why != Router.Reason.COMMAND && why != Router.Reason.SESSION_MODE;
    }

    BackendPools pools(Router.Decision d) {
        return cluster.pools(d.server());
    }

    /** The statement book's flags for a statement prepared with {@code sql}: plus {@link #REPLICA_READ} for a read. */
    static int prepareFlags(int flags, ByteBuf sql, int from, int to) {
        return (ReadClassifier.classify(sql, from, to) & (ReadClassifier.READ | ReadClassifier.PRIMARY_HINT)) == ReadClassifier.READ
                ? flags | REPLICA_READ : flags;
    }

    /** After a response: a commit reported the write's GTID; remember it for this session and its user. */
    void afterResponse(String lastWriteGtid) {
        if (lastWriteGtid != null && !lastWriteGtid.equals(lastGtidText)) {
            lastGtidText = lastWriteGtid;
            lastWrite = lastWrite.max(GtidSet.parse(lastWriteGtid));
            cluster.wrote(user.name(), lastWrite);
        }
    }

    /** The 9412 message for work that found no server: what Sluice saw, and what to change. */
    String refusal(Router.Decision d) {
        var t = cluster.topology();
        String waited = " (waited up to sluice.pool.acquire-timeout)";
        return switch (d.reason()) {
            case SPLIT_BRAIN -> "Sluice: no write is sent anywhere: " + t.why() + waited;
            case NO_PRIMARY -> "Sluice: no primary to run this on: " + t.why() + waited
                    + "; writes resume once one server of sluice.servers is writable and not replicating";
            case NO_REPLICA -> "Sluice: no replica may serve this read now (" + t.describe() + ")"
                    + (d.server() == Router.FAIL ? "; sluice.cluster.reads-without-replica = fail" : waited);
            default -> "Sluice: no server of sluice.servers can run this now: " + t.describe();
        };
    }

    /** The last decision for the admin (any thread: a recent value), or null before the first. */
    SessionSnapshot.Route lastRoute() {
        Router.Decision d = last;
        if (d == null) {
            return null;
        }
        return new SessionSnapshot.Route(d.server() >= 0 ? cluster.address(d.server()) : null, d.reason().label());
    }

    Cluster cluster() {
        return cluster;
    }
}
