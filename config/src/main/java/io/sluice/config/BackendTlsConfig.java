package io.sluice.config;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * TLS from Sluice to the server.
 *
 * @param mode   DISABLED: never; PREFERRED: when the server offers it; REQUIRED: fail without it
 *               (certificate not checked); VERIFY_CA: also check the chain against {@code caFile}
 * @param caFile PEM file of trusted CAs, required for VERIFY_CA
 */
public record BackendTlsConfig(Mode mode, Optional<Path> caFile) {

    public BackendTlsConfig {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(caFile, "caFile");
    }

    public enum Mode { DISABLED, PREFERRED, REQUIRED, VERIFY_CA }
}
