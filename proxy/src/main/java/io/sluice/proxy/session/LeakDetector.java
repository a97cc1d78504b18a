package io.sluice.proxy.session;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.config.FrontendConfig;
import io.sluice.proxy.metrics.ProxyMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Finds sessions idle inside a transaction, or idle while pinned to their backend, for too long
 * ({@code sluice.frontend.leak-warning-after}, {@code sluice.frontend.idle-in-transaction-timeout}).
 * Once a second one task looks over every session with volatile reads only and hands each candidate
 * to the session's own event loop, which owns the session's state and decides
 * ({@code Watchdogs.checkIdle}): so the hot path pays one timestamp per command, and a thousand
 * idle sessions cost one pass a second, not a thousand timers. Thresholds are read from the current
 * config on every pass, so a reload applies at once.
 */
public final class LeakDetector {
    private static final Logger log = LoggerFactory.getLogger(LeakDetector.class);
    static final long PERIOD_MILLIS = 1000;

    private final SessionRegistry sessions;
    private final Supplier<FrontendConfig> config;
    private final ProxyMetrics metrics;
    private ScheduledFuture<?> task;

    /**
     * @param config the frontend config in effect now (reloadable), asked on every pass
     */
    public LeakDetector(SessionRegistry sessions, Supplier<FrontendConfig> config, ProxyMetrics metrics) {
        this.sessions = sessions;
        this.config = config;
        this.metrics = metrics;
    }

    /** Starts the once-a-second pass on {@code executor}; the pass itself never blocks. */
    public synchronized void start(EventExecutor executor) {
        if (task == null) {
            task = executor.scheduleWithFixedDelay(this::pass, PERIOD_MILLIS, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    public synchronized void stop() {
        if (task != null) {
            task.cancel(false);
            task = null;
        }
    }

    /** One look over every session; package-private for tests. */
    void pass() {
        try {
            FrontendConfig f = config.get();
            long warn = f.leakWarningAfter().toNanos();
            long close = f.idleInTransactionTimeout().toNanos();
            long maxQuery = f.maxQueryTime().toNanos();
            long maxTransaction = f.maxTransactionTime().toNanos();
            if (warn == 0 && close == 0 && maxQuery == 0 && maxTransaction == 0) {
                return;
            }
            long now = System.nanoTime();
            for (ClientSession session : sessions.all()) {
                Watchdogs s = session.watchdogs();
                if ((warn != 0 || close != 0) && s.mayBeIdleTooLong(now, warn, close)) {
                    s.checkIdleOnItsLoop(warn, close, metrics);
                }
                if (maxQuery != 0 && s.mayRunTooLong(now, maxQuery)) {
                    s.stopLongQueryOnItsLoop(maxQuery);
                }
                if (maxTransaction != 0 && s.transactionNanos() >= maxTransaction) {
                    s.endLongTransactionOnItsLoop(maxTransaction);
                }
            }
        } catch (RuntimeException e) {
            // A periodic task that throws is not run again: log and keep looking next time.
            log.warn("leak detection pass failed: {}", e.toString(), e);
        }
    }
}
