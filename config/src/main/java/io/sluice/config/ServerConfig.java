package io.sluice.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * The MySQL server Sluice fronts ("server" always means the MySQL server).
 *
 * @param connectTimeout connect plus login timeout for one backend connection
 * @param headroom       connections of the server's max_connections left to other clients
 * @param fleetSize      Sluice instances sharing the server; each keeps to its share of the limits
 * @param adaptive       follow the server's Threads_connected: take only what other clients leave free
 * @param socket         the server's Unix socket: when present, backend connections use it instead of
 *                       {@code host:port} (Sluice on the database host); host and port still name the
 *                       server for the doctor, which connects over TCP
 * @param limitsRefresh  how often the server's limits (max_connections and the rest) are read again
 */
public record ServerConfig(String host, int port, Duration connectTimeout, BackendTlsConfig tls, int headroom, int fleetSize,
                           boolean adaptive, Optional<Path> socket, Duration limitsRefresh) {

    public static final int DEFAULT_HEADROOM = 2;
    public static final int DEFAULT_FLEET_SIZE = 1;
    public static final Duration DEFAULT_LIMITS_REFRESH = Duration.ofSeconds(60);

    public ServerConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(socket, "socket");
        Objects.requireNonNull(limitsRefresh, "limitsRefresh");
    }

    /** With the default limits refresh interval. */
    public ServerConfig(String host, int port, Duration connectTimeout, BackendTlsConfig tls, int headroom, int fleetSize,
                        boolean adaptive, Optional<Path> socket) {
        this(host, port, connectTimeout, tls, headroom, fleetSize, adaptive, socket, DEFAULT_LIMITS_REFRESH);
    }

    /** Over TCP. */
    public ServerConfig(String host, int port, Duration connectTimeout, BackendTlsConfig tls, int headroom, int fleetSize,
                        boolean adaptive) {
        this(host, port, connectTimeout, tls, headroom, fleetSize, adaptive, Optional.empty());
    }

    /** Over TCP, with the default headroom and a fleet of one. */
    public ServerConfig(String host, int port, Duration connectTimeout, BackendTlsConfig tls) {
        this(host, port, connectTimeout, tls, DEFAULT_HEADROOM, DEFAULT_FLEET_SIZE, false);
    }

    /** This config with {@code next}'s reloadable settings; where the server is and TLS never change. */
    public ServerConfig reloaded(ServerConfig next) {
        return new ServerConfig(host, port, next.connectTimeout, tls, next.headroom, next.fleetSize, next.adaptive, socket,
                next.limitsRefresh);
    }

    /** These settings for another server of the cluster: its address, everything else the same. */
    public ServerConfig at(ClusterConfig.Member member) {
        return new ServerConfig(member.host(), member.port(), connectTimeout, tls, headroom, fleetSize, adaptive,
                member.socket(), limitsRefresh);
    }

    /** Where backend connections go, for messages: {@code unix:/path} or {@code host:port}. */
    public String address() {
        return socket.map(p -> "unix:" + p).orElse(host + ":" + port);
    }
}
