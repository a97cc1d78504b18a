package io.sluice.proxy.frontend;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.sluice.config.AuthConfig;
import io.sluice.config.UserConfig;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.BackendKey;
import io.sluice.proxy.frontend.AccountRows.Account;
import io.sluice.proxy.frontend.AccountRows.Row;
import io.sluice.proxy.pool.BackendPools;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.SluiceError;
import io.sluice.proxy.protocol.SluiceException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.IntSupplier;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The server's own accounts, for clients not in {@code sluice.users} when
 * {@code sluice.auth.source = server} (docs/accounts.md): reads an account's hosts, plugin, hash,
 * lock, expiry and MAX_USER_CONNECTIONS through the lookup account, picks the host the server would
 * pick for the client's address, and remembers the result for {@code cache-ttl} ("no such account"
 * for {@code negative-cache-ttl}), in memory only.
 *
 * <p>Lookups run on a pool of the lookup account under the global cap and in its queue like any
 * other ({@code lookup-pool-max} connections), so a lookup while the server is full waits its turn
 * rather than opening a connection around the cap; at most {@code max-lookups-per-second} start per
 * second (a burst of as many), concurrent lookups of one name share one query, and the cache holds
 * at most {@code max-cached-accounts} names. A login that would need a lookup beyond the rate gets
 * {@link SluiceError#ACCOUNT_LOOKUP} at once.
 *
 * <p>What a client's login proves (mysql_native_password: {@code SHA1(pw)} recovered from its
 * scramble; caching_sha2_password: the clear password of its full authentication) becomes the
 * backend secret of that account's pool ({@link #learned}), in memory only; nothing here is ever
 * logged or shown.
 *
 * <p>Threading: lookups complete on the backend's event loop; the maps are concurrent; safe from any thread.
 */
public final class ServerAccounts {
    private static final Logger log = LoggerFactory.getLogger(ServerAccounts.class);
    /** A failed check against a cached account older than this reads the account again (a changed password). */
    private static final long REFRESH_AFTER_NANOS = Duration.ofSeconds(1).toNanos();

    /** What a client at an address may log in as. */
    record Resolution(Kind kind, String name, Row row, Credentials credentials, boolean mariadb) {
    }

    enum Kind {
        /** No such account, or none of its hosts matches the client: 1045 as for a wrong password. */
        NONE,
        /** The matching host uses a plugin Sluice cannot check. */
        UNSUPPORTED_PLUGIN,
        /** Check the password against {@link Resolution#credentials}. */
        CHECK
    }

    /** The server's own error for a login refused for what the account is; {@code why} is for the log. */
    record Refusal(int code, String sqlState, String message, String why) {
    }

    /**
     * Why the server would refuse this account for reasons other than the password, or null: a
     * plugin Sluice cannot check (1251, before any password check, as there is none), a lock
     * (MariaDB 4151, MySQL 3118) or an expired password (1862), the last two only after a correct
     * password, as the server does, so neither tells a stranger the account exists.
     */
    static Refusal refusal(Resolution r, String clientHost) {
        String user = r.name();
        if (r.kind() == Kind.UNSUPPORTED_PLUGIN) {
            String why = "the account '" + user + "'@'" + r.row().host + "' uses the authentication plugin '" + r.row().plugin
                    + "', which Sluice cannot check (it checks mysql_native_password and caching_sha2_password); give the "
                    + "account one of those, or add the user to sluice.users";
            return new Refusal(1251, "08004", "Client does not support authentication protocol requested by server; Sluice: "
                    + why, why);
        }
        if (r.row().locked) {
            return r.mariadb()
                    ? new Refusal(4151, "HY000", "Access denied, this account is locked", "the account is locked")
                    : new Refusal(3118, "HY000", "Access denied for user '" + user + "'@'" + clientHost + "'. Account is locked.",
                    "the account is locked");
        }
        if (r.row().expired) {
            return new Refusal(1862, "HY000", "Your password has expired. To log in you must change it using a client that "
                    + "supports expired passwords.; Sluice: change it on the server directly (ALTER USER or SET PASSWORD), "
                    + "Sluice does not relay the server's expired-password sandbox", "its password has expired");
        }
        return null;
    }

    /** One learned account for /stats: never a hash. */
    public record View(String name, String host, String plugin, boolean locked, boolean expired, int maxUserConnections,
                       Instant learnedAt, Instant expiresAt) {
    }

