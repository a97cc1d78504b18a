package io.sluice.proxy.frontend;

import io.sluice.config.UserConfig;

import java.util.HashMap;
import java.util.Map;

/**
 * Front-end users and what their logins are checked against, derived once from config (hashing
 * happens here, not per login). Immutable after construction apart from each user's learned
 * caching_sha2 fast-path hash; safe to share across event loops.
 */
public final class UserDirectory {
    private final Map<String, Credentials> users = new HashMap<>();

    public UserDirectory(Iterable<UserConfig> configs) {
        for (UserConfig u : configs) {
            if (u.settingsOnly()) {
                continue; // pool settings of a server account, checked against the server (ServerAccounts)
            }
            users.put(u.name(), new Credentials(u));
        }
    }

    Credentials lookup(String name) {
        return users.get(name);
    }
}
