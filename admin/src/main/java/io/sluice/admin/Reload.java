package io.sluice.admin;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a {@code POST /reload} did, as config paths: the keys whose new value is now in effect, and
 * the keys that changed in the sources but keep their running value until a restart. Compared on
 * the rendered config, plus the secrets the rendering redacts (user passwords, the admin token, the
 * account lookup's password).
 */
final class Reload {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private Reload() {
    }

    record Outcome(boolean changed, List<String> applied,
                   @JsonProperty("restart_required") List<String> restartRequired) {
    }

    /**
     * @param before    the config in effect before the reload
     * @param requested the config just read from the sources
     * @param applied   the config in effect after the reload
     */
    static Outcome compare(SluiceConfig before, SluiceConfig requested, SluiceConfig applied) {
        List<String> appliedKeys = diff(before, applied);
        List<String> restart = diff(applied, requested);
        return new Outcome(!appliedKeys.isEmpty() || !restart.isEmpty(), appliedKeys, restart);
    }

    /** Config paths whose value differs between {@code a} and {@code b}, sorted. */
    static List<String> diff(SluiceConfig a, SluiceConfig b) {
        Map<String, String> fa = flatten(a);
        Map<String, String> fb = flatten(b);
        TreeSet<String> paths = new TreeSet<>();
        TreeSet<String> keys = new TreeSet<>(fa.keySet());
        keys.addAll(fb.keySet());
        for (String k : keys) {
            if (!k.startsWith("sluice.users.") && !Objects.equals(fa.get(k), fb.get(k))) {
                paths.add(k);
            }
        }
        TreeSet<String> users = new TreeSet<>(a.users().keySet());
        users.addAll(b.users().keySet());
        for (String u : users) {
            // records compare every field, secrets included; the rendering redacts those
            if (!Objects.equals(a.users().get(u), b.users().get(u))) {
                paths.add("sluice.users." + element(u));
            }
        }
        if (!a.admin().token().equals(b.admin().token())) {
            paths.add("sluice.admin.token");
        }
        if (!a.auth().lookupPassword().equals(b.auth().lookupPassword())) {
            paths.add("sluice.auth.lookup-password");
        }
        return new ArrayList<>(paths);
    }

    /** A path element, quoted as HOCON needs when it is not a plain word ({@code "app.rw"}). */
    private static String element(String name) {
        return name.matches("[A-Za-z0-9_-]+") ? name : "\"" + name.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static Map<String, String> flatten(SluiceConfig c) {
        Map<String, String> out = new TreeMap<>();
        try {
            flatten("", MAPPER.readTree(ConfigLoader.render(c)), out);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("ConfigLoader.render produced invalid JSON", e);
        }
        return out;
    }

    private static void flatten(String prefix, JsonNode node, Map<String, String> out) {
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String key = element(e.getKey());
                flatten(prefix.isEmpty() ? key : prefix + "." + key, e.getValue(), out);
            }
        } else {
            out.put(prefix, node.toString());
        }
    }
}