    private final String lookupUser;
    private final List<BackendPools> allPools;
    /** The index in {@link #allPools} of the server the next lookup goes to: with several servers the primary, or one that is up. */
    private final IntSupplier lookupServer;
    private volatile AuthConfig config;
    /** Per-account pool settings from sluice.users entries without password. */
    private volatile Map<String, UserConfig> settings;
    private volatile int defaultPoolMax;
    private final ConcurrentHashMap<String, Account> cache = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Promise<Account>> inFlight = new ConcurrentHashMap<>();
    /** Token bucket of lookups: tokens and the time they were counted; guarded by this. */
    private double tokens;
    private long tokensAtNanos = System.nanoTime();
    private final AtomicLong lookups = new AtomicLong();
    private final AtomicLong lookupFailures = new AtomicLong();
    private final AtomicLong rateLimited = new AtomicLong();
    private final AtomicLong invalidations = new AtomicLong();
    /** When the last lookup failure was logged: at most one WARN per 10 s (lookupFailures counts each). */
    private final AtomicLong failureLoggedNanos = new AtomicLong(System.nanoTime() - Duration.ofMinutes(1).toNanos());

    /**
     * @param allPools     every server's pools (learned accounts get a pool on each, and so does the lookup account)
     * @param lookupServer the index in {@code allPools} of the server a lookup goes to now (0 with one server)
     */
    public ServerAccounts(AuthConfig config, Map<String, UserConfig> users, int defaultPoolMax, List<BackendPools> allPools,
                          IntSupplier lookupServer) {
        this.config = config;
        this.settings = users;
        this.defaultPoolMax = defaultPoolMax;
        this.lookupUser = config.lookupUser().orElseThrow();
        this.allPools = List.copyOf(allPools);
        this.lookupServer = lookupServer;
        this.tokens = config.maxLookupsPerSecond();
        for (BackendPools p : allPools) {
            p.fixedPool(lookupUser, config.lookupPassword().orElseThrow(), config.lookupPoolMax());
            p.onLoginRefused(this::loginRefused);
        }
    }

    /** A reload: new TTLs, rate and bounds, new per-account settings; every cached account is read again at its next login. */
    public void reloaded(AuthConfig next, Map<String, UserConfig> users, int poolMax) {
        AuthConfig old = config;
        config = new AuthConfig(old.source(), old.lookupUser(), old.lookupPassword(), old.lookupPoolMax(), next.cacheTtl(),
                next.negativeCacheTtl(), next.maxLookupsPerSecond(), next.maxCachedAccounts());
        settings = users;
        defaultPoolMax = poolMax;
        int n = cache.size();
        cache.clear();
        log.info("server accounts: reload dropped {} cached account(s); each is read from the server at its next login", n);
    }

    /**
     * What a client of {@code name} at {@code client} logs in as: completes on an event loop, or
     * fails with a {@link SluiceException} whose message the client should read (lookup rate, the
     * lookup pool's queue, the lookup refused by the server).
     *
     * @param refresh read the account again even when cached (a failed check against an old entry)
     */
    Future<Resolution> resolve(String name, InetAddress client, EventLoop loop, boolean refresh) {
        if (name.equals(lookupUser)) {
            // Its sessions would share the lookups' small pool: the lookup account does not log in through Sluice.
            return loop.newSucceededFuture(new Resolution(Kind.NONE, name, null, null, false));
        }
        Promise<Resolution> out = loop.newPromise();
        account(name, loop, refresh).addListener(f -> {
            if (f.isSuccess()) {
                out.setSuccess(resolution((Account) f.getNow(), client));
            } else {
                out.setFailure(f.cause());
            }
        });
        return out;
    }

    /** Whether the cached account of {@code name} is old enough that a failed check should read it again. */
    boolean worthRefresh(String name) {
        Account a = cache.get(name);
        return a == null || System.nanoTime() - a.learnedAtNanos > REFRESH_AFTER_NANOS;
    }

