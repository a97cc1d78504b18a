package io.sluice.admin;

import io.sluice.proxy.ProxyServer;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.protocol.ServerStatus;
import io.sluice.proxy.session.ClientSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The first half of a graceful shutdown (SIGTERM): stop accepting clients, which also makes
 * {@code GET /ready} answer 503, then wait until no session is busy (a response outstanding or a
 * command waiting for a backend) or inside a transaction by the server's status flags, for at most
 * the drain timeout. The caller then closes the proxy; a backend closed inside a transaction is
 * rolled back by the server, so it never sees half a transaction committed.
 *
 * <p>Blocks the calling thread (a shutdown hook, a test), never an event loop. Sessions are read
 * from this thread: a session that starts work right after the last check is cut at close.
 */
public final class Drain {
    private static final Logger log = LoggerFactory.getLogger(Drain.class);
    private static final long POLL_MILLIS = 50;
    private static final long LOG_EVERY_MILLIS = 5_000;

    /**
     * @param drained    true when no session was busy or in a transaction before the timeout
     * @param busyLeft   sessions still busy or in a transaction when the drain ended
     * @param waitedMillis how long the drain took
     */
    public record Result(boolean drained, int busyLeft, long waitedMillis) {
    }

    private Drain() {
    }

    /** Stops accepting and waits up to {@code timeout} for busy sessions to finish; does not close anything else. */
    public static Result run(ProxyServer proxy, Duration timeout) {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        proxy.stopAccepting();
        long nextLog = start;
        while (true) {
            List<ClientSession> busy = busy(proxy);
            long now = System.nanoTime();
            long waited = (now - start) / 1_000_000;
            if (busy.isEmpty()) {
                log.info("drained in {} ms: no session busy or in a transaction ({} sessions open)", waited,
                        proxy.sessions().size());
                return new Result(true, 0, waited);
            }
            if (now - deadline >= 0) {
                log.warn("drain timeout ({} ms) reached with {} sessions busy or in a transaction, closing them: {}",
                        timeout.toMillis(), busy.size(), busy.subList(0, Math.min(10, busy.size())));
                return new Result(false, busy.size(), waited);
            }
            if (now - nextLog >= 0) {
                log.info("draining: {} sessions busy or in a transaction, {} ms left (sluice.frontend.drain-timeout)",
                        busy.size(), (deadline - now) / 1_000_000);
                nextLog = now + LOG_EVERY_MILLIS * 1_000_000;
            }
            try {
                Thread.sleep(Math.min(POLL_MILLIS, Math.max(1, (deadline - now) / 1_000_000)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new Result(false, busy.size(), waited);
            }
        }
    }

    /** Sessions with a command in flight or waiting, or whose backend is inside a transaction. */
    static List<ClientSession> busy(ProxyServer proxy) {
        List<ClientSession> out = new ArrayList<>();
        for (ClientSession s : proxy.sessions().all()) {
            // Not s.busy(): it reads the session's backend field twice, which another thread may clear between.
            BackendConnection b = s.backend();
            boolean inFlight = s.commandNanos() >= 0 || b != null && !b.tracker().idle();
            boolean inTransaction = b != null && (b.tracker().lastStatus() & ServerStatus.SERVER_STATUS_IN_TRANS) != 0;
            if (inFlight || inTransaction) {
                out.add(s);
            }
        }
        return out;
    }
}
