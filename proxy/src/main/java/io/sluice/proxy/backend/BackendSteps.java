package io.sluice.proxy.backend;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.sluice.proxy.protocol.ErrPacket;

import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Runs Sluice's own commands on a backend before a client's (reset, the batched SET, INIT_DB, a
 * re-prepare and the switches of context around it) one after the other, with one stale check:
 * after each reply, on the owner's loop, the owner is asked whether the backend is still its own
 * ({@link Owner#owns}); if not, the run stops silently (the session closed or lost the backend
 * meanwhile, and whoever did that has answered the client).
 *
 * <p>Threading: {@link #run} is called on the owner's loop; each step's reply is handed back to
 * that loop before anything else happens.
 */
public final class BackendSteps {
    /** What a step's ERR from the server means. */
    public enum OnError {
        /** The waiting command fails with the server's ERR, which the client reads. */
        REFUSE,
        /** As {@link #REFUSE}, and the schema the session had is gone (INIT_DB refused): the session forgets it. */
        REFUSE_SCHEMA_GONE,
        /** The backend cannot be brought to the session's state: the backend is lost (9405). */
        LOSE,
        /** Any reply will do (a reset). */
        IGNORE
    }

    /**
     * One of Sluice's own commands.
     *
     * @param command what to run when the step's turn comes (so it sees what earlier steps did), or
     *                null from the supplier when nothing needs doing (then {@code onOk} does not run)
     * @param onOk    what the server's OK means for the backend's books; may be null
     * @param lost    the client's 9405 message when the backend fails, from the cause's message
     */
    public record Step(Supplier<Future<BackendConnection.Reply>> command, Consumer<BackendConnection.Reply> onOk,
                       OnError onError, Function<String, String> lost) {
    }

    /** Whoever runs steps on a backend it holds: the stale check, and the three ways a run ends. */
    public interface Owner {
        /** Whether {@code b} is still this owner's backend (the one stale check). */
        boolean owns(BackendConnection b);

        /** Every step succeeded (or had nothing to do). */
        void stepsDone();

        /** The server refused {@code step} ({@link OnError#REFUSE} or {@link OnError#REFUSE_SCHEMA_GONE}). */
        void stepRefused(Step step, ErrPacket error);

        /** {@code b} failed (or a {@link OnError#LOSE} step was refused): discard it; {@code message} is for the client. */
        void backendLost(BackendConnection b, String message);
    }

    private BackendSteps() {
    }

    /** Runs {@code steps} on {@code b}, answering on {@code loop}, the owner's. */
    public static void run(BackendConnection b, EventExecutor loop, List<Step> steps, Owner owner) {
        run(b, loop, steps, 0, owner);
    }

    private static void run(BackendConnection b, EventExecutor loop, List<Step> steps, int from, Owner owner) {
        for (int i = from; i < steps.size(); i++) {
            Step step = steps.get(i);
            Future<BackendConnection.Reply> f = step.command().get();
            if (f == null) {
                continue;
            }
            int next = i + 1;
            f.addListener(x -> loop.execute(() -> {
                if (!owner.owns(b)) {
                    return;
                }
                if (!x.isSuccess()) {
                    owner.backendLost(b, step.lost().apply(x.cause().getMessage()));
                    return;
                }
                BackendConnection.Reply r = (BackendConnection.Reply) x.getNow();
                if (!r.ok() && step.onError() != OnError.IGNORE) {
                    if (step.onError() == OnError.LOSE) {
                        owner.backendLost(b, step.lost().apply(String.valueOf(r.error())));
                    } else {
                        owner.stepRefused(step, r.error());
                    }
                    return;
                }
                if (step.onOk() != null) {
                    step.onOk().accept(r);
                }
                run(b, loop, steps, next, owner);
            }));
            return;
        }
        owner.stepsDone();
    }
}