    private Resolution resolution(Account a, InetAddress client) {
        for (Row r : a.rows) {
            if (HostPattern.matches(r.host, client)) {
                if (r.hash == null) {
                    return new Resolution(Kind.UNSUPPORTED_PLUGIN, a.name, r, null, a.mariadb);
                }
                Credentials c = r.credentials;
                if (c == null) {
                    c = new Credentials(userConfig(a.name), r.hash);
                    r.credentials = c;
                }
                return new Resolution(Kind.CHECK, a.name, r, c, a.mariadb);
            }
        }
        if (!a.rows.isEmpty()) {
            // Logged, not told to the client: the client gets the same 1045 as for an unknown account.
            List<String> hosts = a.rows.stream().map(r -> r.host).toList();
            boolean dns = hosts.stream().anyMatch(HostPattern::needsDns);
            if (dns) {
                log.info("client {}: no host of server account '{}' matches it ({}); hosts that need DNS never match, "
                        + "Sluice resolves no names (docs/accounts.md)", HostPattern.text(client), a.name, hosts);
            } else {
                log.debug("client {}: no host of server account '{}' matches it ({})", HostPattern.text(client), a.name, hosts);
            }
        }
        return new Resolution(Kind.NONE, a.name, null, null, a.mariadb);
    }

    /** The UserConfig a server account's sessions run with: its settings entry's pool options, else the defaults. */
    private UserConfig userConfig(String name) {
        UserConfig s = settings.get(name);
        return new UserConfig(name, Optional.empty(), Optional.empty(), name, "",
                s == null ? Optional.empty() : s.poolMode(), s == null ? OptionalInt.empty() : s.poolMax(),
                s != null && s.priority(), s == null || s.readWriteSplit(), s != null && s.replicasOnly());
    }

    /**
     * A client logged in as {@code r.name} proving {@code secret} ({@link io.sluice.proxy.backend.BackendSecret}):
     * its pool on every server gets (or keeps) that secret and a max of its pool-max, within the
     * account's MAX_USER_CONNECTIONS.
     */
    void learned(Resolution r, String secret) {
        UserConfig u = r.credentials().user;
        for (BackendPools p : allPools) {
            p.learnedAccount(r.name(), secret, u.poolMax().orElse(defaultPoolMax), r.row().maxUserConnections, u.priority());
        }
    }

    /** The server refused a backend login of {@code backendUser}: its cached account is read again at the next login. */
    private void loginRefused(String backendUser) {
        if (cache.remove(backendUser) != null) {
            invalidations.incrementAndGet();
            log.info("server account '{}': the server refused a login with what Sluice learned; reading it again at the "
                    + "next login", backendUser);
        }
    }

    private Future<Account> account(String name, EventLoop loop, boolean refresh) {
        long now = System.nanoTime();
        Account cached = cache.get(name);
        if (cached != null && cached.fresh(now) && !refresh) {
            return loop.newSucceededFuture(cached);
        }
        Promise<Account> running = inFlight.get(name);
        if (running != null) {
            return running;
        }
        if (!takeToken(now)) {
            rateLimited.incrementAndGet();
            return loop.newFailedFuture(new SluiceException(SluiceError.ACCOUNT_LOOKUP, "Sluice: too many logins of accounts "
                    + "not yet known to Sluice (sluice.auth.max-lookups-per-second = " + config.maxLookupsPerSecond()
                    + "); try again in a moment"));
        }
        Promise<Account> promise = loop.newPromise();
        Promise<Account> other = inFlight.putIfAbsent(name, promise);
        if (other != null) {
            return other;
        }
        promise.addListener(f -> inFlight.remove(name, promise));
        lookups.incrementAndGet();
        BackendPools lookupPools = allPools.get(lookupServer.getAsInt());
        BackendKey key = new BackendKey(lookupUser, 0, lookupPools.connector().serverInfo().collation(), false);
        lookupPools.acquire(key, loop).addListener(f -> {
            if (!f.isSuccess()) {
                lookupFailed(name, promise, f.cause());
                return;
            }
            BackendConnection c = (BackendConnection) f.getNow();
            boolean mariadb = lookupPools.connector().serverInfo().version().contains("MariaDB");
            c.execute(Packets.query(c.channel().alloc(), AccountRows.query(name, mariadb)), CommandType.COM_QUERY,
                    lookupPools.config().validationTimeout().plusSeconds(3)).addListener(q -> {
                BackendConnection.Reply reply = q.isSuccess() ? (BackendConnection.Reply) q.getNow() : null;
                lookupPools.release(c, reply == null ? BackendPools.Release.DISCARD : BackendPools.Release.CLEAN);
                if (reply == null || !reply.ok() || reply.firstRow() == null) {
                    lookupFailed(name, promise, reply == null ? q.cause() : new IllegalStateException(
                            reply.ok() ? "no row" : String.valueOf(reply.error())));
                    return;
                }
                Account a;
                try {
                    a = parse(name, reply.firstRow(), mariadb);
                } catch (RuntimeException e) {
                    lookupFailed(name, promise, e);
                    return;
                }
                Account previous = cache.get(name);
                if (previous != null) {
                    a.keepLearned(previous);
                }
                Duration ttl = a.rows.isEmpty() ? config.negativeCacheTtl() : config.cacheTtl();
                if (!ttl.isZero()) {
                    cache.put(name, a);
                    bound();
                }
                if (!a.rows.isEmpty()) {
                    log.debug("server account '{}' read: {} host(s)", name, a.rows.size());
                }
                promise.trySuccess(a);
            });
        });
        return promise;
    }

