package io.sluice.config;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Where client logins are checked ({@code sluice.auth}): only against {@code sluice.users}, or also
 * against the server's own accounts, looked up through a lookup account (docs/accounts.md).
 *
 * @param source             {@link Source#CONFIG}: only configured users; {@link Source#SERVER}: a
 *                           client not in {@code sluice.users} is checked against its server account
 * @param lookupUser         the server account that reads mysql.global_priv / mysql.user; empty with CONFIG
 * @param lookupPassword     its clear password; empty with CONFIG
 * @param lookupPoolMax      backend connections the lookups may hold at once (their own pool, under the global cap)
 * @param cacheTtl           how long a looked-up account is used before it is read again
 * @param negativeCacheTtl   how long "no such account" is remembered
 * @param maxLookupsPerSecond lookups started per second, at most (a burst of as many in one second)
 * @param maxCachedAccounts  accounts (known and unknown) remembered at once; the oldest go first
 */
public record AuthConfig(Source source, Optional<String> lookupUser, Optional<String> lookupPassword, int lookupPoolMax,
                         Duration cacheTtl, Duration negativeCacheTtl, int maxLookupsPerSecond, int maxCachedAccounts) {

    /** What reference.conf says: configured users only. */
    public static final AuthConfig DEFAULT = new AuthConfig(Source.CONFIG, Optional.empty(), Optional.empty(), 2,
            Duration.ofMinutes(5), Duration.ofSeconds(10), 50, 10_000);

    public AuthConfig {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(lookupUser, "lookupUser");
        Objects.requireNonNull(lookupPassword, "lookupPassword");
        Objects.requireNonNull(cacheTtl, "cacheTtl");
        Objects.requireNonNull(negativeCacheTtl, "negativeCacheTtl");
        if (source == Source.SERVER && (lookupUser.isEmpty() || lookupPassword.isEmpty())) {
            throw new IllegalArgumentException("source = server needs the lookup account and its password");
        }
    }

    public boolean fromServer() {
        return source == Source.SERVER;
    }

    /** Redacts the lookup password. */
    @Override
    public String toString() {
        return "AuthConfig[source=" + source + ", lookupUser=" + lookupUser + ", lookupPoolMax=" + lookupPoolMax
                + ", cacheTtl=" + cacheTtl + ", negativeCacheTtl=" + negativeCacheTtl + ", maxLookupsPerSecond="
                + maxLookupsPerSecond + ", maxCachedAccounts=" + maxCachedAccounts + ", lookupPassword=<redacted>]";
    }

    /** Where logins are checked. */
    public enum Source { CONFIG, SERVER }
}
