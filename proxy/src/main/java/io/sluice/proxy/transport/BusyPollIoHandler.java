package io.sluice.proxy.transport;

import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoRegistration;
import io.netty.util.concurrent.ThreadAwareExecutor;
import io.sluice.config.ListenConfig;
import io.sluice.proxy.metrics.BusyPollMeters;

/**
 * Wraps an event loop's {@link IoHandler} so that, right after a pass that did I/O, the loop polls for
 * more without blocking for up to {@code budgetNanos} before it sleeps in the kernel
 * ({@code sluice.listen.busy-poll}).
 *
 * <p>Why: a query through Sluice wakes its event loop twice (the client's request, the server's
 * answer), and each wake-up from a blocking wait costs the scheduler's wake-up latency (on a VM,
 * also waking a halted virtual CPU). Both usually come within ~100 µs, so with a spare core polling
 * for them is cheaper than sleeping: at one sysbench thread it took the p50 Sluice adds over a
 * direct connection from +46 µs (the same as HAProxy's) to +20–30 µs with 50 µs of polling, and
 * below direct's own with {@code auto}'s 100 µs (run O). Where the cores are shared with the server
 * the polling takes CPU the server needed (run L3: 0.91x HAProxy's point selects at 8 threads on 2
 * cores). So the default, {@code auto}, polls only while a {@link RunQueueDelay} says this loop's
 * thread has not been kept waiting for a CPU; a configured duration polls regardless
 * (docs/benchmarks.md, "Busy polling").
 *
 * <p>Bounded: the loop polls only after a pass that found work, and stops at the first of: I/O
 * ready, a task queued for the loop, the budget spent. A poll that runs out the budget is not
 * repeated until the loop has found work again, so an idle Sluice polls once per burst of traffic,
 * not forever. Each poll of io_uring reads the completion ring in user space; epoll and NIO make a
 * non-blocking system call.
 */
final class BusyPollIoHandler implements IoHandler {
    private final IoHandler delegate;
    private final long budgetNanos;
    /** For {@code auto}: polls only while this loop's thread is not kept waiting for a CPU; else null. */
    private final RunQueueDelay cpuWait;
    private final BusyPollMeters meters;
    private final IoHandlerContext nonBlocking = new NonBlockingContext();
    private IoHandlerContext outer;
    /** The last pass found work, so more is likely soon: the next pass may poll. */
    private boolean recentlyActive;

    private BusyPollIoHandler(IoHandler delegate, long budgetNanos, boolean whenCpuIsSpare, BusyPollMeters meters) {
        this.delegate = delegate;
        this.budgetNanos = budgetNanos;
        this.meters = meters;
        this.cpuWait = whenCpuIsSpare ? new RunQueueDelay() : null;
    }

    /**
     * Whether {@code busyPoll} makes the event loops poll here: not when it is off, nor for {@code auto}
     * where the kernel does not report run-queue waits (not Linux).
     */
    static boolean polls(ListenConfig.BusyPoll busyPoll) {
        return busyPoll.enabled() && (!busyPoll.whenCpuIsSpare() || RunQueueDelay.availableHere());
    }

    /** {@code factory} itself when the loops do not {@link #polls poll}, else one that wraps each loop's handler. */
    static IoHandlerFactory wrap(IoHandlerFactory factory, ListenConfig.BusyPoll busyPoll, BusyPollMeters meters) {
        if (!polls(busyPoll)) {
            return factory;
        }
        long budgetNanos = busyPoll.budget().toNanos();
        return new IoHandlerFactory() {
            @Override
            public IoHandler newHandler(ThreadAwareExecutor executor) {
                return new BusyPollIoHandler(factory.newHandler(executor), budgetNanos, busyPoll.whenCpuIsSpare(), meters);
            }

            @Override
            public boolean isChangingThreadSupported() {
                return factory.isChangingThreadSupported();
            }
        };
    }

    @Override
    public int run(IoHandlerContext context) {
        if (recentlyActive && context.canBlock()) {
            if (cpuWait != null && cpuWait.contended()) {
                meters.heldOff();
            } else {
                int handled = poll(context);
                if (handled >= 0) {
                    return handled;
                }
                recentlyActive = false;
            }
        }
        int handled = delegate.run(context);
        recentlyActive = handled > 0;
        return handled;
    }

    /** Polls without blocking until I/O, a queued task or the budget's end; -1 for the budget's end. */
    private int poll(IoHandlerContext context) {
        outer = context;
        long start = System.nanoTime();
        long now;
        do {
            int handled = delegate.run(nonBlocking);
            now = System.nanoTime();
            if (handled > 0) {
                meters.polled(now - start, BusyPollMeters.End.IO);
                return handled;
            }
            if (!context.canBlock()) {
                meters.polled(now - start, BusyPollMeters.End.TASK);
                return 0; // a task is waiting; the loop runs it and comes back
            }
            Thread.onSpinWait();
        } while (now - start < budgetNanos);
        meters.polled(now - start, BusyPollMeters.End.BUDGET);
        return -1;
    }

    @Override
    public void initialize() {
        delegate.initialize();
    }

    @Override
    public void prepareToDestroy() {
        delegate.prepareToDestroy();
    }

    @Override
    public void destroy() {
        delegate.destroy();
        if (cpuWait != null) {
            cpuWait.close();
        }
    }

    @Override
    public IoRegistration register(IoHandle handle) throws Exception {
        return delegate.register(handle);
    }

    @Override
    public void wakeup() {
        delegate.wakeup();
    }

    @Override
    public boolean isCompatible(Class<? extends IoHandle> handleType) {
        return delegate.isCompatible(handleType);
    }

    /** The loop's own context, except that it never lets the handler block. */
    private final class NonBlockingContext implements IoHandlerContext {
        @Override
        public boolean canBlock() {
            return false;
        }

        @Override
        public long delayNanos(long currentTimeNanos) {
            return outer.delayNanos(currentTimeNanos);
        }

        @Override
        public long deadlineNanos() {
            return outer.deadlineNanos();
        }

        @Override
        public void reportActiveIoTime(long activeNanos) {
            outer.reportActiveIoTime(activeNanos);
        }

        @Override
        public boolean shouldReportActiveIoTime() {
            return outer.shouldReportActiveIoTime();
        }
    }
}
