package io.sluice.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The one place that validates: schema check against reference.conf, unknown keys, every key read
 * eagerly, then cross-field rules. Each reader reports into {@link Problems} and returns null on a bad
 * value so reading goes on and every problem is found in one pass; records are built only when there
 * was none. Nothing is repaired: a bad value is an error, never a warning and a default.
 */
final class ConfigReader {

    static final List<String> PASSWORD_KEYS = List.of("password", "password-env", "password-file", "password-hash");
    static final List<String> BACKEND_PASSWORD_KEYS =
            List.of("backend-password", "backend-password-env", "backend-password-file");
    static final List<String> TOKEN_KEYS = List.of("token", "token-env");
    /** Every key a {@code sluice.users.<name>} entry may have (reference.conf cannot list them). */
    static final List<String> USER_KEYS;

    static {
        List<String> keys = new ArrayList<>(PASSWORD_KEYS);
        keys.addAll(BACKEND_PASSWORD_KEYS);
        keys.addAll(List.of("backend-user", "pool-mode", "pool-max", "priority", "read-write-split", "replicas-only"));
        USER_KEYS = List.copyOf(keys);
    }

    private static final Pattern NATIVE_HASH = Pattern.compile("\\*[0-9A-Fa-f]{40}");
    private static final String SHA2_PREFIX = "$A$005$";
    /** "$A$005$" + 20 salt characters + 43 characters of crypt-base64 SHA-256, as in mysql.user. */
    private static final int SHA2_HASH_LENGTH = 70;
    private static final Pattern CRYPT_BASE64 = Pattern.compile("[./0-9A-Za-z]{43}");
    private static final Set<String> WILDCARD_HOSTS = Set.of("0.0.0.0", "::", "[::]", "*");

    private final Config config;
    private final Config reference;
    private final Map<String, String> env;
    private final Problems problems;

    /**
     * @param config    resolved, with reference.conf as fallback, holding only the {@code sluice} tree
     * @param reference reference.conf alone
     * @param env       where password-env, backend-password-env and token-env are looked up
     */
    ConfigReader(Config config, Config reference, Map<String, String> env, Problems problems) {
        this.config = config;
        this.reference = reference;
        this.env = env;
        this.problems = problems;
        problems.lookIn(config);
    }

    /** Returns the records, or null when {@link Problems} holds at least one problem (from here or earlier). */
    SluiceConfig read() {
        checkSchema();
        checkUnknownKeys(config.root(), reference.root(), List.of());

        ListenConfig listen = readListen();
        ServerConfig server = readServer();
        FrontendConfig frontend = readFrontend();
        PoolConfig pool = readPool();
        AuthConfig auth = readAuth(pool);
        Map<String, UserConfig> users = readUsers(pool, auth);
        AdminConfig admin = readAdmin(listen);
        ClusterConfig cluster = readCluster(server, users);
        DigestsConfig digests = readDigests();

        if (!problems.isEmpty()) {
            return null;
        }
        return new SluiceConfig(listen, server, frontend, pool, users, admin, cluster, digests, auth);
    }

    // ---- schema --------------------------------------------------------------------------------

    /** Type and presence check of every reference key; typesafe-config's texts are replaced by ours. */
    private void checkSchema() {
        try {
            config.checkValid(reference, "sluice");
        } catch (com.typesafe.config.ConfigException.ValidationFailed e) {
            for (com.typesafe.config.ConfigException.ValidationProblem problem : e.problems()) {
                String path = problem.path();
                if (path.equals(SERVERS)) {
                    continue; // a list or a comma-separated string: readServers says what is wrong
                }
                if (!problems.covers(path)) {
                    problems.addShape(path, "must be " + expected(path));
                }
            }
        }
    }

    private String expected(String path) {
        if (!reference.hasPath(path)) {
            return "set";
        }
        ConfigValue ref = reference.getValue(path);
        switch (ref.valueType()) {
            case OBJECT:
                Set<String> keys = ((ConfigObject) ref).keySet();
                return keys.isEmpty() ? "an object" : "an object with keys " + String.join(", ", new TreeSet<>(keys));
            case LIST:
                return "a list";
            case NUMBER:
                return "a whole number"; // every number in reference.conf is a count or a port
            case BOOLEAN:
                return "true or false";
            default:
                return "a string";
        }
    }

    /**
     * typesafe-config's checkValid ignores keys the reference lacks, so a misspelt key would silently
     * leave its default in force. Walk the tree and refuse every key reference.conf does not have.
     */
    private void checkUnknownKeys(ConfigObject actual, ConfigObject ref, List<String> at) {
        for (String key : new TreeSet<>(actual.keySet())) {
            List<String> elements = append(at, key);
            String path = ConfigUtil.joinPath(elements);
            ConfigValue value = actual.get(key);
            ConfigValue refValue = ref.get(key);
            if (path.equals("sluice.users")) {
                if (value instanceof ConfigObject) {
                    checkUserKeys((ConfigObject) value);
                }
            } else if (refValue == null) {
                problems.add(path, unknownKey(key, ref.keySet()), clauseForUnknown(key, value));
            } else if (refValue instanceof ConfigObject && value instanceof ConfigObject) {
                checkUnknownKeys((ConfigObject) value, (ConfigObject) refValue, elements);
            }
        }
    }

    private void checkUserKeys(ConfigObject users) {
        for (String name : new TreeSet<>(users.keySet())) {
            ConfigValue entry = users.get(name);
            if (!(entry instanceof ConfigObject)) {
                continue; // reported by readUsers
            }
            for (String key : new TreeSet<>(((ConfigObject) entry).keySet())) {
                if (!USER_KEYS.contains(key)) {
                    // a misspelt "pasword" holds a password: never show what is under a user
                    problems.add(ConfigUtil.joinPath("sluice", "users", name, key),
                            unknownKey(key, USER_KEYS), "value hidden");
                }
            }
        }
    }

