package io.sluice.config;

import java.time.Duration;
import java.util.Objects;

/**
 * The MySQL server Sluice fronts ("server" always means the MySQL server).
 *
 * @param connectTimeout TCP connect plus login timeout for one backend connection
 */
public record ServerConfig(String host, int port, Duration connectTimeout, BackendTlsConfig tls) {

    public ServerConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(tls, "tls");
    }
}
