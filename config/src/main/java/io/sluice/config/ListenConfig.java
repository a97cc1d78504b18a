package io.sluice.config;

import java.util.Objects;
/**
 * Where Sluice accepts MySQL clients.
 *
 * @param ioThreads Netty event loops serving clients and backends; 0 means one per available core
 */
public record ListenConfig(String host, int port, int ioThreads) {

    public ListenConfig {
        Objects.requireNonNull(host, "host");
    }
}
