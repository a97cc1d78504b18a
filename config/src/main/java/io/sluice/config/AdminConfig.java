package io.sluice.config;

import java.util.Objects;
import java.util.Optional;

/**
 * The admin HTTP endpoint.
 *
 * @param token        bearer token; when present, action endpoints (and everything when bound beyond loopback) require it
 * @param allowNoToken the operator accepts an endpoint beyond loopback without a token (else such a config is refused)
 */
public record AdminConfig(boolean enabled, String host, int port, Optional<String> token, boolean allowNoToken) {

    /** An endpoint that does not opt out of the token rule. */
    public AdminConfig(boolean enabled, String host, int port, Optional<String> token) {
        this(enabled, host, port, token, false);
    }

    public AdminConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(token, "token");
    }

    @Override
    public String toString() {
        return "AdminConfig[enabled=" + enabled + ", host=" + host + ", port=" + port
                + ", token=" + (token.isPresent() ? "<redacted>" : "none") + ", allowNoToken=" + allowNoToken + "]";
    }
}
