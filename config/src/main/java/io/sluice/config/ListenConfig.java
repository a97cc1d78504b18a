package io.sluice.config;

import java.util.Objects;

/**
 * Where Sluice accepts MySQL clients, and the I/O machinery that serves them.
 *
 * @param ioThreads Netty event loops serving clients and backends; 0 means one per available core
 * @param transport which kernel interface the event loops use
 */
public record ListenConfig(String host, int port, int ioThreads, Transport transport) {

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
    }
}