    private static String unknownKey(String key, Collection<String> known) {
        if (known.isEmpty()) {
            return "unknown key";
        }
        String closest = null;
        int best = Integer.MAX_VALUE;
        for (String candidate : new TreeSet<>(known)) {
            int distance = editDistance(key, candidate);
            if (distance < best) {
                best = distance;
                closest = candidate;
            }
        }
        if (best <= 2) {
            return "unknown key; did you mean " + closest + "?";
        }
        return "unknown key; known keys here: " + String.join(", ", new TreeSet<>(known));
    }

    private String clauseForUnknown(String key, ConfigValue value) {
        String lower = key.toLowerCase(Locale.ROOT);
        boolean secretLooking = Problems.isSecretKey(key) || lower.contains("pass") || lower.contains("pwd")
                || lower.contains("token") || lower.contains("secret") || lower.contains("hash");
        if (secretLooking || value instanceof ConfigObject) {
            return "value hidden";
        }
        return "got " + value.render(ConfigRenderOptions.concise());
    }

    // ---- sections ------------------------------------------------------------------------------

    private ListenConfig readListen() {
        String host = host("sluice.listen.host");
        Integer port = integer("sluice.listen.port", 0, 65535);
        Integer ioThreads = integer("sluice.listen.io-threads", 0, Integer.MAX_VALUE);
        ListenConfig.Transport transport = enumValue("sluice.listen.transport", ListenConfig.Transport.class);
        ListenConfig.BusyPoll busyPoll = busyPoll("sluice.listen.busy-poll");
        return allSet(host, port, ioThreads, transport, busyPoll) ? new ListenConfig(host, port, ioThreads, transport, busyPoll) : null;
    }

    private ListenConfig.BusyPoll busyPoll(String path) {
        if (problems.covers(path)) {
            return null;
        }
        if (config.getValue(path).valueType() == ConfigValueType.STRING) {
            String word = config.getString(path).trim().toLowerCase(Locale.ROOT);
            if (word.equals("auto")) {
                return ListenConfig.BusyPoll.AUTO;
            }
            if (word.equals("off")) {
                return ListenConfig.BusyPoll.OFF;
            }
        }
        Duration budget = duration(path, true, "must be auto, off or a duration such as 50us");
        if (budget == null) {
            return null;
        }
        if (budget.compareTo(ListenConfig.BusyPoll.MAX) > 0) {
            problems.add(path, "must be at most " + ConfigRenderer.duration(ListenConfig.BusyPoll.MAX)
                    + " (got " + ConfigRenderer.duration(budget) + "); a few tens of microseconds covers a query's round trip");
            return null;
        }
        return ListenConfig.BusyPoll.always(budget);
    }

    private ServerConfig readServer() {
        String host = host("sluice.server.host");
        Integer port = integer("sluice.server.port", 1, 65535);
        Duration connectTimeout = duration("sluice.server.connect-timeout", false);
        BackendTlsConfig.Mode mode = enumValue("sluice.server.tls.mode", BackendTlsConfig.Mode.class);
        Optional<Path> caFile = path("sluice.server.tls.ca-file");
        if (mode == BackendTlsConfig.Mode.VERIFY_CA && caFile != null) {
            if (caFile.isEmpty()) {
                problems.add("sluice.server.tls.ca-file", "required when sluice.server.tls.mode = verify-ca");
            } else {
                readableFile("sluice.server.tls.ca-file", caFile.get());
            }
        }
        Integer headroom = integer("sluice.server.headroom", 0, 100_000);
        Integer fleetSize = integer("sluice.server.fleet-size", 1, 100_000);
        Boolean adaptive = bool("sluice.server.adaptive");
        Duration limitsRefresh = duration("sluice.server.limits-refresh", false);
        Optional<Path> socket = path("sluice.server.socket");
        if (socket != null && socket.isPresent() && !socket.get().isAbsolute()) {
            problems.add("sluice.server.socket", "must be an absolute path to the server's Unix socket, such as "
                    + "/run/mysqld/mysqld.sock, or empty for TCP to host:port");
            socket = null;
        }
        if (!allSet(host, port, connectTimeout, mode, caFile, headroom, fleetSize, adaptive, socket, limitsRefresh)) {
            return null;
        }
        return new ServerConfig(host, port, connectTimeout, new BackendTlsConfig(mode, caFile), headroom, fleetSize, adaptive,
                socket, limitsRefresh);
    }

    static final String SERVERS = "sluice.servers";

    /** {@code sluice.servers} and {@code sluice.cluster}; without servers, the one of {@code sluice.server}. */
    private ClusterConfig readCluster(ServerConfig server, Map<String, UserConfig> users) {
        Duration poll = duration("sluice.cluster.poll-interval", false);
        if (poll != null && poll.compareTo(Duration.ofSeconds(1)) > 0) {
            problems.add("sluice.cluster.poll-interval", "must be at most 1s, so a switchover or a lagging replica is seen "
                    + "within a second");
            poll = null;
        }
        Duration maxLag = duration("sluice.cluster.max-replica-lag", false);
        ClusterConfig.ReadYourWrites ryw = enumValue("sluice.cluster.read-your-writes", ClusterConfig.ReadYourWrites.class);
        Duration rywWait = duration("sluice.cluster.read-your-writes-wait", true);
        ClusterConfig.NoReplica noReplica = enumValue("sluice.cluster.reads-without-replica", ClusterConfig.NoReplica.class);
        String monitor = string("sluice.cluster.monitor-user");
        if (monitor != null && !monitor.isBlank() && users != null && !users.containsKey(monitor.trim())) {
            problems.add("sluice.cluster.monitor-user", "must name a user of sluice.users (" + String.join(", ", users.keySet())
                    + "), whose server account then polls the servers");
            monitor = null;
        }
        List<ClusterConfig.Member> members = readServers();
        if (members != null && members.isEmpty() && server != null) {
            members = ClusterConfig.single(server).servers();
        } else if (members != null && !members.isEmpty()) {
            for (String key : List.of("host", "port", "socket")) {
                if (userSet("sluice.server." + key)) {
                    problems.add("sluice.server." + key, "cannot be set together with sluice.servers, which names every "
                            + "server; put this server in that list");
                    members = null;
                    break;
                }
            }
        }
        if (!allSet(poll, maxLag, ryw, rywWait, noReplica, monitor, members) || members.isEmpty()) {
            return null;
        }
        return new ClusterConfig(members, poll, maxLag, ryw, rywWait, noReplica,
                monitor.isBlank() ? Optional.empty() : Optional.of(monitor.trim()));
    }

