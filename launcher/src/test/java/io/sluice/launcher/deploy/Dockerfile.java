package io.sluice.launcher.deploy;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A Dockerfile read the way Docker reads it, as far as the deploy tests need: parser directives and
 * comment lines skipped, backslash continuations joined, {@code --flag=value} options split off,
 * exec-form arguments parsed as the JSON arrays they are. Instructions know their build stage.
 */
record Dockerfile(List<Instruction> instructions) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One instruction.
     *
     * @param stage   0 for the first FROM's stage, 1 for the next, ...
     * @param keyword upper case, e.g. COPY
     * @param flags   its {@code --name=value} options, e.g. from = build
     * @param rest    what follows the flags
     */
    record Instruction(int stage, String keyword, Map<String, String> flags, String rest) {
        /** The exec form ({@code ["a", "b"]}) as a list; fails on the shell form. */
        List<String> exec() {
            String json = rest.startsWith("CMD ") ? rest.substring(4).trim() : rest;
            if (!json.startsWith("[")) {
                throw new AssertionError(keyword + " must use the exec form (a JSON array), got: " + rest);
            }
            try {
                return JSON.readValue(json, new TypeReference<List<String>>() { });
            } catch (Exception e) {
                throw new AssertionError(keyword + " exec form is not a JSON string array: " + rest, e);
            }
        }

        List<String> words() {
            return List.of(rest.trim().split("\\s+"));
        }
    }

    static Dockerfile parse(String text) {
        List<String> logical = new ArrayList<>();
        StringBuilder current = null;
        for (String raw : text.split("\n", -1)) {
            String line = raw.stripTrailing();
            if (line.isBlank() || line.stripLeading().startsWith("#")) {
                continue; // comments and directives; Docker also drops comment lines inside continuations
            }
            boolean continues = line.endsWith("\\");
            String body = continues ? line.substring(0, line.length() - 1) : line;
            current = current == null ? new StringBuilder(body.strip()) : current.append(' ').append(body.strip());
            if (!continues) {
                logical.add(current.toString());
                current = null;
            }
        }
        if (current != null) {
            logical.add(current.toString());
        }
        List<Instruction> out = new ArrayList<>();
        int stage = -1;
        for (String l : logical) {
            int space = l.indexOf(' ');
            String keyword = (space < 0 ? l : l.substring(0, space)).toUpperCase(Locale.ROOT);
            String rest = space < 0 ? "" : l.substring(space + 1).strip();
            Map<String, String> flags = new LinkedHashMap<>();
            while (rest.startsWith("--")) {
                int end = rest.indexOf(' ');
                String flag = end < 0 ? rest : rest.substring(0, end);
                int eq = flag.indexOf('=');
                flags.put(eq < 0 ? flag.substring(2) : flag.substring(2, eq), eq < 0 ? "" : flag.substring(eq + 1));
                rest = end < 0 ? "" : rest.substring(end + 1).strip();
            }
            if (keyword.equals("FROM")) {
                stage++;
            }
            out.add(new Instruction(stage, keyword, flags, rest));
        }
        return new Dockerfile(List.copyOf(out));
    }

    static Dockerfile read() {
        return parse(Repo.read("Dockerfile"));
    }

    /** The last stage: the image that ships. */
    int finalStage() {
        return instructions.get(instructions.size() - 1).stage();
    }

    List<Instruction> all(int stage, String keyword) {
        return instructions.stream().filter(i -> i.stage() == stage && i.keyword().equals(keyword)).toList();
    }

    /** The only {@code keyword} instruction of {@code stage}; fails if there is none or more than one. */
    Instruction one(int stage, String keyword) {
        List<Instruction> found = all(stage, keyword);
        if (found.size() != 1) {
            throw new AssertionError("expected one " + keyword + " in stage " + stage + ", found " + found.size());
        }
        return found.get(0);
    }

    /** The final stage's ENTRYPOINT, exec form. */
    List<String> entrypoint() {
        return one(finalStage(), "ENTRYPOINT").exec();
    }

    /** The final stage's HEALTHCHECK command, exec form. */
    List<String> healthcheck() {
        return one(finalStage(), "HEALTHCHECK").exec();
    }

    /** Where the final stage puts the jar built in the build stage. */
    String jarInImage() {
        List<String> copy = copyFromBuild().words();
        return copy.get(copy.size() - 1);
    }

    Instruction copyFromBuild() {
        return all(finalStage(), "COPY").stream().filter(c -> c.flags().containsKey("from")).findFirst()
                .orElseThrow(() -> new AssertionError("no COPY --from=... in the final stage"));
    }

    /** The source in the build context of the final stage's COPY to {@code destination}. */
    String contextSourceOf(String destination) {
        for (Instruction c : all(finalStage(), "COPY")) {
            List<String> w = c.words();
            if (!c.flags().containsKey("from") && w.get(w.size() - 1).equals(destination)) {
                return w.get(0);
            }
        }
        throw new AssertionError("no COPY from the build context to " + destination + " in the final stage");
    }

    /** The path after {@code -c} in the ENTRYPOINT: the config file the image runs with. */
    String configInImage() {
        List<String> e = entrypoint();
        int c = e.indexOf("-c");
        if (c < 0 || c + 1 >= e.size()) {
            throw new AssertionError("ENTRYPOINT has no -c FILE: " + e);
        }
        return e.get(c + 1);
    }

    /** The final stage's ENV values ({@code ENV A=1 B=2} form). */
    Map<String, String> env() {
        Map<String, String> env = new LinkedHashMap<>();
        for (Instruction i : all(finalStage(), "ENV")) {
            for (String w : i.words()) {
                int eq = w.indexOf('=');
                if (eq < 0) {
                    throw new AssertionError("ENV must use NAME=value pairs: " + i.rest());
                }
                env.put(w.substring(0, eq), w.substring(eq + 1));
            }
        }
        return env;
    }
}
