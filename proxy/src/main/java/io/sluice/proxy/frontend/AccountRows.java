package io.sluice.proxy.frontend;

import io.sluice.proxy.protocol.auth.NativePassword;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;

/**
 * A server account as the lookup reads it (sluice.auth.source = server): the one query for MariaDB
 * ({@code mysql.global_priv}) or MySQL ({@code mysql.user}), and its one row turned into an
 * {@link Account} of {@link Row}s, one per host, most specific first, each with the hash Sluice can
 * check, its lock, expiry and MAX_USER_CONNECTIONS. Pure functions and values; {@link ServerAccounts}
 * runs the query, caches the account and decides logins with it.
 */
final class AccountRows {
    static final String NATIVE = AuthExchange.NATIVE;
    static final String SHA2 = AuthExchange.SHA2;

    private AccountRows() {
    }

    /** One {@code 'user'@'host'} of an account, as the server keeps it. */
    static final class Row {
        final String host;
        /** The plugin Sluice checks against (native or caching_sha2) or, when none fits, the account's own. */
        final String plugin;
        /** {@code "*"+hex} or {@code "$A$..."}, or null when the plugin is not one Sluice can check. */
        final String hash;
        final boolean locked;
        final boolean expired;
        /** The account's MAX_USER_CONNECTIONS; 0 = none of its own. */
        final int maxUserConnections;
        /** Built once per row, so a caching_sha2 fast-path hash learned at a full login stays for later logins. */
        volatile Credentials credentials;

        Row(String host, String plugin, String hash, boolean locked, boolean expired, int maxUserConnections) {
            this.host = host;
            this.plugin = plugin;
            this.hash = hash;
            this.locked = locked;
            this.expired = expired;
            this.maxUserConnections = maxUserConnections;
        }
    }

    /** What a lookup found for one name: its rows, most specific host first; none = no such account. */
    static final class Account {
        final String name;
        final List<Row> rows;
        final long learnedAtMillis = System.currentTimeMillis();
        final long learnedAtNanos = System.nanoTime();
        final long expiresAtNanos;
        final boolean mariadb;

        Account(String name, List<Row> rows, long ttlNanos, boolean mariadb) {
            this.name = name;
            this.rows = rows;
            this.expiresAtNanos = learnedAtNanos + ttlNanos;
            this.mariadb = mariadb;
        }

        boolean fresh(long now) {
            return now - expiresAtNanos < 0;
        }

        /**
         * Read again with the same host and hash: keeps what earlier logins taught (the
         * caching_sha2_password fast-path hash), so a TTL does not force another full authentication.
         */
        void keepLearned(Account previous) {
            for (Row r : rows) {
                for (Row old : previous.rows) {
                    if (old.host.equals(r.host) && r.hash != null && r.hash.equals(old.hash) && r.plugin.equals(old.plugin)) {
                        r.credentials = old.credentials;
                    }
                }
            }
        }
    }

    /**
     * One row: the default password lifetime, the server's clock, and every host of the account as
     * comma-separated fields ({@code ;} between hosts); text fields are hex so no separator can occur
     * in them, and the name is sent as a hex literal so no client-chosen text reaches the SQL.
     */
    static String query(String name, boolean mariadb) {
        String user = "CONVERT(X'" + HexFormat.of().formatHex(name.getBytes(StandardCharsets.UTF_8)) + "' USING utf8mb4)";
        if (mariadb) {
            return "SELECT @@default_password_lifetime, UNIX_TIMESTAMP(), GROUP_CONCAT(CONCAT_WS(',', HEX(Host), "
                    + hexJson("$.plugin") + ", " + hexJson("$.authentication_string") + ", "
                    + hexJson("$.auth_or[0].plugin") + ", " + hexJson("$.auth_or[0].authentication_string") + ", "
                    + hexJson("$.auth_or[1].plugin") + ", " + hexJson("$.auth_or[1].authentication_string") + ", "
                    + "IFNULL(JSON_VALUE(Priv, '$.account_locked'), 'false'), "
                    + "IFNULL(JSON_VALUE(Priv, '$.password_last_changed'), '-1'), "
                    + "IFNULL(JSON_VALUE(Priv, '$.password_lifetime'), '-1'), "
                    + "IFNULL(JSON_VALUE(Priv, '$.max_user_connections'), '0')) SEPARATOR ';') "
                    + "FROM mysql.global_priv WHERE User = " + user;
        }
        return "SELECT @@default_password_lifetime, UNIX_TIMESTAMP(), GROUP_CONCAT(CONCAT_WS(',', HEX(Host), HEX(plugin), "
                + "HEX(IFNULL(authentication_string, '')), '', '', '', '', IF(account_locked = 'Y', 'true', 'false'), "
                + "IF(password_expired = 'Y', '0', IFNULL(UNIX_TIMESTAMP(password_last_changed), '-1')), "
                + "IFNULL(password_lifetime, '-1'), max_user_connections) SEPARATOR ';') "
                + "FROM mysql.user WHERE User = " + user;
    }

