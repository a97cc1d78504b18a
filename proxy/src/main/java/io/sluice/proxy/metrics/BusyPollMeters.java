package io.sluice.proxy.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * What {@code sluice.listen.busy-poll} does: how long event loops polled, how each poll ended, and
 * how often {@code auto} held a poll off because the loop's thread had been waiting for a CPU. The
 * event loops add to these on every poll; allocation-free.
 */
public final class BusyPollMeters {
    public static final String POLL_TIME = "sluice.event.loop.busy.poll";
    public static final String POLLS = "sluice.event.loop.busy.polls";
    public static final String HELD_OFF = "sluice.event.loop.busy.poll.held.off";

    /** How a poll ended: the tag values of {@link #POLLS}. */
    public enum End {
        /** I/O was ready: the wake-up it saves is the point of polling. */
        IO,
        /** A task was queued for the loop, which ran it and came back. */
        TASK,
        /** The budget ran out and the loop went to sleep. */
        BUDGET
    }

    private final LongAdder pollNanos = new LongAdder();
    private final LongAdder[] polls = {new LongAdder(), new LongAdder(), new LongAdder()};
    private final LongAdder heldOff = new LongAdder();

    BusyPollMeters(MeterRegistry registry) {
        FunctionCounter.builder(POLL_TIME, this, BusyPollMeters::pollSeconds).baseUnit("seconds")
                .description("Time event loops spent polling for I/O instead of sleeping (sluice.listen.busy-poll)")
                .register(registry);
        for (End end : End.values()) {
            FunctionCounter.builder(POLLS, polls[end.ordinal()], LongAdder::sum).tag("end", end.name().toLowerCase())
                    .description("Busy polls of the event loops, by how they ended: io (I/O was ready), task, budget (ran out)")
                    .register(registry);
        }
        FunctionCounter.builder(HELD_OFF, heldOff, LongAdder::sum)
                .description("Busy polls that busy-poll = auto did not start because the loop's thread had been waiting for a CPU")
                .register(registry);
    }

    /** A poll of {@code nanos} ended by {@code end}. */
    public void polled(long nanos, End end) {
        pollNanos.add(nanos);
        polls[end.ordinal()].increment();
    }

    public void heldOff() {
        heldOff.increment();
    }

    public long polls(End end) {
        return polls[end.ordinal()].sum();
    }

    public long heldOffCount() {
        return heldOff.sum();
    }

    public double pollSeconds() {
        return pollNanos.sum() / (double) TimeUnit.SECONDS.toNanos(1);
    }
}
