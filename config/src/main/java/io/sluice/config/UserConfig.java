package io.sluice.config;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * One front-end user: how clients authenticate to Sluice, and which server account its backend
 * connections log in as.
 *
 * @param name            the user name clients send
 * @param password        clear password (from password, password-env or password-file), if given
 * @param passwordHash    server-style hash, if given instead: "*" + 40 hex digits (mysql_native_password)
 *                        or "$A$005$" + salt + hash (caching_sha2_password, as in mysql.user)
 * @param backendUser     server account for this user's pool (default: name)
 * @param backendPassword clear password of that account (default: password)
 * @param poolMode        overrides {@link PoolConfig#mode()} for this user
 * @param poolMax         overrides {@link PoolConfig#maxPerUser()} for this user's pool
 * @param priority        this user's backend pool may use the connections {@link PoolConfig#reserve()} keeps
 *                        back from everyone else (operators, migrations)
 * @param readWriteSplit  with several servers: reads that may run anywhere go to replicas (else all on the primary)
 * @param replicasOnly    with several servers: all of this user's work goes to replicas; writes are refused
 */
public record UserConfig(
        String name,
        Optional<String> password,
        Optional<String> passwordHash,
        String backendUser,
        String backendPassword,
        Optional<PoolMode> poolMode,
        OptionalInt poolMax,
        boolean priority,
        boolean readWriteSplit,
        boolean replicasOnly) {

    public UserConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(password, "password");
        Objects.requireNonNull(passwordHash, "passwordHash");
        Objects.requireNonNull(backendUser, "backendUser");
        Objects.requireNonNull(backendPassword, "backendPassword");
        Objects.requireNonNull(poolMode, "poolMode");
        Objects.requireNonNull(poolMax, "poolMax");
    }

    /** Reads split to replicas, not replicas-only. */
    public UserConfig(String name, Optional<String> password, Optional<String> passwordHash, String backendUser,
                      String backendPassword, Optional<PoolMode> poolMode, OptionalInt poolMax, boolean priority) {
        this(name, password, passwordHash, backendUser, backendPassword, poolMode, poolMax, priority, true, false);
    }

    /**
     * An entry without password, password-hash or backend password (allowed with
     * {@code sluice.auth.source = server}): it only holds pool settings for a server account of that
     * name, whose logins are checked against the server.
     */
    public boolean settingsOnly() {
        return password.isEmpty() && passwordHash.isEmpty() && backendPassword.isEmpty();
    }

    /** Redacts secrets so a record printed by mistake leaks nothing. */
    @Override
    public String toString() {
        return "UserConfig[name=" + name + ", backendUser=" + backendUser + ", poolMode=" + poolMode
                + ", poolMax=" + poolMax + ", priority=" + priority + ", readWriteSplit=" + readWriteSplit
                + ", replicasOnly=" + replicasOnly + ", password=<redacted>]";
    }
}
