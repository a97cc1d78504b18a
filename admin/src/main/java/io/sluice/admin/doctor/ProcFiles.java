package io.sluice.admin.doctor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * A process's file descriptor limit and use, read from its /proc/PID directory: the one reader for
 * both ways the doctor finds the server's process (its pid file after a login, or the listener on
 * its port when it cannot log in). Linux only; callers say what could not be read.
 */
final class ProcFiles {
    private ProcFiles() {
    }

    /**
     * The "Max open files" soft and hard limits of /proc/PID/limits ({@code Long.MAX_VALUE} for
     * unlimited), or {-1, -1} when the file has no such line.
     *
     * @throws IOException when the file cannot be read, RuntimeException when the line is malformed
     */
    static long[] openFilesLimit(Path procPid) throws IOException {
        for (String line : Files.readAllLines(procPid.resolve("limits"), StandardCharsets.UTF_8)) {
            if (line.startsWith("Max open files")) {
                String[] parts = line.substring("Max open files".length()).trim().split("\\s+");
                return new long[] {limit(parts[0]), limit(parts[1])};
            }
        }
        return new long[] {-1, -1};
    }

    /** Descriptors open now (entries of /proc/PID/fd). @throws IOException when it is not readable */
    static long openDescriptors(Path procPid) throws IOException {
        try (Stream<Path> fds = Files.list(procPid.resolve("fd"))) {
            return fds.count();
        }
    }

    private static long limit(String v) {
        return v.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(v);
    }
}