    /** Set by the user (file, environment, flag), not a reference.conf default. */
    private boolean userSet(String path) {
        try {
            return config.hasPath(path) && config.getValue(path).origin().resource() == null;
        } catch (com.typesafe.config.ConfigException e) {
            return false;
        }
    }

    /** The entries of {@code sluice.servers}: a list, or a comma-separated string (flags, SLUICE_SERVERS); null after reporting. */
    private List<ClusterConfig.Member> readServers() {
        if (!config.hasPath(SERVERS)) {
            return List.of();
        }
        ConfigValue value = config.getValue(SERVERS);
        List<ConfigValue> entries = new ArrayList<>();
        if (value.valueType() == ConfigValueType.LIST) {
            entries.addAll((com.typesafe.config.ConfigList) value);
        } else if (value.valueType() == ConfigValueType.STRING) {
            for (String part : ((String) value.unwrapped()).split(",")) {
                if (!part.isBlank()) {
                    entries.add(com.typesafe.config.ConfigValueFactory.fromAnyRef(part.trim(), value.origin().description()));
                }
            }
        } else {
            problems.add(SERVERS, "must be a list of servers, e.g. [\"db1:3306\", \"db2:3306\"]");
            return null;
        }
        List<ClusterConfig.Member> members = new ArrayList<>();
        boolean ok = true;
        for (int i = 0; i < entries.size(); i++) {
            ClusterConfig.Member m = member(SERVERS + "[" + i + "]", entries.get(i));
            ok &= m != null;
            if (m != null) {
                for (ClusterConfig.Member other : members) {
                    if (other.address().equals(m.address())) {
                        problems.add(SERVERS, "names " + m.address() + " twice");
                        ok = false;
                    }
                }
                members.add(m);
            }
        }
        return ok ? members : null;
    }

    private static final Set<String> MEMBER_KEYS = Set.of("host", "port", "socket", "weight", "role");

    /** One entry: "host[:port]", "/socket", or an object; null after reporting. */
    private ClusterConfig.Member member(String at, ConfigValue entry) {
        if (entry.valueType() == ConfigValueType.STRING) {
            String text = ((String) entry.unwrapped()).trim();
            if (text.startsWith("/")) {
                return new ClusterConfig.Member("localhost", 3306, Optional.of(Path.of(text)), 1, ClusterConfig.Role.AUTO);
            }
            int colon = text.lastIndexOf(':');
            String host = colon < 0 ? text : text.substring(0, colon);
            Integer port = 3306;
            if (colon >= 0) {
                try {
                    port = Integer.parseInt(text.substring(colon + 1));
                } catch (NumberFormatException e) {
                    port = null;
                }
            }
            if (host.isBlank() || port == null || port < 1 || port > 65535) {
                entryProblem(at, "must be \"host:port\" (port 1..65535), \"/path/to/socket\" or an object with keys "
                        + String.join(", ", new TreeSet<>(MEMBER_KEYS)), entry);
                return null;
            }
            return new ClusterConfig.Member(host, port, Optional.empty(), 1, ClusterConfig.Role.AUTO);
        }
        if (entry.valueType() != ConfigValueType.OBJECT) {
            entryProblem(at, "must be \"host:port\", \"/path/to/socket\" or an object with keys "
                    + String.join(", ", new TreeSet<>(MEMBER_KEYS)), entry);
            return null;
        }
        Config c = ((ConfigObject) entry).toConfig();
        for (String key : new TreeSet<>(((ConfigObject) entry).keySet())) {
            if (!MEMBER_KEYS.contains(key)) {
                entryProblem(at + "." + key, unknownKey(key, new TreeSet<>(MEMBER_KEYS)), entry);
                return null;
            }
        }
        try {
            String host = c.hasPath("host") ? c.getString("host").trim() : "localhost";
            int port = c.hasPath("port") ? c.getInt("port") : 3306;
            int weight = c.hasPath("weight") ? c.getInt("weight") : 1;
            Optional<Path> socket = c.hasPath("socket") && !c.getString("socket").isBlank()
                    ? Optional.of(Path.of(c.getString("socket"))) : Optional.empty();
            ClusterConfig.Role role = ClusterConfig.Role.AUTO;
            if (c.hasPath("role")) {
                String r = c.getString("role").trim().toUpperCase(Locale.ROOT);
                try {
                    role = ClusterConfig.Role.valueOf(r);
                } catch (IllegalArgumentException e) {
                    entryProblem(at + ".role", "must be one of auto, primary, replica", entry);
                    return null;
                }
            }
            if (host.isEmpty() || port < 1 || port > 65535 || weight < 1 || weight > 1000
                    || socket.isPresent() && !socket.get().isAbsolute()) {
                entryProblem(at, "needs a host, a port 1..65535, a weight 1..1000 and an absolute socket path when one is given", entry);
                return null;
            }
            if (!c.hasPath("host") && socket.isEmpty()) {
                entryProblem(at, "needs a host or a socket", entry);
                return null;
            }
            return new ClusterConfig.Member(host, port, socket, weight, role);
        } catch (com.typesafe.config.ConfigException | InvalidPathException e) {
            entryProblem(at, "host, socket and role must be strings, port and weight whole numbers", entry);
            return null;
        }
    }

