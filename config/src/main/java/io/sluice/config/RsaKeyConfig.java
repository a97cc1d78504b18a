package io.sluice.config;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * RSA key pair (PEM) that caching_sha2_password clients use to send a password without TLS.
 * Both empty: Sluice generates a fresh 2048-bit pair at startup. Otherwise both are present.
 */
public record RsaKeyConfig(Optional<Path> privateKeyFile, Optional<Path> publicKeyFile) {

    public RsaKeyConfig {
        Objects.requireNonNull(privateKeyFile, "privateKeyFile");
        Objects.requireNonNull(publicKeyFile, "publicKeyFile");
    }
}
