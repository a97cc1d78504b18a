package io.sluice.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Collects configuration problems, each formatted {@code <key path>: <what is wrong> (got <value>)},
 * so that loading reports all of them at once. Owns the redaction rule: a value under a secret key
 * is never rendered. Confined to the thread running {@link ConfigLoader}.
 */
final class Problems {

    /** Keys whose values are secrets (a password hash is as good as a password to some attackers). */
    private static final Set<String> SECRET_KEYS = Set.of("password", "backend-password", "password-hash", "token", "lookup-password");

    /** Origin descriptions that {@link ConfigLoader} gives to values that did not come from a file. */
    static final String ENV_ORIGIN = "environment variable ";
    static final String OVERRIDE_ORIGIN = "command-line override ";

    private static final ConfigRenderOptions CONCISE = ConfigRenderOptions.concise();

    private final List<String> lines = new ArrayList<>();
    private final Set<String> reportedPaths = new HashSet<>();
    private final List<String> shapePaths = new ArrayList<>();
    private Config config;

    /** Values rendered into messages are looked up here from now on (set once it is merged). */
    void lookIn(Config merged) {
        this.config = merged;
    }

    /** Reports {@code path}, quoting the value found there (or "value hidden" for a secret key). */
    void add(String path, String what) {
        Optional<ConfigValue> value = valueAt(path);
        String got;
        if (isSecret(path)) {
            got = "value hidden";
        } else if (value.isEmpty()) {
            got = config != null && isNull(path) ? "got null" : "not set";
        } else if (value.get() instanceof ConfigObject && path.startsWith("sluice.users")) {
            got = "value hidden"; // a user entry holds credentials
        } else {
            got = "got " + value.get().render(CONCISE);
        }
        addLine(path, what, got, value);
    }

    /** Reports {@code path} with a caller-chosen clause instead of the value ("value hidden", "got 3 keys"). */
    void add(String path, String what, String clause) {
        addLine(path, what, clause, valueAt(path));
    }

    /** Reports a problem that has no key path (a parse error, a bad override path). */
    void addRaw(String line) {
        lines.add(line);
    }

    /**
     * Reports a value of the wrong shape (a number where a section belongs): nothing below
     * {@code path} can be read, so {@link #covers} keeps the readers of those keys quiet.
     */
    void addShape(String path, String what) {
        add(path, what);
        shapePaths.add(path);
    }

    /**
     * True if {@code path} was already reported, or lies under a value of the wrong shape, so its
     * reader stays quiet instead of repeating the problem.
     */
    boolean covers(String path) {
        if (reportedPaths.contains(path)) {
            return true;
        }
        for (String shape : shapePaths) {
            if (path.startsWith(shape + ".")) {
                return true;
            }
        }
        return false;
    }

    boolean isEmpty() {
        return lines.isEmpty();
    }

    List<String> lines() {
        return List.copyOf(lines);
    }

    /** True if the last element of {@code path} is a secret key (a password, hash or token). */
    static boolean isSecret(String path) {
        List<String> elements = ConfigUtil.splitPath(path);
        return isSecretKey(elements.get(elements.size() - 1));
    }

    /** {@code key} is one path element, unquoted. */
    static boolean isSecretKey(String key) {
        return SECRET_KEYS.contains(key);
    }

    private void addLine(String path, String what, String clause, Optional<ConfigValue> value) {
        reportedPaths.add(path);
        lines.add(path + ": " + what + " (" + clause + ")" + value.map(Problems::where).orElse(""));
    }

    private boolean isNull(String path) {
        try {
            return config.hasPathOrNull(path) && config.getIsNull(path);
        } catch (com.typesafe.config.ConfigException e) {
            return false;
        }
    }

    private Optional<ConfigValue> valueAt(String path) {
        if (config == null) {
            return Optional.empty();
        }
        try {
            return config.hasPath(path) ? Optional.of(config.getValue(path)) : Optional.empty();
        } catch (com.typesafe.config.ConfigException e) {
            return Optional.empty(); // a parent is not an object; that parent is reported on its own
        }
    }

    /**
     * Where a leaf value came from when that helps: the env var or override that set it, or the line
     * of the file. Defaults from reference.conf and merged objects get nothing.
     */
    private static String where(ConfigValue value) {
        if (value instanceof ConfigObject) {
            return "";
        }
        ConfigOrigin origin = value.origin();
        String description = origin.description();
        if (origin.resource() != null) {
            return "";
        }
        if (description.startsWith(ENV_ORIGIN) || description.startsWith(OVERRIDE_ORIGIN)) {
            return " [" + description + "]";
        }
        return origin.lineNumber() > 0 ? " [line " + origin.lineNumber() + "]" : "";
    }
}
