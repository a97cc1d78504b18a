package io.sluice.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The configuration cannot be used; Sluice refuses to start (or a reload is refused) rather than
 * repair it. Carries every problem found, not just the first, so one edit fixes them all.
 * No message ever contains a password or token value.
 */
public final class ConfigException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final List<String> problems;

    /**
     * @param source   the config file, if one was given, named in the first line of the message
     * @param problems one {@code <key path>: <what is wrong> (got <value>)} line each; not empty
     */
    ConfigException(Optional<Path> source, List<String> problems) {
        super(message(source, problems));
        if (problems.isEmpty()) {
            throw new IllegalArgumentException("a ConfigException needs at least one problem");
        }
        this.problems = List.copyOf(problems);
    }

    /** Every problem, one line each, in the order found; the list is immutable. */
    public List<String> problems() {
        return problems;
    }

    private static String message(Optional<Path> source, List<String> problems) {
        StringBuilder sb = new StringBuilder("Invalid Sluice configuration");
        source.ifPresent(file -> sb.append(" in ").append(file));
        sb.append(" (").append(problems.size()).append(problems.size() == 1 ? " problem):" : " problems):");
        for (String problem : problems) {
            sb.append(System.lineSeparator()).append("  ").append(problem);
        }
        return sb.toString();
    }
}
