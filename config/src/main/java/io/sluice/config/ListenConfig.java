package io.sluice.config;

import java.time.Duration;
import java.util.Objects;

/**
 * Where Sluice accepts MySQL clients, and the I/O machinery that serves them.
 *
 * @param ioThreads Netty event loops serving clients and backends; 0 means one per available core
 * @param transport which kernel interface the event loops use
 * @param busyPoll whether and how long an event loop polls for more I/O after a pass that found some,
 *                 before it sleeps in the kernel
 */
public record ListenConfig(String host, int port, int ioThreads, Transport transport, BusyPoll busyPoll) {

    /** With the default busy polling, {@link BusyPoll#AUTO}. */
    public ListenConfig(String host, int port, int ioThreads, Transport transport) {
        this(host, port, ioThreads, transport, BusyPoll.AUTO);
    }

    /**
     * {@code sluice.listen.busy-poll}: {@code auto}, {@code off} or a duration.
     *
     * @param budget          how long one poll may last; zero never polls
     * @param whenCpuIsSpare  poll only while the event loop's thread gets a CPU without waiting for one
     *                        ({@code auto}); false polls whenever the budget allows (a duration)
     */
    public record BusyPoll(Duration budget, boolean whenCpuIsSpare) {
        /** The longest budget accepted: past this a poll only burns CPU a wake-up would have saved. */
        public static final Duration MAX = Duration.ofMillis(1);
        /**
         * {@code auto}: 100 µs, long enough to cover a short query's round trip to the server, so a
         * loop that just sent a command is still polling when the answer comes; with 50 µs a third
         * of the polls ran out first and the loop slept (docs/benchmarks.md, "Busy polling").
         */
        public static final BusyPoll AUTO = new BusyPoll(Duration.ofNanos(100_000), true);
        public static final BusyPoll OFF = new BusyPoll(Duration.ZERO, false);

        public BusyPoll {
            Objects.requireNonNull(budget, "budget");
            if (budget.isNegative() || budget.compareTo(MAX) > 0) {
                throw new IllegalArgumentException("busy-poll budget must be 0.." + MAX + ", got " + budget);
            }
        }

        /** Polls whenever the budget allows: {@code sluice.listen.busy-poll = 50us}. */
        public static BusyPoll always(Duration budget) {
            return budget.isZero() ? OFF : new BusyPoll(budget, false);
        }

        public boolean enabled() {
            return !budget.isZero();
        }

        /** As the config spells it: {@code auto}, {@code off} or the budget of a poll that always may run. */
        public String configName() {
            if (equals(AUTO)) {
                return "auto";
            }
            return enabled() ? ConfigRenderer.duration(budget) : "off";
        }
    }

    /**
     * The event loops' kernel interface. {@code AUTO} takes the first that works here, in this order;
     * naming one makes start-up fail, with the reason, where it does not work (an old kernel, a
     * seccomp profile that blocks io_uring, a platform without epoll).
     */
    public enum Transport {
        AUTO, IO_URING, EPOLL, NIO;

        /** As the config spells it: {@code auto}, {@code io-uring}, {@code epoll}, {@code nio}. */
        public String configName() {
            return ConfigRenderer.enumName(this);
        }
    }

    public ListenConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(busyPoll, "busyPoll");
    }
}