    private static String hexJson(String path) {
        return "HEX(IFNULL(JSON_VALUE(Priv, '" + path + "'), ''))";
    }

    /** The lookup's one row as an account; rows most specific host first. */
    static Account parseRow(String name, List<String> row, boolean mariadb, long ttlNanos) {
        long defaultLifetimeDays = number(row.get(0), 0);
        long now = number(row.get(1), System.currentTimeMillis() / 1000);
        List<Row> rows = new ArrayList<>();
        String all = row.size() > 2 ? row.get(2) : null;
        if (all != null && !all.isEmpty()) {
            for (String entry : all.split(";")) {
                String[] f = entry.split(",", -1);
                if (f.length < 11) {
                    throw new IllegalStateException("unexpected account row with " + f.length + " fields");
                }
                String host = unhex(f[0]);
                String[][] candidates = {{unhex(f[1]), unhex(f[2])}, {unhex(f[3]), unhex(f[4])}, {unhex(f[5]), unhex(f[6])}};
                String plugin = null;
                String hash = null;
                for (String[] c : candidates) {
                    String h = usableHash(c[0], c[1]);
                    if (h != null) {
                        plugin = c[0].isEmpty() ? NATIVE : c[0];
                        hash = h;
                        break;
                    }
                }
                if (plugin == null) {
                    plugin = !candidates[0][0].isEmpty() ? candidates[0][0]
                            : !candidates[1][0].isEmpty() ? candidates[1][0] : candidates[2][0];
                }
                boolean locked = f[7].trim().equalsIgnoreCase("true") || f[7].trim().equals("1");
                long lastChanged = number(f[8], -1);
                long lifetime = number(f[9], -1);
                if (lifetime < 0) {
                    lifetime = defaultLifetimeDays;
                }
                boolean expired = lastChanged == 0 || (lifetime > 0 && lastChanged > 0 && now - lastChanged > lifetime * 86_400);
                int maxConns = (int) Math.max(0, Math.min(Integer.MAX_VALUE, number(f[10], 0)));
                rows.add(new Row(host, plugin, hash, locked, expired, maxConns));
            }
        }
        rows.sort(Comparator.comparing(r -> r.host, HostPattern.MOST_SPECIFIC_FIRST));
        return new Account(name, List.copyOf(rows), ttlNanos, mariadb);
    }

    /** The hash Sluice can check for {@code plugin}, or null (another plugin, or a hash it cannot use, e.g. 'invalid'). */
    private static String usableHash(String plugin, String hash) {
        if (plugin.isEmpty() && hash.isEmpty()) {
            return null; // an empty alternative of auth_or, or no such alternative
        }
        if (plugin.isEmpty() || plugin.equals(NATIVE)) {
            if (hash.isEmpty()) {
                return "";
            }
            try {
                NativePassword.parseServerHash(hash);
                return hash;
            } catch (IllegalArgumentException e) {
                return null;
            }
        }
        if (plugin.equals(SHA2)) {
            return hash.isEmpty() || hash.startsWith("$A$") ? hash : null;
        }
        return null;
    }

    private static String unhex(String h) {
        return new String(HexFormat.of().parseHex(h.trim()), StandardCharsets.ISO_8859_1);
    }

    private static long number(String s, long otherwise) {
        try {
            return s == null ? otherwise : (long) Double.parseDouble(s.trim());
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }
}
