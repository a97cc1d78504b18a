package io.sluice.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValueFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Loads, validates and renders Sluice's configuration; the only class that reads typesafe-config or
 * the environment (and the latter only through the {@code env} map it is given).
 *
 * <p>Layers, highest first: command-line overrides, the {@link #ENV_TO_PATH} and
 * {@link #USER_ENV_TO_PATH} environment variables, the config file, {@code reference.conf}. Within
 * a user entry (and within {@code sluice.admin}), a layer that names a password source replaces the
 * lower layers' source rather than adding a second one: {@code SLUICE_PASSWORD} for a user whose
 * file entry has {@code password-hash} means "use this password", not "two passwords, error".
 * Likewise for the backend password and for {@code token}/{@code token-env}.
 *
 * <p>Stateless and thread-safe; every call reads its inputs afresh, so a reload is another call.
 */
public final class ConfigLoader {

    /**
     * The environment variables Sluice reads, each to the config path it sets; iteration order is
     * the order to list them in help text. Values are parsed like file values ("5s", "20").
     */
    public static final Map<String, String> ENV_TO_PATH = orderedMap(
            "SLUICE_LISTEN_HOST", "sluice.listen.host",
            "SLUICE_LISTEN_PORT", "sluice.listen.port",
            "SLUICE_SERVER_HOST", "sluice.server.host",
            "SLUICE_SERVER_PORT", "sluice.server.port",
            "SLUICE_SERVER_SOCKET", "sluice.server.socket",
            "SLUICE_SERVERS", "sluice.servers",
            "SLUICE_FLEET_SIZE", "sluice.server.fleet-size",
            "SLUICE_POOL_MODE", "sluice.pool.mode",
            "SLUICE_POOL_SIZE", "sluice.pool.max-per-user",
            "SLUICE_POOL_GLOBAL_MAX", "sluice.pool.global-max",
            "SLUICE_ACQUIRE_TIMEOUT", "sluice.pool.acquire-timeout",
            "SLUICE_ADMIN_HOST", "sluice.admin.host",
            "SLUICE_ADMIN_PORT", "sluice.admin.port",
            "SLUICE_ADMIN_TOKEN", "sluice.admin.token",
            "SLUICE_ADMIN_ALLOW_NO_TOKEN", "sluice.admin.allow-no-token",
            "SLUICE_MAX_CLIENTS", "sluice.frontend.max-clients");

    /**
     * The variables that define or replace one entry of {@code sluice.users}, for help text: each
     * value is a path template in which {@code <SLUICE_USER>} stands for that variable's value.
     * SLUICE_PASSWORD, SLUICE_BACKEND_USER and SLUICE_BACKEND_PASSWORD need SLUICE_USER.
     */
    public static final Map<String, String> USER_ENV_TO_PATH = orderedMap(
            "SLUICE_USER", "sluice.users.<SLUICE_USER>",
            "SLUICE_PASSWORD", "sluice.users.<SLUICE_USER>.password",
            "SLUICE_BACKEND_USER", "sluice.users.<SLUICE_USER>.backend-user",
            "SLUICE_BACKEND_PASSWORD", "sluice.users.<SLUICE_USER>.backend-password");

    private static final String ROOT = "sluice";

    private ConfigLoader() {
    }

    /**
     * Loads and validates the configuration.
     *
     * @param file      the config file (HOCON, or JSON/properties by extension); must exist if given
     * @param overrides config path to value, e.g. {@code "sluice.pool.max-per-user" -> "20"}; path
     *                  elements with dots are quoted ({@link #userKey}); values parse like file values
     * @param env       the process environment, or a test's stand-in: the SLUICE_* variables, the
     *                  variables named by password-env, backend-password-env and token-env, and
     *                  {@code ${VAR}} substitutions in the file are all looked up here and nowhere else
     * @return the validated records, never null
     * @throws ConfigException listing every problem found (file syntax errors stop at the first)
     */
    public static SluiceConfig load(Optional<Path> file, Map<String, String> overrides, Map<String, String> env) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(overrides, "overrides");
        Objects.requireNonNull(env, "env");
        Problems problems = new Problems();
        Config fileLayer = file.isPresent() ? parseFile(file.get(), problems) : ConfigFactory.empty();
        return validate(fileLayer, overrides, env, file, problems);
    }

    /** {@link #load(Optional, Map, Map)} with {@link System#getenv()}: what the launcher calls. */
    public static SluiceConfig load(Optional<Path> file, Map<String, String> overrides) {
        return load(file, overrides, System.getenv());
    }

    /**
     * Validates config text layered over reference.conf, with no overrides and an empty environment;
     * for tests, which get exactly the records and errors a file with this text would give.
     *
     * @throws ConfigException listing every problem found
     */
    public static SluiceConfig parse(String hocon) {
        Problems problems = new Problems();
        Config layer;
        try {
            layer = ConfigFactory.parseString(hocon,
                    ConfigParseOptions.defaults().setSyntax(ConfigSyntax.CONF).setOriginDescription("config text"));
        } catch (com.typesafe.config.ConfigException e) {
            problems.addRaw(e.getMessage());
            throw new ConfigException(Optional.empty(), problems.lines());
        }
        return validate(layer, Map.of(), Map.of(), Optional.empty(), problems);
    }

    /**
     * The effective configuration as formatted JSON (valid HOCON) under a {@code sluice} root, in
     * reference.conf's units (durations as "30s", sizes as "64KiB"), for {@code GET /config}.
     * Every password, password hash, backend password and the admin token reads "<redacted>";
     * a user's password-env or password-file shows as a redacted {@code password}.
     */
    public static String render(SluiceConfig config) {
        return ConfigRenderer.render(Objects.requireNonNull(config, "config"));
    }

    /**
     * The override key for one setting of one user, quoting the name as a path needs:
     * {@code userKey("app.rw", "password")} is {@code sluice.users."app.rw".password}.
     */
    public static String userKey(String userName, String key) {
        return ConfigUtil.joinPath(ROOT, "users", userName, key);
    }

    // ---- layering ------------------------------------------------------------------------------

    private static SluiceConfig validate(Config fileLayer, Map<String, String> overrides, Map<String, String> env,
            Optional<Path> source, Problems problems) {
        if (!problems.isEmpty()) {
            throw new ConfigException(source, problems.lines());
        }
        Config envLayer = envLayer(env, problems);
        Config overrideLayer = overrideLayer(overrides, problems);
        Config merged = layer(overrideLayer, layer(envLayer, fileLayer));
        for (String key : new TreeSet<>(merged.root().keySet())) {
            if (!key.equals(ROOT)) {
                problems.add(ConfigUtil.joinPath(key), "unknown key; Sluice reads only keys under sluice", "value hidden");
            }
        }

        Config reference = Reference.CONFIG;
        Config resolved;
        try {
            // Substitutions see the config first, then the env map; never System.getenv or system properties.
            resolved = merged.withOnlyPath(ROOT)
                    .withFallback(reference)
                    .withFallback(ConfigValueFactory.fromMap(env, "environment"))
                    .resolve(ConfigResolveOptions.noSystem())
                    .withOnlyPath(ROOT);
        } catch (com.typesafe.config.ConfigException e) {
            problems.addRaw(e.getMessage());
            throw new ConfigException(source, problems.lines());
        }

        SluiceConfig config = new ConfigReader(resolved, reference, env, problems).read();
        if (config == null || !problems.isEmpty()) {
            throw new ConfigException(source, problems.lines());
        }
        return config;
    }

    private static Config parseFile(Path file, Problems problems) {
        if (!Files.exists(file)) {
            problems.addRaw(file + ": config file does not exist");
            return ConfigFactory.empty();
        }
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            problems.addRaw(file + ": config file is not a readable file");
            return ConfigFactory.empty();
        }
        try {
            return ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
        } catch (com.typesafe.config.ConfigException e) {
            problems.addRaw(e.getMessage());
            return ConfigFactory.empty();
        }
    }

    private static Config envLayer(Map<String, String> env, Problems problems) {
        Config layer = ConfigFactory.empty();
        for (Map.Entry<String, String> e : ENV_TO_PATH.entrySet()) {
            String value = env.get(e.getKey());
            if (value != null) {
                layer = layer.withFallback(ConfigFactory.parseMap(Map.of(e.getValue(), value),
                        Problems.ENV_ORIGIN + e.getKey()));
            }
        }
        String user = env.get("SLUICE_USER");
        if (user == null) {
            for (String variable : USER_ENV_TO_PATH.keySet()) {
                if (env.containsKey(variable)) {
                    problems.add(variable, "needs SLUICE_USER to name the user it belongs to", "value hidden");
                }
            }
            return layer;
        }
        if (user.isBlank()) {
            problems.add("SLUICE_USER", "must not be empty", "got \"" + user + "\"");
            return layer;
        }
        for (String variable : List.of("SLUICE_PASSWORD", "SLUICE_BACKEND_PASSWORD")) {
            if ("".equals(env.get(variable))) {
                // as with password-env: an empty variable is far more often a mistake than a password
                problems.add(variable, "must not be empty", "value hidden");
            }
        }
        String base = ConfigUtil.joinPath(ROOT, "users", user);
        // An entry of its own, so SLUICE_USER alone names a user (whose missing password is then reported).
        layer = layer.withFallback(ConfigFactory.empty().withValue(base,
                ConfigValueFactory.fromMap(Map.of(), Problems.ENV_ORIGIN + "SLUICE_USER")));
        layer = withEnvValue(layer, env, "SLUICE_PASSWORD", base + ".password");
        layer = withEnvValue(layer, env, "SLUICE_BACKEND_USER", base + ".backend-user");
        layer = withEnvValue(layer, env, "SLUICE_BACKEND_PASSWORD", base + ".backend-password");
        return layer;
    }

    private static Config withEnvValue(Config layer, Map<String, String> env, String variable, String path) {
        String value = env.get(variable);
        if (value == null) {
            return layer;
        }
        return ConfigFactory.empty()
                .withValue(path, ConfigValueFactory.fromAnyRef(value, Problems.ENV_ORIGIN + variable))
                .withFallback(layer);
    }

    private static Config overrideLayer(Map<String, String> overrides, Problems problems) {
        Config layer = ConfigFactory.empty();
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            try {
                layer = ConfigFactory.parseMap(Map.of(e.getKey(), Objects.requireNonNull(e.getValue(), e.getKey())),
                        Problems.OVERRIDE_ORIGIN + e.getKey()).withFallback(layer);
            } catch (com.typesafe.config.ConfigException.BadPath ex) {
                problems.addRaw(e.getKey() + ": not a valid config path; quote elements with dots, as in "
                        + userKey("app.rw", "password"));
            }
        }
        return layer;
    }

    /**
     * {@code higher} over {@code lower}, except that where {@code higher} sets any key of a group of
     * alternatives (the password sources of one user, the backend password sources, the admin
     * token sources), {@code lower}'s keys of that group are dropped first.
     */
    private static Config layer(Config higher, Config lower) {
        Config pruned = lower;
        for (List<String> group : exclusiveGroups(higher)) {
            if (group.stream().anyMatch(higher::hasPath)) {
                for (String path : group) {
                    pruned = withoutPath(pruned, path);
                }
            }
        }
        return higher.withFallback(pruned);
    }

    private static List<List<String>> exclusiveGroups(Config layer) {
        List<List<String>> groups = new ArrayList<>();
        groups.add(paths(ConfigUtil.joinPath(ROOT, "admin"), ConfigReader.TOKEN_KEYS));
        String users = ConfigUtil.joinPath(ROOT, "users");
        if (safeHasObject(layer, users)) {
            for (String name : layer.getObject(users).keySet()) {
                String base = ConfigUtil.joinPath(ROOT, "users", name);
                groups.add(paths(base, ConfigReader.PASSWORD_KEYS));
                groups.add(paths(base, ConfigReader.BACKEND_PASSWORD_KEYS));
            }
        }
        return groups;
    }

    private static List<String> paths(String base, List<String> keys) {
        List<String> paths = new ArrayList<>();
        for (String key : keys) {
            paths.add(base + "." + ConfigUtil.joinPath(key));
        }
        return paths;
    }

    private static boolean safeHasObject(Config config, String path) {
        try {
            return config.hasPath(path) && config.getValue(path) instanceof ConfigObject;
        } catch (com.typesafe.config.ConfigException e) {
            return false; // not an object there; the reader reports it
        }
    }

    private static Config withoutPath(Config config, String path) {
        try {
            return config.withoutPath(path);
        } catch (com.typesafe.config.ConfigException e) {
            return config; // a parent is not an object; the reader reports it
        }
    }

    private static Map<String, String> orderedMap(String... keysAndValues) {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return Collections.unmodifiableMap(map);
    }

    /** reference.conf, parsed once; only its {@code sluice} tree, whatever other jars put on the classpath. */
    private static final class Reference {
        static final Config CONFIG = ConfigFactory
                .parseResources(ConfigLoader.class.getClassLoader(), "reference.conf",
                        ConfigParseOptions.defaults().setAllowMissing(false))
                .resolve(ConfigResolveOptions.noSystem())
                .withOnlyPath(ROOT);
    }
}