    /** A problem with one entry of the servers list, which has no config path of its own ({@code sluice.servers[1]}). */
    private void entryProblem(String at, String what, ConfigValue entry) {
        String line = entry.origin().lineNumber() > 0 && entry.origin().resource() == null
                ? " [line " + entry.origin().lineNumber() + "]" : "";
        problems.addRaw(at + ": " + what + " (got " + entry.render(com.typesafe.config.ConfigRenderOptions.concise()) + ")" + line);
    }

    private FrontendConfig readFrontend() {
        Integer maxClients = integer("sluice.frontend.max-clients", 1, Integer.MAX_VALUE);
        Duration authTimeout = duration("sluice.frontend.auth-timeout", false);
        Duration idleTimeout = duration("sluice.frontend.idle-timeout", true);
        Integer low = bytes("sluice.frontend.write-buffer-low");
        Integer high = bytes("sluice.frontend.write-buffer-high");
        if (low != null && high != null && low >= high) {
            problems.add("sluice.frontend.write-buffer-low",
                    "must be less than sluice.frontend.write-buffer-high (" + high + " bytes)");
        }

        Boolean tlsEnabled = bool("sluice.frontend.tls.enabled");
        Optional<Path> certFile = path("sluice.frontend.tls.cert-file");
        Optional<Path> keyFile = path("sluice.frontend.tls.key-file");
        Boolean tlsRequired = bool("sluice.frontend.tls.required");
        if (Boolean.TRUE.equals(tlsEnabled)) {
            requiredFile("sluice.frontend.tls.cert-file", certFile, "sluice.frontend.tls.enabled = true");
            requiredFile("sluice.frontend.tls.key-file", keyFile, "sluice.frontend.tls.enabled = true");
        }
        if (Boolean.TRUE.equals(tlsRequired) && Boolean.FALSE.equals(tlsEnabled)) {
            problems.add("sluice.frontend.tls.required", "needs sluice.frontend.tls.enabled = true");
        }

        Optional<Path> privateKey = path("sluice.frontend.rsa.private-key-file");
        Optional<Path> publicKey = path("sluice.frontend.rsa.public-key-file");
        if (privateKey != null && publicKey != null) {
            if (privateKey.isPresent() || publicKey.isPresent()) {
                requiredFile("sluice.frontend.rsa.private-key-file", privateKey,
                        "sluice.frontend.rsa.public-key-file is set (give both or neither)");
                requiredFile("sluice.frontend.rsa.public-key-file", publicKey,
                        "sluice.frontend.rsa.private-key-file is set (give both or neither)");
            }
        }
        String serverVersion = string("sluice.frontend.server-version");
        Duration drainTimeout = duration("sluice.frontend.drain-timeout", true);
        Duration leakWarningAfter = duration("sluice.frontend.leak-warning-after", true);
        Duration idleInTransactionTimeout = duration("sluice.frontend.idle-in-transaction-timeout", true);
        Duration maxQueryTime = duration("sluice.frontend.max-query-time", true);
        Duration maxTransactionTime = duration("sluice.frontend.max-transaction-time", true);
        if (leakWarningAfter != null && idleInTransactionTimeout != null && !leakWarningAfter.isZero()
                && !idleInTransactionTimeout.isZero() && idleInTransactionTimeout.compareTo(leakWarningAfter) <= 0) {
            // Closing first would make the warning unreachable: the session is gone before it is reported.
            problems.add("sluice.frontend.idle-in-transaction-timeout",
                    "must be greater than sluice.frontend.leak-warning-after (" + ConfigRenderer.duration(leakWarningAfter)
                            + ") when both are set; 0s turns either off");
        }
        Integer perUser = integer("sluice.frontend.max-clients-per-user", 0, Integer.MAX_VALUE);
        Integer perHost = integer("sluice.frontend.max-clients-per-host", 0, Integer.MAX_VALUE);
        if (!allSet(maxClients, authTimeout, idleTimeout, low, high, tlsEnabled, certFile, keyFile, tlsRequired,
                privateKey, publicKey, serverVersion, drainTimeout, leakWarningAfter, idleInTransactionTimeout, perUser, perHost,
                maxQueryTime, maxTransactionTime)) {
            return null;
        }
        return new FrontendConfig(maxClients, authTimeout, idleTimeout, low, high,
                new FrontendTlsConfig(tlsEnabled, certFile, keyFile, tlsRequired),
                new RsaKeyConfig(privateKey, publicKey),
                serverVersion.isBlank() ? Optional.empty() : Optional.of(serverVersion.trim()),
                drainTimeout, leakWarningAfter, idleInTransactionTimeout, perUser, perHost, maxQueryTime, maxTransactionTime);
    }

