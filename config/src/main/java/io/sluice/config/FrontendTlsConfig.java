package io.sluice.config;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * TLS toward clients. When enabled, certFile and keyFile (PEM, PKCS#8 key) are both present.
 *
 * @param required refuse clients that do not switch to TLS
 */
public record FrontendTlsConfig(boolean enabled, Optional<Path> certFile, Optional<Path> keyFile, boolean required) {

    public FrontendTlsConfig {
        Objects.requireNonNull(certFile, "certFile");
        Objects.requireNonNull(keyFile, "keyFile");
    }
}
