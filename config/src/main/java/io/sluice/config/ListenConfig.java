package io.sluice.config;

import java.time.Duration;
import java.util.Objects;

/**
 * Where Sluice accepts MySQL clients, and the I/O machinery that serves them.
 *
 * @param ioThreads Netty event loops serving clients and backends; 0 means one per available core
 * @param transport which kernel interface the event loops use
 * @param busyPoll how long an event loop polls for more I/O after a pass that found some, before it
 *                 sleeps in the kernel; zero (the default) never polls
 */
public record ListenConfig(String host, int port, int ioThreads, Transport transport, Duration busyPoll) {

    /** The longest {@link #busyPoll} accepted: past this a poll only burns CPU a wake-up would have saved. */
    public static final Duration MAX_BUSY_POLL = Duration.ofMillis(1);

    /** Without busy polling. */
    public ListenConfig(String host, int port, int ioThreads, Transport transport) {
        this(host, port, ioThreads, transport, Duration.ZERO);
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
