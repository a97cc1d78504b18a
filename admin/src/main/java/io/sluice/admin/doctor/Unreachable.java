package io.sluice.admin.doctor;

import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Why the doctor could not log in, when the server never answered: what was seen, and what can be
 * told without a login ({@link ListenerProcess} for a server on this machine). {@code sluice doctor}
 * prints it; {@code GET /doctor} puts it in its 502 answer.
 *
 * @param what   one sentence: what happened, with the likely causes
 * @param server what is known of the server's process without a login, one line each; empty when
 *               the failure was not a silent or absent server (a refused login says enough)
 */
public record Unreachable(String what, List<String> server) {

    /**
     * @param loginTimeoutMillis how long the connect, and then the greeting, were each awaited
     * @return null when the server answered (a login error with its own code, e.g. 1045 or 1040)
     */
    public static Unreachable of(SQLException e, String host, int port, long loginTimeoutMillis) {
        boolean silent = causedBy(e, SocketTimeoutException.class);
        boolean refused = causedBy(e, ConnectException.class);
        if (!silent && !refused) {
            return null;
        }
        String endpoint = Doctor.endpoint(host, port);
        String what = silent
                ? endpoint + " accepted the connection but sent no greeting within " + seconds(loginTimeoutMillis)
                + ": the server may be out of file descriptors (\"Too many open files\" in its error log: it cannot "
                + "accept the connection waiting in its backlog), hung, or not a MySQL server"
                : "nothing accepts connections on " + endpoint + " (connection refused or timed out within "
                + seconds(loginTimeoutMillis) + "): the server is down, or listens elsewhere";
        List<String> server = new ArrayList<>();
        if (ListenerProcess.onThisMachine(host)) {
            server.addAll(ListenerProcess.find(port).describe());
        } else {
            server.add("the server is not on this machine: run sluice doctor on its host to see its process's file descriptors");
        }
        server.add("driver error: " + firstLine(e.getMessage()));
        return new Unreachable(what, List.copyOf(server));
    }

    private static String seconds(long millis) {
        return millis % 1000 == 0 ? millis / 1000 + " s" : millis + " ms";
    }

    private static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    /** A driver message's first line ("Communications link failure" without the paragraph after it). */
    public static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        String m = message.strip();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl).strip();
    }
}
