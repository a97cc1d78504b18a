package io.sluice.config;

import java.time.Duration;
import java.util.Objects;

/**
 * The MySQL server Sluice fronts ("server" always means the MySQL server).
 *
 * @param connectTimeout TCP connect plus login timeout for one backend connection
 * @param headroom       connections of the server's max_connections left to other clients
 * @param fleetSize      Sluice instances sharing the server; each keeps to its share of the limits
 * @param adaptive       follow the server's Threads_connected: take only what other clients leave free
 */
public record ServerConfig(String host, int port, Duration connectTimeout, BackendTlsConfig tls, int headroom, int fleetSize,
                           boolean adaptive) {

    public static final int DEFAULT_HEADROOM = 2;
    public static final int DEFAULT_FLEET_SIZE = 1;

    public ServerConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(tls, "tls");
    }

    /** With the default headroom and a fleet of one. */
    public ServerConfig(String host, int port, Duration connectTimeout, BackendTlsConfig tls) {
        this(host, port, connectTimeout, tls, DEFAULT_HEADROOM, DEFAULT_FLEET_SIZE, false);
    }
}