    private void lookupFailed(String name, Promise<Account> promise, Throwable cause) {
        lookupFailures.incrementAndGet();
        if (cause instanceof SluiceException se) {
            // The lookup pool's queue (9401 after acquire-timeout, 9402, 9404): the client reads why.
            promise.tryFailure(new SluiceException(se.error(), se.getMessage() + " (while Sluice looked up the account on the server)"));
            return;
        }
        long last = failureLoggedNanos.get();
        long now = System.nanoTime();
        if (now - last > Duration.ofSeconds(10).toNanos() && failureLoggedNanos.compareAndSet(last, now)) {
            log.warn("server accounts: lookup through '{}' failed: {} (check GRANT SELECT ON mysql.global_priv, MariaDB, "
                    + "or ON mysql.user, MySQL)", lookupUser, cause.getMessage());
        }
        promise.tryFailure(new SluiceException(SluiceError.ACCOUNT_LOOKUP, "Sluice: cannot read the account '" + name
                + "' on the server now: " + cause.getMessage()));
    }

    private synchronized boolean takeToken(long now) {
        int rate = config.maxLookupsPerSecond();
        tokens = Math.min(rate, tokens + (now - tokensAtNanos) * rate / 1e9);
        tokensAtNanos = now;
        if (tokens < 1) {
            return false;
        }
        tokens -= 1;
        return true;
    }

    /** Keeps the cache within max-cached-accounts: expired entries go first, then those closest to expiry. */
    private void bound() {
        int max = config.maxCachedAccounts();
        if (cache.size() <= max) {
            return;
        }
        long now = System.nanoTime();
        cache.values().removeIf(a -> !a.fresh(now));
        while (cache.size() > max) {
            cache.values().stream().min(Comparator.comparingLong(a -> a.expiresAtNanos - now))
                    .ifPresent(a -> cache.remove(a.name, a));
        }
    }

    // ---- the query's row as an account ---------------------------------------------------------

    private Account parse(String name, List<String> row, boolean mariadb) {
        boolean known = row.size() > 2 && row.get(2) != null && !row.get(2).isEmpty();
        return AccountRows.parseRow(name, row, mariadb, (known ? config.cacheTtl() : config.negativeCacheTtl()).toNanos());
    }

    // ---- for /stats ----------------------------------------------------------------------------------

    /** Accounts learned from the server and cached now, by name: one entry per host, most specific first; never a hash. */
    public List<View> learnedAccounts() {
        List<View> out = new ArrayList<>();
        long now = System.nanoTime();
        for (Account a : new java.util.TreeMap<>(cache).values()) {
            if (!a.fresh(now)) {
                continue;
            }
            Instant learned = Instant.ofEpochMilli(a.learnedAtMillis);
            Instant expires = learned.plusNanos(a.expiresAtNanos - a.learnedAtNanos);
            for (Row r : a.rows) {
                out.add(new View(a.name, r.host, r.plugin, r.locked, r.expired, r.maxUserConnections, learned, expires));
            }
        }
        return out;
    }

    /** Names cached as unknown (no such account) now. */
    public long unknownCached() {
        long now = System.nanoTime();
        return cache.values().stream().filter(a -> a.rows.isEmpty() && a.fresh(now)).count();
    }

    public long lookups() {
        return lookups.get();
    }

    public long lookupFailures() {
        return lookupFailures.get();
    }

    public long rateLimited() {
        return rateLimited.get();
    }

    /** Cached accounts dropped because the server refused a backend login with what Sluice had learned. */
    public long invalidations() {
        return invalidations.get();
    }

    public String lookupUser() {
        return lookupUser;
    }
}
