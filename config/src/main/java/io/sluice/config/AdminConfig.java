package io.sluice.config;

import java.util.Objects;
import java.util.Optional;

/**
 * The admin HTTP endpoint.
 *
 * @param token bearer token; when present, action endpoints (and everything when bound beyond loopback) require it
 */
public record AdminConfig(boolean enabled, String host, int port, Optional<String> token) {

    public AdminConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(token, "token");
    }

    @Override
    public String toString() {
        return "AdminConfig[enabled=" + enabled + ", host=" + host + ", port=" + port
                + ", token=" + (token.isPresent() ? "<redacted>" : "none") + "]";
    }
}
