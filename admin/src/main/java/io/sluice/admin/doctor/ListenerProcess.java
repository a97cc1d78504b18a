package io.sluice.admin.doctor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What can be told about a server without logging in to it: the process listening on its port on
 * this machine, found through /proc/net/tcp(6) (the listening socket's inode) and /proc/PID/fd
 * (the process holding that socket), and its file descriptor limit and use from /proc/PID/limits
 * and /proc/PID/fd. Reading another user's /proc/PID/fd needs root (or the same user); whatever
 * cannot be read is said, never guessed. Linux only; elsewhere {@link #reason} says so.
 *
 * @param port      the TCP port looked up
 * @param pid       the listening process, or -1 when not found
 * @param command   its /proc/PID/comm, or null
 * @param softLimit its "Max open files" soft limit (Long.MAX_VALUE: unlimited), or -1
 * @param hardLimit its hard limit, or -1
 * @param open      descriptors it has open now, or -1
 * @param reason    why something is unknown, or null when everything was read
 */
public record ListenerProcess(int port, long pid, String command, long softLimit, long hardLimit, long open, String reason) {
    private static final Path PROC = Path.of("/proc");
    /** TCP state LISTEN in /proc/net/tcp. */
    private static final String LISTEN = "0A";

    /** Whether {@code host} names this machine (a loopback name or address), so /proc describes the server. */
    public static boolean onThisMachine(String host) {
        return SnapshotCollector.isLoopback(host);
    }

    /** Looks up the process listening on {@code port} of this machine. Never throws. */
    public static ListenerProcess find(int port) {
        return find(PROC, port);
    }

    static ListenerProcess find(Path proc, int port) {
        List<String> inodes = new ArrayList<>();
        for (String table : List.of("net/tcp", "net/tcp6")) {
            try {
                for (String line : Files.readAllLines(proc.resolve(table), StandardCharsets.US_ASCII)) {
                    String[] f = line.trim().split("\\s+");
                    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                    if (f.length > 9 && f[3].equals(LISTEN) && f[1].endsWith(":" + String.format(Locale.ROOT, "%04X", port))) {
                        inodes.add(f[9]);
                    }
                }
            } catch (IOException | RuntimeException e) {
                // tcp6 may be absent (IPv6 off); the other table may still have it
            }
        }
        if (inodes.isEmpty()) {
            return unknown(port, "no process listens on port " + port + " of this machine (/proc/net/tcp)");
        }
        List<String> targets = inodes.stream().map(i -> "socket:[" + i + "]").toList();
        int unreadable = 0;
        try (DirectoryStream<Path> pids = Files.newDirectoryStream(proc, p -> p.getFileName().toString().matches("\\d+"))) {
            for (Path p : pids) {
                try (DirectoryStream<Path> fds = Files.newDirectoryStream(p.resolve("fd"))) {
                    for (Path fd : fds) {
                        String link;
                        try {
                            link = Files.readSymbolicLink(fd).toString();
                        } catch (IOException e) {
                            continue;
                        }
                        if (targets.contains(link)) {
                            return describe(proc, port, Long.parseLong(p.getFileName().toString()));
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    unreadable++;
                }
            }
        } catch (IOException e) {
            return unknown(port, "cannot list " + proc + ": " + e.getMessage());
        }
        return unknown(port, "port " + port + " is listened on, but by a process whose descriptors this user cannot read"
                + (unreadable > 0 ? " (" + unreadable + " processes unreadable; run as root or as the server's user)" : ""));
    }

    private static ListenerProcess describe(Path proc, int port, long pid) {
        Path dir = proc.resolve(Long.toString(pid));
        String comm = null;
        try {
            comm = Files.readString(dir.resolve("comm"), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            // reported through the missing name
        }
        long soft = -1;
        long hard = -1;
        List<String> unknown = new ArrayList<>();
        try {
            long[] limits = ProcFiles.openFilesLimit(dir);
            soft = limits[0];
            hard = limits[1];
        } catch (IOException | RuntimeException e) {
            unknown.add("cannot read /proc/" + pid + "/limits");
        }
        long open = -1;
        try {
            open = ProcFiles.openDescriptors(dir);
        } catch (IOException | RuntimeException e) {
            unknown.add("cannot read /proc/" + pid + "/fd");
        }
        return new ListenerProcess(port, pid, comm, soft, hard, open, unknown.isEmpty() ? null : String.join("; ", unknown));
    }

    private static ListenerProcess unknown(int port, String reason) {
        return new ListenerProcess(port, -1, null, -1, -1, -1, reason);
    }

    /** Whether the process has (nearly) every descriptor its soft limit allows in use. */
    public boolean outOfDescriptors() {
        return softLimit > 0 && softLimit != Long.MAX_VALUE && open >= 0 && open >= softLimit - 2;
    }

    /** One or two lines for a report: who listens and how many descriptors it holds of how many. */
    public List<String> describe() {
        List<String> out = new ArrayList<>();
        if (pid < 0) {
            out.add(reason);
            return out;
        }
        StringBuilder b = new StringBuilder("port " + port + " is held by pid " + pid + (command == null ? "" : " (" + command + ")"));
        if (open >= 0) {
            b.append(": ").append(open).append(" descriptors open");
            if (softLimit > 0) {
                b.append(" of its limit ").append(softLimit == Long.MAX_VALUE ? "unlimited" : String.valueOf(softLimit))
                        .append(" (Max open files, soft; hard ").append(hardLimit == Long.MAX_VALUE ? "unlimited"
                                : String.valueOf(hardLimit)).append(')');
            }
        } else if (softLimit > 0) {
            b.append(": Max open files ").append(softLimit).append(" (soft)");
        }
        out.add(b.toString());
        if (outOfDescriptors()) {
            out.add("it is out of file descriptors: it cannot accept a connection (\"Too many open files\"); raise its "
                    + "limit (LimitNOFILE in its systemd unit, or ulimit -n, and open_files_limit) and restart it, or "
                    + "end connections from outside (kill idle clients, stop a runaway application)");
        }
        if (reason != null) {
            out.add(reason);
        }
        return out;
    }
}
