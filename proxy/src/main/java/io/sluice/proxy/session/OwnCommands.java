package io.sluice.proxy.session;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.BackendSteps;
import io.sluice.proxy.backend.StatementKey;
import io.sluice.proxy.pool.BackendPools;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.ErrPacket;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.SluiceError;
import io.sluice.proxy.protocol.SluiceException;
import io.sluice.proxy.session.statements.StatementBook;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Sluice's own commands on a session's linked backend, before the client's: bringing a freshly
 * linked backend to the session's state (a reset, one batched SET, INIT_DB; {@link #syncState})
 * and re-preparing a statement in the context it was prepared in ({@link #prepare}). Each run is a
 * list of {@link BackendSteps} with one stale check (the session closed, or the backend is no
 * longer linked) and one way each run ends for the session ({@link Run}).
 *
 * <p>Threading: the session's client event loop only.
 */
final class OwnCommands {
    private final BackendLink link;
    private final BackendLink.Owner owner;
    private final EventLoop loop;
    private final BackendPools pools;
    /** The schema and movable state a freshly linked backend is brought to. */
    private final SessionState sessionState;
    /** Transaction mode: the client's prepared statements, re-prepared on a backend that lacks one. */
    private final StatementBook statements;

    OwnCommands(BackendLink link, BackendLink.Owner owner, EventLoop loop, BackendPools pools, SessionState sessionState,
                StatementBook statements) {
        this.link = link;
        this.owner = owner;
        this.loop = loop;
        this.pools = pools;
        this.sessionState = sessionState;
        this.statements = statements;
    }

    /** How long a reset or a state restore on a linked backend may take (sluice.pool.reset-timeout). */
    private Duration syncTimeout() {
        return pools.config().resetTimeout();
    }

    /**
     * Brings a freshly linked backend {@code b} to the session's state in as few round trips as possible:
     * nothing when it already matches (the usual case, which allocates nothing); else one batched
     * SET for the variables that differ (and LAST_INSERT_ID when the next statement reads it), and
     * COM_INIT_DB for the schema. A backend with a schema selected cannot be brought back to "no
     * schema" except by a reset, after which the SET is worked out again. Only a multiplexed session
     * has movable state to replay; session mode restores the schema.
     */
    void syncState(BackendConnection b, Runnable then, int errSeq) {
        String want = sessionState.schema();
        boolean multiplexed = owner.multiplexed();
        boolean reset = multiplexed && want == null && b.state().schema() != null;
        long insertId = 0;
        String set = null;
        if (multiplexed && !reset) {
            insertId = sessionState.insertIdToRestore(b);
            set = sessionState.setStatementFor(b, insertId);
        }
        boolean initDb = want != null && !want.equals(b.state().schema());
        if (!reset && set == null && !initDb) {
            owner.linkReady(then);
            return;
        }
        RestoreVariables restore = reset || set != null ? new RestoreVariables(b, reset, set, insertId) : null;
        List<BackendSteps.Step> steps = new ArrayList<>(3);
        if (reset) {
            steps.add(new BackendSteps.Step(() -> b.reset(syncTimeout()), null, BackendSteps.OnError.IGNORE,
                    cause -> "Sluice: could not reset backend connection " + b + " (sluice.pool.reset-timeout = "
                            + syncTimeout().toMillis() + " ms): " + cause));
        }
        if (restore != null) {
            steps.add(new BackendSteps.Step(restore, restore, BackendSteps.OnError.LOSE,
                    why -> "Sluice: could not restore this session's variables on backend connection " + b + " (" + why + ")"));
        }
        if (initDb) {
            steps.add(new BackendSteps.Step(() -> b.initDb(want, syncTimeout()), r -> b.state().schemaSelected(want),
                    BackendSteps.OnError.REFUSE_SCHEMA_GONE,
                    cause -> "Sluice: backend connection " + b + " failed while selecting schema '" + want + "': " + cause));
        }
        BackendSteps.run(b, loop, steps, new Run(then, true, errSeq));
    }

    /**
     * The batched SET that restores the session's variables, user variables and insert id on a
     * backend; worked out before (given), or when it runs if a reset comes first.
     */
    private final class RestoreVariables implements Supplier<Future<BackendConnection.Reply>>,
            Consumer<BackendConnection.Reply> {
        private final BackendConnection b;
        private String set;
        private long insertId;
        private boolean afterReset;

        RestoreVariables(BackendConnection b, boolean afterReset, String set, long insertId) {
            this.b = b;
            this.afterReset = afterReset;
            this.set = set;
            this.insertId = insertId;
        }

        @Override
        public Future<BackendConnection.Reply> get() {
            if (afterReset) {
                afterReset = false;
                insertId = sessionState.insertIdToRestore(b);
                set = sessionState.setStatementFor(b, insertId);
            }
            return set == null ? null : b.execute(Packets.query(b.channel().alloc(), set), CommandType.COM_QUERY, syncTimeout());
        }

        @Override
        public void accept(BackendConnection.Reply r) {
            sessionState.restoredOn(b, insertId);
        }
    }

    // ---------------------------------------------------------------- re-prepare (transaction mode)

    /**
     * Prepares {@code key} on the linked backend {@code b}, then runs {@code done} (the command parked
     * meanwhile goes out). The server parses the statement in the context it was prepared in
     * (schema, sql_mode, character set): when the session has changed it since, the backend is
     * switched to that context for the prepare and back afterwards. The server's id is kept in
     * the statement book.
     */
    void prepare(BackendConnection b, StatementKey key, Runnable done) {
        Function<String, String> lost = cause -> "Sluice: backend connection " + b + " failed while preparing a statement on it: "
                + cause;
        List<BackendSteps.Step> steps = new ArrayList<>(5);
        String schema = sessionState.schema();
        Map<String, String> variables = sessionState.variables();
        boolean switched = !key.matches(schema, variables);
        if (switched) {
            Map<String, String> context = key.contextOver(variables);
            steps.add(setStep(b, context, lost));
            steps.add(initDbStep(b, key.schema(), lost));
        }
        steps.add(new BackendSteps.Step(() -> b.execute(Packets.command(b.channel().alloc(), CommandType.COM_STMT_PREPARE,
                key.sql().bytes()), CommandType.COM_STMT_PREPARE, syncTimeout()), r -> {
            pools.metrics().reprepared();
            statements.keepServerStatement(b, key, r.statementId());
        }, BackendSteps.OnError.REFUSE, lost));
        if (switched) {
            steps.add(setStep(b, variables, lost));
            steps.add(initDbStep(b, schema, lost));
        }
        BackendSteps.run(b, loop, steps, new Run(done, false, 1));
    }

    /** Sets exactly {@code wanted} (the variables Sluice tracks) on {@code b}; an OK records it. */
    private BackendSteps.Step setStep(BackendConnection b, Map<String, String> wanted, Function<String, String> lost) {
        return new BackendSteps.Step(() -> {
            String set = StateSync.setStatement(wanted, b.state().variables(), b.state().loginVariables(), 0);
            return set == null ? loop.newSucceededFuture(new BackendConnection.Reply(null, 0))
                    : b.execute(Packets.query(b.channel().alloc(), set), CommandType.COM_QUERY, syncTimeout());
        }, r -> {
            b.state().variablesSet(wanted, null);
        }, BackendSteps.OnError.REFUSE, lost);
    }

    /** Selects {@code db} on {@code b} unless it is selected (or null); an OK records it. */
    private BackendSteps.Step initDbStep(BackendConnection b, String db, Function<String, String> lost) {
        return new BackendSteps.Step(() -> db == null || db.equals(b.state().schema()) ? loop.newSucceededFuture(new BackendConnection.Reply(null, 0))
                : b.initDb(db, syncTimeout()), r -> {
            if (db != null) {
                b.state().schemaSelected(db);
            }
        }, BackendSteps.OnError.REFUSE, lost);
    }

    /**
     * How a run of Sluice's own commands on the linked backend ends for the session: the one stale
     * check (closed, or the backend is no longer linked), then {@code done} (after a state sync: the
     * owner's {@link Owner#linkReady}), or the parked command fails with the server's ERR (sequence
     * id {@code errSeq}), or the backend is discarded and the client reads 9405.
     */
    private final class Run implements BackendSteps.Owner {
        private final Runnable done;
        private final boolean linking;
        private final int errSeq;

        Run(Runnable done, boolean linking, int errSeq) {
            this.done = done;
            this.linking = linking;
            this.errSeq = errSeq;
        }

        @Override
        public boolean owns(BackendConnection b) {
            return !owner.closed() && link.get() == b;
        }

        @Override
        public void stepsDone() {
            if (linking) {
                owner.linkReady(done);
            } else {
                done.run();
            }
        }

        @Override
        public void stepRefused(BackendSteps.Step step, ErrPacket error) {
            owner.stepRefused(error, errSeq, step.onError() == BackendSteps.OnError.REFUSE_SCHEMA_GONE);
        }

        @Override
        public void backendLost(BackendConnection b, String message) {
            link.unlink(BackendPools.Release.DISCARD);
            if (linking && link.retryAfterLoss(done, errSeq)) {
                return; // nothing of the client's ran on it: its server may be gone (a failover)
            }
            owner.refused(new SluiceException(SluiceError.BACKEND_LOST, message), errSeq);
        }
    }
}