    private PoolConfig readPool() {
        PoolMode mode = enumValue("sluice.pool.mode", PoolMode.class);
        Integer maxPerUser = integer("sluice.pool.max-per-user", 1, Integer.MAX_VALUE);
        Integer minIdle = integer("sluice.pool.min-idle", 0, Integer.MAX_VALUE);
        Integer globalMax = integer("sluice.pool.global-max", 1, Integer.MAX_VALUE);
        Duration idleTimeout = duration("sluice.pool.idle-timeout", false);
        Duration maxLifetime = duration("sluice.pool.max-lifetime", false);
        Duration validateAfterIdle = duration("sluice.pool.validate-after-idle", true);
        Duration validationTimeout = duration("sluice.pool.validation-timeout", false);
        Duration acquireTimeout = duration("sluice.pool.acquire-timeout", false);
        Duration resetTimeout = duration("sluice.pool.reset-timeout", false);
        Integer maxWaiters = integer("sluice.pool.max-waiters", 0, Integer.MAX_VALUE);
        Integer statementCache = integer("sluice.pool.statement-cache", 1, 65535);
        Integer maxClientStatements = integer("sluice.pool.max-client-statements", 1, 1_000_000);
        Integer reserve = integer("sluice.pool.reserve", 0, Integer.MAX_VALUE);
        if (reserve != null && globalMax != null && reserve >= globalMax) {
            problems.add("sluice.pool.reserve", "must be less than sluice.pool.global-max (" + globalMax + "): everyone else needs room too");
            reserve = null;
        }

        if (minIdle != null && maxPerUser != null && minIdle > maxPerUser) {
            problems.add("sluice.pool.min-idle", "must not exceed sluice.pool.max-per-user (" + maxPerUser + ")");
        }
        if (maxPerUser != null && globalMax != null && maxPerUser > globalMax) {
            problems.add("sluice.pool.max-per-user", "must not exceed sluice.pool.global-max (" + globalMax + ")");
        }
        if (idleTimeout != null && maxLifetime != null && idleTimeout.compareTo(maxLifetime) >= 0) {
            problems.add("sluice.pool.idle-timeout",
                    "must be less than sluice.pool.max-lifetime (" + ConfigRenderer.duration(maxLifetime) + ")");
        }
        if (!allSet(mode, maxPerUser, minIdle, globalMax, idleTimeout, maxLifetime, validateAfterIdle,
                validationTimeout, acquireTimeout, maxWaiters, statementCache, maxClientStatements, reserve, resetTimeout)) {
            return null;
        }
        // Values from reference.conf carry its resource as origin; a file, env var or override does not.
        boolean globalMaxSet = config.getValue("sluice.pool.global-max").origin().resource() == null;
        return new PoolConfig(mode, maxPerUser, minIdle, globalMax, idleTimeout, maxLifetime, validateAfterIdle,
                validationTimeout, acquireTimeout, maxWaiters, statementCache, maxClientStatements, reserve, resetTimeout, globalMaxSet);
    }

    private AdminConfig readAdmin(ListenConfig listen) {
        Boolean enabled = bool("sluice.admin.enabled");
        String host = host("sluice.admin.host");
        Integer port = integer("sluice.admin.port", 0, 65535);
        String token = string("sluice.admin.token");
        String tokenEnv = string("sluice.admin.token-env");
        Boolean allowNoToken = bool("sluice.admin.allow-no-token");
        Optional<String> resolvedToken = null; // null: not known yet, or bad
        if (token != null && tokenEnv != null) {
            if (!token.isEmpty() && !tokenEnv.isEmpty()) {
                problems.add("sluice.admin.token-env", "set only one of sluice.admin.token and sluice.admin.token-env");
            } else if (!tokenEnv.isEmpty()) {
                String fromEnv = fromEnv("sluice.admin.token-env", tokenEnv);
                resolvedToken = fromEnv == null ? null : Optional.of(fromEnv);
            } else {
                resolvedToken = token.isEmpty() ? Optional.empty() : Optional.of(token);
            }
        }
        if (Boolean.TRUE.equals(enabled) && listen != null && port != null && host != null
                && port != 0 && port == listen.port() && sameInterface(host, listen.host())) {
            problems.add("sluice.admin.port", "must differ from sluice.listen.port on the same address");
        }
        if (Boolean.TRUE.equals(enabled) && host != null && resolvedToken != null && resolvedToken.isEmpty()
                && Boolean.FALSE.equals(allowNoToken) && !isLoopbackLiteral(host)) {
            problems.add("sluice.admin.token", "must be set when sluice.admin.host (" + host + ") is beyond loopback: anyone "
                    + "who can reach the port could read sessions, pause Sluice and kill sessions; set a token (or token-env), "
                    + "bind to 127.0.0.1, or set sluice.admin.allow-no-token = true to accept that");
        }
        if (!allSet(enabled, host, port, resolvedToken, allowNoToken)) {
            return null;
        }
        return new AdminConfig(enabled, host, port, resolvedToken, allowNoToken);
    }

    private DigestsConfig readDigests() {
        Boolean enabled = bool("sluice.digests.enabled");
        Integer maxDigests = integer("sluice.digests.max-digests", 1, 1_000_000);
        Integer maxTextLength = integer("sluice.digests.max-text-length", 64, 65536);
        if (!allSet(enabled, maxDigests, maxTextLength)) {
            return null;
        }
        return new DigestsConfig(enabled, maxDigests, maxTextLength);
    }

    /** localhost, an IPv4 literal in 127.0.0.0/8 or ::1; a name is not resolved here, so any other counts as beyond loopback. */
    private static boolean isLoopbackLiteral(String host) {
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        return h.equalsIgnoreCase("localhost") || h.equals("::1") || h.matches("127(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
    }

    private static boolean sameInterface(String a, String b) {
        return a.equalsIgnoreCase(b) || WILDCARD_HOSTS.contains(a) || WILDCARD_HOSTS.contains(b);
    }

    // ---- users ---------------------------------------------------------------------------------

    static final List<String> LOOKUP_PASSWORD_KEYS = List.of("lookup-password", "lookup-password-env", "lookup-password-file");

    /** {@code sluice.auth}; null after reporting. */
    private AuthConfig readAuth(PoolConfig pool) {
        AuthConfig.Source source = enumValue("sluice.auth.source", AuthConfig.Source.class);
        String lookupUser = string("sluice.auth.lookup-user");
        Integer lookupPoolMax = integer("sluice.auth.lookup-pool-max", 1, Integer.MAX_VALUE);
        if (lookupPoolMax != null && pool != null && lookupPoolMax > pool.globalMax()) {
            problems.add("sluice.auth.lookup-pool-max", "must be between 1 and sluice.pool.global-max (" + pool.globalMax() + ")");
            lookupPoolMax = null;
        }
        Duration ttl = duration("sluice.auth.cache-ttl", false);
        Duration negativeTtl = duration("sluice.auth.negative-cache-ttl", true);
        Integer rate = integer("sluice.auth.max-lookups-per-second", 1, 100_000);
        Integer cached = integer("sluice.auth.max-cached-accounts", 1, 1_000_000);
        List<String> given = LOOKUP_PASSWORD_KEYS.stream()
                .filter(k -> config.hasPath(key("sluice.auth", k)) && !"".equals(string(key("sluice.auth", k))))
                .collect(Collectors.toList());
        String lookupPassword = null;
        boolean ok = true;
        if (source == AuthConfig.Source.SERVER) {
            if (lookupUser != null && lookupUser.isBlank()) {
                problems.add("sluice.auth.lookup-user", "is required with sluice.auth.source = server: the server account "
                        + "that reads the accounts (GRANT SELECT ON mysql.global_priv on MariaDB, ON mysql.user on MySQL)");
                ok = false;
            }
            if (given.size() != 1) {
                problems.add("sluice.auth", "needs exactly one of " + String.join(", ", LOOKUP_PASSWORD_KEYS)
                        + " with source = server", given.isEmpty() ? "got none" : "got " + String.join(", ", given));
                ok = false;
            } else if (given.get(0).equals("lookup-password")) {
                lookupPassword = string("sluice.auth.lookup-password");
            } else {
                lookupPassword = secret("sluice.auth", given.get(0));
                ok &= lookupPassword != null;
            }
        }
        if (!ok || !allSet(source, lookupUser, lookupPoolMax, ttl, negativeTtl, rate, cached)) {
            return null;
        }
        boolean server = source == AuthConfig.Source.SERVER;
        return new AuthConfig(source, server ? Optional.of(lookupUser.trim()) : Optional.empty(),
                server ? Optional.of(lookupPassword) : Optional.empty(), lookupPoolMax, ttl, negativeTtl, rate, cached);
    }

    /** Sorted by name: typesafe-config does not keep the order of keys in the file. */
    private Map<String, UserConfig> readUsers(PoolConfig pool, AuthConfig auth) {
        if (problems.covers("sluice.users") || !config.hasPath("sluice.users")) {
            return null;
        }
        ConfigObject users = config.getObject("sluice.users");
        boolean fromServer = auth != null && auth.fromServer();
        if (users.isEmpty() && !fromServer) {
            problems.add("sluice.users", "at least one user is required (or set sluice.auth.source = server to log "
                    + "clients in with the server's own accounts)", "got none");
            return null;
        }
        Map<String, UserConfig> result = new LinkedHashMap<>();
        boolean complete = true;
        for (String name : new TreeSet<>(users.keySet())) {
            UserConfig user = readUser(name, users.get(name), pool, fromServer);
            if (user == null) {
                complete = false;
            } else {
                result.put(name, user);
            }
        }
        return complete ? Collections.unmodifiableMap(result) : null;
    }

    private UserConfig readUser(String name, ConfigValue entry, PoolConfig pool, boolean fromServer) {
        String base = ConfigUtil.joinPath("sluice", "users", name);
        if (entry.valueType() != ConfigValueType.OBJECT) {
            problems.add(base, "must be an object with keys " + String.join(", ", USER_KEYS), "value hidden");
            return null;
        }
        if (name.isBlank()) {
            problems.add(base, "user name must not be empty", "value hidden");
            return null;
        }
        boolean ok = true;

        List<String> passwordKeys = present(base, PASSWORD_KEYS);
        Optional<String> password = Optional.empty();
        Optional<String> passwordHash = Optional.empty();
        boolean settingsOnly = fromServer && passwordKeys.isEmpty();
        if (settingsOnly) {
            for (String k : append(BACKEND_PASSWORD_KEYS, "backend-user")) {
                if (config.hasPath(key(base, k))) {
                    problems.add(key(base, k), "cannot be set on an entry without password: such an entry only holds "
                            + "pool settings (pool-mode, pool-max, priority) for the server account of that name");
                    ok = false;
                }
            }
        } else if (passwordKeys.size() != 1) {
            problems.add(base, "needs exactly one of " + String.join(", ", PASSWORD_KEYS)
                    + (fromServer ? " (or none, to only set pool options for the server account of that name)" : ""),
                    passwordKeys.isEmpty() ? "got none" : "got " + String.join(", ", passwordKeys));
            ok = false;
        } else if (passwordKeys.get(0).equals("password-hash")) {
            passwordHash = Optional.ofNullable(passwordHash(key(base, "password-hash")));
            ok = passwordHash.isPresent();
        } else {
            password = Optional.ofNullable(secret(base, passwordKeys.get(0)));
            ok = password.isPresent();
        }

        String backendUser = config.hasPath(key(base, "backend-user")) ? string(key(base, "backend-user")) : name;
        if (backendUser != null && backendUser.isBlank()) {
            problems.add(key(base, "backend-user"), "must not be empty");
            backendUser = null;
        }

        List<String> backendKeys = present(base, BACKEND_PASSWORD_KEYS);
        String backendPassword = null;
        if (settingsOnly) {
            backendPassword = "";
        } else if (backendKeys.size() > 1) {
            problems.add(base, "takes at most one of " + String.join(", ", BACKEND_PASSWORD_KEYS),
                    "got " + String.join(", ", backendKeys));
        } else if (backendKeys.size() == 1) {
            backendPassword = secret(base, backendKeys.get(0));
        } else if (password.isPresent()) {
            backendPassword = password.get();
        } else if (passwordHash.isPresent()) {
            problems.add(key(base, "backend-password"),
                    "required when the user has only password-hash: Sluice cannot log in to the server with a hash"
                            + " (or use backend-password-env or backend-password-file)");
        }

        Optional<PoolMode> poolMode = Optional.empty();
        if (config.hasPath(key(base, "pool-mode"))) {
            PoolMode mode = enumValue(key(base, "pool-mode"), PoolMode.class);
            ok &= mode != null;
            poolMode = Optional.ofNullable(mode);
        }
        OptionalInt poolMax = OptionalInt.empty();
        if (config.hasPath(key(base, "pool-max"))) {
            Integer max = integer(key(base, "pool-max"), 1, Integer.MAX_VALUE);
            if (max != null && pool != null && max > pool.globalMax()) {
                problems.add(key(base, "pool-max"), "must be between 1 and sluice.pool.global-max (" + pool.globalMax() + ")");
                max = null;
            }
            ok &= max != null;
            poolMax = max == null ? OptionalInt.empty() : OptionalInt.of(max);
        }
        boolean priority = false;
        if (config.hasPath(key(base, "priority"))) {
            Boolean b = bool(key(base, "priority"));
            ok &= b != null;
            priority = Boolean.TRUE.equals(b);
        }
        boolean readWriteSplit = true;
        if (config.hasPath(key(base, "read-write-split"))) {
            Boolean b = bool(key(base, "read-write-split"));
            ok &= b != null;
            readWriteSplit = !Boolean.FALSE.equals(b);
        }
        boolean replicasOnly = false;
        if (config.hasPath(key(base, "replicas-only"))) {
            Boolean b = bool(key(base, "replicas-only"));
            ok &= b != null;
            replicasOnly = Boolean.TRUE.equals(b);
        }
        if (replicasOnly && !readWriteSplit) {
            problems.add(key(base, "replicas-only"), "cannot be true with read-write-split = false "
                    + "(everything on the primary); drop one of the two");
            ok = false;
        }
        if (!ok || backendUser == null || backendPassword == null) {
            return null;
        }
        return new UserConfig(name, password, passwordHash, backendUser, backendPassword, poolMode, poolMax, priority,
                readWriteSplit, replicasOnly);
    }

    private List<String> present(String base, List<String> keys) {
        return keys.stream().filter(k -> config.hasPath(key(base, k))).collect(Collectors.toList());
    }

    /**
     * Reads a clear password given as {@code <prefix>} (inline), {@code <prefix>-env} or
     * {@code <prefix>-file}; null after reporting when it cannot be had. An inline password may be
     * empty (MySQL allows it); one from an env var or file may not, as that is almost always an
     * unset variable or a file not yet provisioned.
     */
    private String secret(String base, String key) {
        String path = key(base, key);
        if (key.endsWith("-env")) {
            String variable = string(path);
            return variable == null ? null : fromEnv(path, variable);
        }
        if (key.endsWith("-file")) {
            Optional<Path> file = path(path);
            if (file == null) {
                return null;
            }
            if (file.isEmpty()) {
                problems.add(path, "must name a file");
                return null;
            }
            return fromFile(path, file.get());
        }
        return string(path);
    }

    private String fromEnv(String path, String variable) {
        if (variable.isBlank()) {
            problems.add(path, "must name an environment variable");
            return null;
        }
        String value = env.get(variable);
        if (value == null) {
            problems.add(path, "environment variable " + variable + " is not set");
            return null;
        }
        if (value.isEmpty()) {
            problems.add(path, "environment variable " + variable + " is empty");
            return null;
        }
        return value;
    }

    private String fromFile(String path, Path file) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(Files.readAllBytes(file))).toString();
        } catch (NoSuchFileException e) {
            problems.add(path, "file does not exist");
            return null;
        } catch (CharacterCodingException e) {
            problems.add(path, "file is not UTF-8 text");
            return null;
        } catch (IOException | SecurityException e) {
            problems.add(path, "file cannot be read: " + e);
            return null;
        }
        int end = text.length();
        while (end > 0 && (text.charAt(end - 1) == '\n' || text.charAt(end - 1) == '\r')) {
            end--;
        }
        if (end == 0) {
            problems.add(path, "file is empty");
            return null;
        }
        return text.substring(0, end);
    }

    private String passwordHash(String path) {
        String hash = string(path);
        if (hash == null) {
            return null;
        }
        if (hash.startsWith(SHA2_PREFIX)) {
            if (hash.length() != SHA2_HASH_LENGTH) {
                problems.add(path, "a caching_sha2_password hash must be " + SHA2_HASH_LENGTH + " characters"
                        + " (\"$A$005$\", 20 of salt, 43 of hash), found " + hash.length());
                return null;
            }
            if (!CRYPT_BASE64.matcher(hash.substring(SHA2_HASH_LENGTH - 43)).matches()) {
                problems.add(path, "the last 43 characters of a caching_sha2_password hash must be [./0-9A-Za-z]");
                return null;
            }
            return hash;
        }
        if (NATIVE_HASH.matcher(hash).matches()) {
            return hash;
        }
        problems.add(path, "must be \"*\" + 40 hex digits (mysql_native_password)"
                + " or \"$A$005$\" + salt + hash, 70 characters (caching_sha2_password)");
        return null;
    }

    // ---- typed readers: each returns null after reporting -------------------------------------

    private Integer integer(String path, int min, int max) {
        if (problems.covers(path)) {
            return null;
        }
        Long value = null;
        try {
            Object raw = config.getValue(path).unwrapped();
            if (raw instanceof Integer || raw instanceof Long) {
                value = ((Number) raw).longValue();
            } else if (raw instanceof String) {
                value = Long.parseLong(((String) raw).trim());
            }
        } catch (com.typesafe.config.ConfigException | NumberFormatException e) {
            value = null;
        }
        if (value == null) {
            problems.add(path, "must be a whole number");
            return null;
        }
        if (value < min || value > max) {
            problems.add(path, max == Integer.MAX_VALUE ? "must be at least " + min
                    : "must be between " + min + " and " + max);
            return null;
        }
        return value.intValue();
    }

    private Duration duration(String path, boolean zeroAllowed) {
        return duration(path, zeroAllowed, "must be a duration such as 500ms, 5s or 10m");
    }

    /** {@code notADuration}: the problem reported when the value does not parse as one. */
    private Duration duration(String path, boolean zeroAllowed, String notADuration) {
        if (problems.covers(path)) {
            return null;
        }
        if (isBareNumber(path)) {
            // HOCON reads a number without a unit as milliseconds: "acquire-timeout = 5" would be 5 ms.
            problems.add(path, "needs a unit, e.g. 5s or 500ms; a bare number is ambiguous");
            return null;
        }
        Duration value;
        try {
            value = config.getDuration(path);
        } catch (com.typesafe.config.ConfigException e) {
            problems.add(path, notADuration);
            return null;
        }
        if (value.isNegative()) {
            problems.add(path, "must not be negative");
            return null;
        }
        if (value.isZero() && !zeroAllowed) {
            problems.add(path, "must be greater than 0s");
            return null;
        }
        return value;
    }

    /**
     * A number other than 0, or a string that is only one (flags and environment variables arrive as
     * strings); 0 means the same in every unit.
     */
    private boolean isBareNumber(String path) {
        try {
            Object raw = config.getValue(path).unwrapped();
            String text = raw instanceof Number || raw instanceof String ? raw.toString().trim() : "";
            return text.matches("[-+]?[0-9]+(\\.[0-9]*)?([eE][-+]?[0-9]+)?") && !text.matches("[-+]?0+(\\.0*)?");
        } catch (com.typesafe.config.ConfigException e) {
            return false;
        }
    }

    private Integer bytes(String path) {
        if (problems.covers(path)) {
            return null;
        }
        long value;
        try {
            value = config.getBytes(path);
        } catch (com.typesafe.config.ConfigException e) {
            problems.add(path, "must be a size such as 32KiB or 1MiB");
            return null;
        }
        if (value < 0 || value > Integer.MAX_VALUE) {
            problems.add(path, "must be between 0 and " + Integer.MAX_VALUE + " bytes");
            return null;
        }
        return (int) value;
    }

    private Boolean bool(String path) {
        if (problems.covers(path)) {
            return null;
        }
        try {
            return config.getBoolean(path);
        } catch (com.typesafe.config.ConfigException e) {
            problems.add(path, "must be true or false");
            return null;
        }
    }

    private String string(String path) {
        if (problems.covers(path)) {
            return null;
        }
        try {
            return config.getString(path);
        } catch (com.typesafe.config.ConfigException e) {
            problems.add(path, "must be a string");
            return null;
        }
    }

    private String host(String path) {
        String host = string(path);
        if (host != null && host.isBlank()) {
            problems.add(path, "must not be empty");
            return null;
        }
        return host == null ? null : host.trim();
    }

    /** Case-insensitive; "verify-ca" and "verify_ca" both name VERIFY_CA. */
    private <E extends Enum<E>> E enumValue(String path, Class<E> type) {
        String text = string(path);
        if (text == null) {
            return null;
        }
        String name = text.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (E constant : type.getEnumConstants()) {
            if (constant.name().equals(name)) {
                return constant;
            }
        }
        problems.add(path, "must be one of " + Arrays.stream(type.getEnumConstants())
                .map(ConfigRenderer::enumName).collect(Collectors.joining(", ")));
        return null;
    }

    /** "" means absent; relative paths stay relative to the working directory. */
    private Optional<Path> path(String path) {
        String text = string(path);
        if (text == null) {
            return null;
        }
        if (text.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(Path.of(text));
        } catch (InvalidPathException e) {
            problems.add(path, "is not a valid path: " + e.getReason());
            return null;
        }
    }

    private void requiredFile(String path, Optional<Path> file, String because) {
        if (file == null) {
            return; // already reported
        }
        if (file.isEmpty()) {
            problems.add(path, "required when " + because);
        } else {
            readableFile(path, file.get());
        }
    }

    private void readableFile(String path, Path file) {
        if (!Files.exists(file)) {
            problems.add(path, "file does not exist");
        } else if (!Files.isRegularFile(file)) {
            problems.add(path, "is not a regular file");
        } else if (!Files.isReadable(file)) {
            problems.add(path, "file is not readable");
        }
    }

    // ---- helpers -------------------------------------------------------------------------------

    private static String key(String base, String key) {
        return base + "." + ConfigUtil.joinPath(key);
    }

    private static boolean allSet(Object... values) {
        return Arrays.stream(values).allMatch(Objects::nonNull);
    }

    private static List<String> append(List<String> list, String element) {
        List<String> result = new ArrayList<>(list);
        result.add(element);
        return result;
    }

    private static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitute, Math.min(previous[j] + 1, current[j - 1] + 1));
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
