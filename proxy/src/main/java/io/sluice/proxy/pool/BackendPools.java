package io.sluice.proxy.pool;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.config.PoolConfig;
import io.sluice.config.UserConfig;
import io.sluice.proxy.backend.BackendConnection;
import io.sluice.proxy.backend.BackendConnector;
import io.sluice.proxy.backend.BackendException;
import io.sluice.proxy.backend.BackendKey;
import io.sluice.proxy.gate.GateRejection;
import io.sluice.proxy.gate.Waiter;
import io.sluice.proxy.metrics.ProxyMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * All backend pools, one per backend user, under one global cap: the server never sees more than
 * {@code global-max} connections from this Sluice (open plus being opened).
 *
 * <p>Threading: pool and gate state is guarded by this object's lock, held only for bookkeeping;
 * network work (connect, reset, ping) and promise completion run after the lock is released
 * (collected as {@code after} actions). A plain lock was chosen over a single pool executor because
 * acquires come from every event loop and the critical sections are a few field updates.
 *
 * <p>Hand-off: a connection that becomes free (released clean, or newly opened) goes straight to
 * the oldest waiter whose key it fits; only when nobody waits for it does it become idle.
 */
public final class BackendPools implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BackendPools.class);

    /** How a client gives a connection back. */
    public enum Release {
        /** Sluice knows the session state is what the next user expects. */
        CLEAN,
        /** Session state may be dirty: reset it (COM_CHANGE_USER) before reuse. */
        RESET,
        /** The connection's protocol state is unknown (a response was cut off): close it. */
        DISCARD
    }

    /** Waiters that arrived within this of the oldest (or half its wait, if longer) may go first for loop affinity. */
    static final long SAME_MOMENT_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

    /** At most one rebalancing swap per pool in this interval (see {@link #rebalances}). */
    static final long REBALANCE_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    /** The longest gap between housekeeping passes (idle timeout, max lifetime, min-idle); idle-timeout / 4 if shorter. */
    static final long HOUSEKEEPING_MAX_PERIOD_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final String REBALANCED = "rebalanced onto the event loop of the clients waiting for it";
    /**
     * The close reason (and metric tag {@code rekeyed}) of a free backend closed so that one of the
     * oldest waiter's key opens in its slot: a login per request of a minority key under saturation.
     */
    private static final String REKEYED = "rekeyed: closed to open one of the key the oldest waiter needs";

    private final Map<String, BackendPool> pools = new LinkedHashMap<>();
    private final BackendConnector connector;
    private final ProxyMetrics metrics;
    private final EventLoopGroup group;
    private volatile PoolConfig config;
    private int total;
    private boolean closed;
    private ScheduledFuture<?> housekeeper;

    public BackendPools(PoolConfig config, Collection<UserConfig> users, BackendConnector connector,
                        ProxyMetrics metrics, EventLoopGroup group) {
        this.config = config;
        this.connector = connector;
        this.metrics = metrics;
        this.group = group;
        for (UserConfig u : users) {
            int max = u.poolMax().orElse(config.maxPerUser());
            BackendPool existing = pools.get(u.backendUser());
            if (existing == null) {
                existing = addPool(u.backendUser(), u.backendPassword(), max, config.maxWaiters());
            } else {
                existing.max = Math.max(existing.max, max);
            }
            existing.priority |= u.priority();
        }
    }

    private BackendPool addPool(String name, String password, int max, int maxWaiters) {
        BackendPool p = new BackendPool(name, password, max, maxWaiters, metrics.pool(name), this);
        p.meters.gauges(p, x -> snap(x).idle(), x -> snap(x).busy(), x -> snap(x).opening(),
                x -> snap(x).waiting(), x -> snap(x).max());
        pools.put(name, p);
        return p;
    }

    private PoolSnapshot snap(BackendPool p) {
        synchronized (this) {
            return p.snapshot();
        }
    }

    public BackendConnector connector() {
        return connector;
    }

    public PoolConfig config() {
        return config;
    }

    public ProxyMetrics metrics() {
        return metrics;
    }

    /** Starts housekeeping: idle timeout, max lifetime, min-idle. */
    public synchronized void start() {
        long period = Math.max(100, Math.min(TimeUnit.NANOSECONDS.toMillis(HOUSEKEEPING_MAX_PERIOD_NANOS),
                config.idleTimeout().toMillis() / 4));
        housekeeper = group.next().scheduleWithFixedDelay(this::houseKeep, period, period, TimeUnit.MILLISECONDS);
    }

    /**
     * Asks for a backend connection for {@code key}. The future completes on {@code loop} with a
     * connection now owned by the caller (give it back with {@link #release}), or fails with a
     * {@link GateRejection} whose message is what the client should read. Cancelling the future
     * withdraws the request.
     */
    public Future<BackendConnection> acquire(BackendKey key, EventLoop loop) {
        Waiter w = new Waiter(key, loop);
        List<Runnable> after = new ArrayList<>(2);
        synchronized (this) {
            BackendPool p = pools.get(key.backendUser());
            if (p == null) {
                w.promise().tryFailure(GateRejection.noPool(key.backendUser()));
                return w.promise();
            }
            p.lastKey = key;
            if (closed) {
                w.promise().tryFailure(GateRejection.shuttingDown());
                return w.promise();
            }
            boolean first = !paused && p.gate.isEmpty();
            boolean ownLoop = first && opensOnOwnLoop(p, key);
            BackendConnection c = first ? p.takeIdle(key, loop, ownLoop) : null;
            if (c != null && c.loop() != loop && rebalances(p, c, loop)) {
                p.swaps.put(c, loop); // lent across loops this once; swapped when it comes back
            }
            if (c != null) {
                p.acquires++;
                boolean atOnce = !needsValidation(c);
                if (atOnce) {
                    p.grantedAtOnce++;
                }
                after.add(() -> handOut(p, c, w, atOnce));
            } else if (!p.gate.offer(w, config.acquireTimeout().toNanos())) {
                p.queueFull++;
                p.meters.acquireQueueFull.increment();
                w.promise().tryFailure(GateRejection.queueFull(p.name, p.gate.size(), p.busy(), p.max));
                return w.promise();
            } else if (ownLoop) {
                open(p, key, loop, after); // not dispatch: it would lend this waiter an idle one from another loop
            } else {
                dispatch(p, after);
            }
        }
        after.forEach(Runnable::run);
        return w.promise();
    }

    /**
     * Whether a session-mode request that finds no idle connection on its own event loop should have
     * one opened there rather than take an idle one from another loop. A session keeps its backend
     * for life, and a backend on another loop than its client costs a task hand-off and a thread
     * wake-up for every command and every response: at one sysbench thread on two loops, half the
     * runs drew a backend from the other loop and added ~40 µs per query
     * (bench/results/run-L/README.md). One login now is cheaper, and only while the pool has room;
     * a full pool lends across loops as before. Transaction mode rebalances instead
     * ({@link #rebalances}). Caller holds the lock.
     */
    private boolean opensOnOwnLoop(BackendPool p, BackendKey key) {
        return !key.multiplexed() && !p.idle.isEmpty() && limitsTried && !limitsReading && !p.retryScheduled
                && p.failuresInARow == 0 && roomToOpen(p);
    }

    /** Whether {@code p} may open one more connection: below its max, the cap, and its fair share. Caller holds the lock. */
    private boolean roomToOpen(BackendPool p) {
        return p.size() < p.max && total < capFor(p) && !yieldsTo(p, 0);
    }

    /** The deadline of a waiter of {@code p} passed (the gate removed it): counts it, describes the pool. Lock held. */
    GateRejection.Usage timedOut(BackendPool p) {
        p.timeouts++;
        p.meters.acquireTimeout.increment();
        return new GateRejection.Usage(p.name, p.busy(), p.max, p.gate.size(), total, globalCap(),
                p.priority ? 0 : config.reserve(), p.failuresInARow > 0 ? p.lastConnectError : null, paused,
                config.acquireTimeout().toMillis());
    }

    /** Serves waiters from idle connections, then opens (or frees room for) connections for the rest. */
    private void dispatch(BackendPool p, List<Runnable> after) {
        if (p.gate.isEmpty() || paused) {
            return; // paused: resume() dispatches
        }
        // Stops when no connection is idle: a request that waits runs this, so with a long line
        // (a storm: 1,000 waiters) a full walk per request cost ~5% of Sluice's CPU.
        for (var it = p.gate.inOrder().iterator(); it.hasNext() && !p.idle.isEmpty(); ) {
            Waiter w = it.next();
            BackendConnection c = p.takeIdle(w.key(), w.loop());
            if (c != null) {
                it.remove();
                p.acquires++;
                after.add(() -> handOut(p, c, w, false));
            }
        }
        if (p.retryScheduled) {
            return;
        }
        int unserved = p.gate.size() - p.opening;
        int evictions = p.size() >= p.max ? p.evicting : totalEvicting();
        var order = p.gate.inOrder().iterator();
        for (int skip = 0; skip < p.opening && order.hasNext(); skip++) {
            order.next();
        }
        Waiter w = order.hasNext() ? order.next() : null;
        if (limitsReading || !limitsTried && totalOpening() > 0) {
            return; // until the first connection has read the server's limits (and served), open one at a time
        }
        while (unserved > 0 && w != null) {
            if (roomToOpen(p)) {
                open(p, w.key(), w.loop(), after);
                if (!limitsTried) {
                    return;
                }
                unserved--;
                w = order.hasNext() ? order.next() : null;
                continue;
            }
            if (evictions > 0) {
                break; // room is being made; the close re-runs dispatch
            }
            // The cap that binds decides where room can come from: the pool's own max (or its fair
            // share) only from its own idle backends, the global or server-derived cap from any idle
            // one, of this pool's other keys too (dispatch served every idle one a waiter here fits).
            BackendConnection victim = p.size() >= p.max || yieldsTo(p, 0) ? p.oldestIdle() : oldestIdleAnywhere();
            if (victim == null) {
                break;
            }
            evict(victim, after);
            break;
        }
    }

    private BackendConnection oldestIdleAnywhere() {
        BackendConnection best = null;
        for (BackendPool q : pools.values()) {
            BackendConnection c = q.oldestIdle();
            if (c != null && (best == null || c.idleSinceNanos() < best.idleSinceNanos())) {
                best = c;
            }
        }
        return best;
    }

    private int totalOpening() {
        int n = 0;
        for (BackendPool q : pools.values()) {
            n += q.opening;
        }
        return n;
    }

    private int totalEvicting() {
        int n = 0;
        for (BackendPool q : pools.values()) {
            n += q.evicting;
        }
        return n;
    }

    /**
     * Closes an idle connection to make room. It keeps counting against the caps until the server
     * has closed it ({@link #closed}), so the server never sees the new connection and the old one
     * at the same time.
     */
    private void evict(BackendConnection c, List<Runnable> after) {
        evict(c, after, "evicted to make room for another key or pool");
    }

    private void evict(BackendConnection c, List<Runnable> after, String reason) {
        BackendPool owner = pools.get(c.key().backendUser());
        owner.idle.remove(c);
        owner.evicting++;
        c.markEvicting();
        after.add(() -> c.quit(reason));
    }

    /**
     * Whether to swap {@code c}, which would be lent across event loops to a request from
     * {@code loop}, for a new connection on {@code loop}: {@code c} is closed when it is free, and
     * its close opens the replacement (see {@code BackendPool.swaps}). A backend on another loop
     * than its client costs a task hand-off and a thread wake-up for every command and every
     * response (bench: 8–30% of transaction-mode grants crossed loops with 8–32 clients on 8 backends,
     * ~4 µs of CPU per query). Connections land on loops by chance (the loop of whoever first asked),
     * so a pool can sit lopsided while its clients are spread evenly. Swaps happen only when
     * {@code c}'s loop holds at least two more connections of {@code c}'s key than {@code loop}
     * does, so one swap evens the two out and can never bounce straight back, and at most once per
     * {@link #REBALANCE_INTERVAL_NANOS} per pool, which bounds the logins this costs the server. The
     * connection count does not change. Transaction mode only: in session mode a backend serves one
     * session for its life, so a swap when it comes back would cost a login to help only the next
     * session (the demo's burst of short sessions would pay a login per swap). Caller holds the lock.
     */
    private boolean rebalances(BackendPool p, BackendConnection c, EventLoop loop) {
        if (!c.key().multiplexed()) {
            return false; // session mode: the swap would only serve the next session, for a login each
        }
        long now = System.nanoTime();
        if (now - p.rebalancedNanos < REBALANCE_INTERVAL_NANOS) {
            return false;
        }
        int donor = 0;
        int taker = 0;
        for (EventLoop at : p.openingOn) { // of any key: a close makes room for any
            if (at == c.loop()) {
                donor++;
            } else if (at == loop) {
                taker++;
            }
        }
        for (BackendConnection x : p.all) {
            if (!x.key().equals(c.key())) {
                continue;
            }
            EventLoop at = p.swaps.getOrDefault(x, x.evicting() ? null : x.loop()); // where it will be
            if (at == c.loop()) {
                donor++;
            } else if (at == loop) {
                taker++;
            }
        }
        if (donor < taker + 2) {
            return false;
        }
        p.rebalancedNanos = now;
        log.debug("pool '{}': {} closes to reopen on the loop of the clients waiting ({} vs {} connections)",
                p.name, c, donor, taker);
        return true;
    }

    private void open(BackendPool p, BackendKey key, EventLoop loop, List<Runnable> after) {
        p.opening++;
        p.openingOn.add(loop);
        total++;
        after.add(() -> connector.connect(loop, key, p.password).addListener(f -> opened(p, key, loop, f)));
    }

    private void opened(BackendPool p, BackendKey key, EventLoop loop, Future<? super BackendConnection> f) {
        List<Runnable> after = new ArrayList<>(2);
        synchronized (this) {
            p.opening--;
            p.openingOn.remove(loop);
            if (f.isSuccess()) {
                BackendConnection c = (BackendConnection) f.getNow();
                p.connects++;
                if (p.failuresInARow > 0) {
                    int held = p.connectFailureLog.drain();
                    log.info("pool '{}': a backend connection opened again after {} failed opens{}", p.name, p.failuresInARow,
                            held > 0 ? " (" + held + " of their WARN lines were held back)" : "");
                }
                p.failuresInARow = 0;
                p.meters.connectOk.increment();
                long life = config.maxLifetime().toNanos();
                c.retireAtNanos(c.createdNanos() + life - (long) (life * 0.1 * ThreadLocalRandom.current().nextDouble()));
                p.all.add(c);
                c.channel().closeFuture().addListener(x -> closed(p, c));
                if (closed) {
                    after.add(() -> c.close("shutdown"));
                } else if (!limitsTried) {
                    // The first connection learns the server's limits before anyone gets it.
                    limitsReading = true;
                    after.add(() -> readLimits(c, () -> {
                        synchronized (this) {
                            limitsReading = false;
                        }
                        returnIdle(c);
                    }));
                } else {
                    offer(p, c, after);
                }
            } else {
                total--;
                p.connectFailures++;
                p.failuresInARow++;
                p.meters.connectFailed.increment();
                Throwable cause = f.cause();
                p.lastConnectError = cause.getMessage();
                p.lastConnectFailureMillis = System.currentTimeMillis();
                boolean full = cause instanceof BackendException be && be.isServerFull();
                int held = p.connectFailureLog.admit(System.nanoTime());
                if (held >= 0) {
                    log.warn("pool '{}': opening a backend connection failed ({} in a row): {}{}", p.name, p.failuresInARow,
                            cause.getMessage(), p.connectFailureLog.suffix(held));
                }
                if (!full) {
                    // Unreachable server or refused login: fail fast the waiters this open was for.
                    String address = String.valueOf(connector.address());
                    int failed = p.gate.rejectAll(key, () -> GateRejection.serverUnreachable(address, p.name,
                            cause.getMessage()), after);
                    for (int i = 0; i < failed; i++) {
                        p.unavailable++;
                        p.meters.acquireUnavailable.increment();
                    }
                }
                scheduleRetry(p);
            }
            dispatchAll(after);
        }
        after.forEach(Runnable::run);
    }

    /** After a failed open, waiters keep waiting (within their timeout) and opens resume after a backoff. */
    private void scheduleRetry(BackendPool p) {
        if (p.retryScheduled) {
            return;
        }
        p.retryScheduled = true;
        long delay = Math.min(2000, 50L << Math.min(5, p.failuresInARow));
        group.next().schedule(() -> {
            List<Runnable> after = new ArrayList<>(2);
            synchronized (this) {
                p.retryScheduled = false;
                dispatch(p, after);
            }
            after.forEach(Runnable::run);
        }, delay, TimeUnit.MILLISECONDS);
    }

    private void dispatchAll(List<Runnable> after) {
        for (BackendPool q : pools.values()) {
            dispatch(q, after);
        }
    }

    private void closed(BackendPool p, BackendConnection c) {
        List<Runnable> after = new ArrayList<>(2);
        synchronized (this) {
            if (p.all.remove(c)) {
                p.idle.remove(c);
                total--;
                if (c.evicting()) {
                    p.evicting--;
                }
                p.meters.backendClosed(c.closeReason());
                log.debug("pool '{}': {} closed: {}", p.name, c, c.closeReason());
            }
            EventLoop swapTo = p.swaps.remove(c);
            if (swapTo != null && !closed && roomToOpen(p)) {
                open(p, c.key(), swapTo, after); // before dispatch, which counts it as opening for the first waiter
            }
            dispatchAll(after);
        }
        after.forEach(Runnable::run);
    }

    /** Gives a free connection to the oldest waiter it fits, or makes it idle. Caller holds the lock. */
    private void offer(BackendPool p, BackendConnection c, List<Runnable> after) {
        if (overCap(p)) {
            evict(c, after); // a reload lowered the pool's max or global-max
            return;
        }
        if (owesRoom(p)) {
            evict(c, after); // another pool starves at the global cap: the close lets it open one
            return;
        }
        if (threadsReadingDue(System.nanoTime())) {
            // Under load no connection is ever idle: read Threads_connected on this one on its way back.
            threadsReading = true;
            threadsReadNanos = System.nanoTime();
            after.add(() -> readThreadsConnected(c, () -> returnIdle(c)));
            return;
        }
        if (limitsOnRelease) {
            // Limits refresh due while at the cap with nothing idle: read them on this one on its way back.
            limitsOnRelease = false;
            limitsReadNanos = System.nanoTime();
            after.add(() -> readLimits(c, () -> returnIdle(c)));
            return;
        }
        if (p.swaps.containsKey(c)) {
            // Before any waiter is taken from the gate: the waiters stay in line for the replacement.
            evict(c, after, REBALANCED); // closed() opens its replacement
            return;
        }
        // Prefer a waiter on the connection's own event loop among those that came at the same
        // moment as the oldest (bench: cross-loop hand-offs doubled context switches per query).
        // Waiters are served in arrival order whatever their key (fairness across drivers).
        Waiter w = paused ? null : p.gate.pollFair(c.key(), c.loop(), SAME_MOMENT_NANOS, p.opening + p.evicting);
        if (w != null && !w.key().equals(c.key())) {
            // The oldest waiter wants another key, and no open or close under way is for it.
            BackendConnection own = p.takeIdle(w.key(), w.loop());
            if (own != null) {
                p.gate.remove(w);
                p.acquires++;
                Waiter served = w;
                after.add(() -> handOut(p, own, served, false));
                offer(p, c, after); // c goes on to the next in line
                return;
            }
            if (!roomToOpen(p)) {
                // At the cap: c closes and its slot reopens for the oldest waiter's key (closed() ->
                // dispatch), rather than serve a later request of c's key or idle while it waits.
                evict(c, after, REKEYED);
                return;
            }
            // Below the cap dispatch opens one for it; c serves the next request of its own key.
            dispatch(p, after);
            w = p.gate.pollFair(c.key(), c.loop(), SAME_MOMENT_NANOS, p.opening + p.evicting);
            if (w != null && !w.key().equals(c.key())) {
                w = null;
            }
        }
        if (w != null && w.loop() != c.loop() && rebalances(p, c, w.loop())) {
            p.gate.pushFront(w); // first in line for the replacement
            p.swaps.put(c, w.loop());
            evict(c, after, REBALANCED);
            return;
        }
        if (w != null) {
            p.acquires++;
            Waiter next = w;
            after.add(() -> handOut(p, c, next, false));
        } else {
            c.idleSinceNanos(System.nanoTime());
            p.idle.addFirst(c);
            dispatch(p, after);
        }
    }

    /** Whether {@code c}, idle until now, has to answer a ping before it is handed out. */
    private boolean needsValidation(BackendConnection c) {
        return c.listener() == null && System.nanoTime() - c.idleSinceNanos() > config.validateAfterIdle().toNanos()
                && c.tracker().idle();
    }

    /**
     * Completes a waiter with a connection, validating it first if it sat idle a while. Runs unlocked.
     * {@code atOnce}: the request found {@code c} idle and fresh when it asked, so it did not wait,
     * and it is counted in {@code BackendPool.grantedAtOnce} instead of timed ({@link #flushMeters}).
     */
    private void handOut(BackendPool p, BackendConnection c, Waiter w, boolean atOnce) {
        if (!atOnce && needsValidation(c)) {
            c.ping(config.validationTimeout()).addListener(f -> {
                if (f.isSuccess() && ((BackendConnection.Reply) f.getNow()).ok()) {
                    complete(p, c, w, false);
                } else {
                    c.close("validation failed: " + (f.cause() != null ? f.cause().getMessage() : "ping returned an error"));
                    requeue(p, w);
                }
            });
            return;
        }
        complete(p, c, w, atOnce);
    }

    private void complete(BackendPool p, BackendConnection c, Waiter w, boolean atOnce) {
        w.cancelTimeout();
        if (!w.promise().trySuccess(c)) {
            release(c, Release.CLEAN);
        } else if (!atOnce) {
            ProxyMetrics.record(p.meters.acquireGranted, w.enqueuedNanos());
        }
    }

    private void requeue(BackendPool p, Waiter w) {
        List<Runnable> after = new ArrayList<>(2);
        synchronized (this) {
            if (w.promise().isDone()) {
                return;
            }
            p.gate.pushFront(w);
            dispatch(p, after);
        }
        after.forEach(Runnable::run);
    }

    /** Gives a connection back. Safe from any thread; a closed connection is ignored (already accounted). */
    public void release(BackendConnection c, Release how) {
        if (!c.isOpen()) {
            return;
        }
        c.listener(null);
        if (how == Release.DISCARD) {
            c.close("discarded: its protocol state is unknown");
            return;
        }
        if (System.nanoTime() >= c.retireAtNanos()) {
            c.close("max lifetime reached");
            return;
        }
        if (how == Release.RESET) {
            c.reset(config.resetTimeout()).addListener(f -> {
                if (f.isSuccess() && ((BackendConnection.Reply) f.getNow()).ok()) {
                    returnIdle(c);
                } else {
                    c.close("reset failed: " + (f.cause() != null ? f.cause().getMessage() : "error"));
                }
            });
            return;
        }
        returnIdle(c);
    }

    private void returnIdle(BackendConnection c) {
        List<Runnable> after = new ArrayList<>(2);
        synchronized (this) {
            BackendPool p = pools.get(c.key().backendUser());
            if (p == null || !p.all.contains(c)) {
                return;
            }
            if (closed) {
                after.add(() -> c.close("shutdown"));
            } else {
                offer(p, c, after);
            }
        }
        after.forEach(Runnable::run);
    }

    private void houseKeep() {
        List<Runnable> after = new ArrayList<>();
        synchronized (this) {
            if (closed) {
                return;
            }
            long now = System.nanoTime();
            long idleTimeout = config.idleTimeout().toNanos();
            long serverIdleLimit = serverIdleLimitNanos();
            for (BackendPool p : pools.values()) {
                for (var it = p.idle.descendingIterator(); it.hasNext(); ) {
                    BackendConnection c = it.next();
                    boolean retire = now >= c.retireAtNanos();
                    long idle = now - c.idleSinceNanos();
                    // min-idle connections too: the server would close them at wait_timeout, maybe
                    // just as one is handed out; min-idle opens a fresh one.
                    boolean idleTooLong = idle >= idleTimeout && p.all.size() > config.minIdle() || idle >= serverIdleLimit;
                    if (retire || idleTooLong) {
                        // Counted until the server has closed it (see closed()).
                        it.remove();
                        String reason = retire ? "max lifetime reached" : "idle timeout";
                        after.add(() -> c.quit(reason));
                    }
                }
                if (limitsRefreshDue(now) && !p.idle.isEmpty()) {
                    BackendConnection c = p.idle.pollLast();
                    limitsReadNanos = now; // one refresh in flight at a time
                    limitsOnRelease = false;
                    after.add(() -> readLimits(c, () -> returnIdle(c)));
                }
                if (threadsReadingDue(now) && !p.idle.isEmpty()) {
                    BackendConnection c = p.idle.pollLast();
                    threadsReading = true;
                    threadsReadNanos = now;
                    after.add(() -> readThreadsConnected(c, () -> returnIdle(c)));
                }
                if (p.lastKey != null && p.gate.isEmpty() && !paused) {
                    while (p.idle.size() + p.opening < config.minIdle() && p.size() < p.max && total < capFor(p)) {
                        open(p, p.lastKey, group.next(), after);
                    }
                }
                dispatch(p, after);
            }
            if (limitsRefreshDue(now)) {
                refreshLimitsWithoutIdle(now, after); // every backend is busy (or none is open)
            }
        }
        after.forEach(Runnable::run);
        flushMeters();
    }

    /** Whether the server's limits are due to be read again (sluice.server.limits-refresh). Caller holds the lock. */
    private boolean limitsRefreshDue(long now) {
        return limitsTried && !paused && !closed && now - limitsReadNanos > limitsRefreshNanos;
    }

    /**
     * Reads the limits when no backend is idle: over a short-lived connection of its own, counted
     * in {@link #total} against the cap while it lives, when the cap has room; at the cap, over the
     * next backend given back ({@link #offer}), since a pool at its cap gives one back with every
     * finished transaction (session mode: every session that ends). Caller holds the lock.
     */
    private void refreshLimitsWithoutIdle(long now, List<Runnable> after) {
        BackendPool p = null;
        for (BackendPool q : pools.values()) {
            if (q.lastKey != null && (p == null || q.all.size() > p.all.size())) {
                p = q;
            }
        }
        if (p == null || limitsConnection) {
            return; // no client has asked for a backend yet, or the last refresh's connection is still at it
        }
        limitsReadNanos = now; // one refresh in flight at a time
        if (total - totalEvicting() >= globalCap()) {
            limitsOnRelease = true;
            return;
        }
        total++;
        limitsConnection = true;
        BackendPool pool = p;
        BackendKey key = p.lastKey;
        EventLoop loop = group.next();
        after.add(() -> connector.connect(loop, key, pool.password).addListener(f -> {
            if (!f.isSuccess()) {
                // The server may be full of Sluice's busy backends (max_connections lowered below them):
                // read on the next one given back instead, which then closes if it is over the new cap.
                log.debug("could not open a connection to read the server's limits ({}); reading them on the next "
                        + "backend given back", f.cause().getMessage());
                synchronized (this) {
                    limitsOnRelease = true;
                }
                limitsConnectionGone();
                return;
            }
            BackendConnection c = (BackendConnection) f.getNow();
            c.channel().closeFuture().addListener(x -> limitsConnectionGone());
            readLimits(c, () -> c.quit("server limits read"));
        }));
    }

    /** The connection of {@link #refreshLimitsWithoutIdle} has closed: its slot is free. */
    private void limitsConnectionGone() {
        List<Runnable> after = new ArrayList<>(2);
        synchronized (this) {
            total--;
            limitsConnection = false;
            dispatchAll(after);
        }
        after.forEach(Runnable::run);
    }

    /**
     * Adds the requests granted at once since the last call to each pool's acquire timer, as waits
     * of 0 s. Timing each of them on the spot cost ~2% of Sluice's CPU in transaction mode, where
     * every query takes a connection: both event loops wrote to the same percentile histogram.
     * Housekeeping calls this at least once a second, and the admin endpoint before it reads the timer.
     */
    public void flushMeters() {
        List<Runnable> after = new ArrayList<>();
        synchronized (this) {
            for (BackendPool p : pools.values()) {
                long n = p.grantedAtOnce;
                after.add(() -> p.meters.grantedAtOnce(n));
            }
        }
        after.forEach(Runnable::run);
    }

    /**
     * How long a backend may sit idle before the server's wait_timeout could close it: Sluice closes
     * it first, a tenth of wait_timeout (at least 2 s) earlier. Housekeeping looks every second at
     * most, so the close lands at least a second before the server's; with a 1 s margin it could
     * land after. Unbounded until the limits are read.
     */
    long serverIdleLimitNanos() {
        ServerLimits l = limits;
        if (l == null || l.waitTimeoutSeconds() <= 0) {
            return Long.MAX_VALUE;
        }
        long wait = TimeUnit.SECONDS.toNanos(l.waitTimeoutSeconds());
        return Math.max(wait / 2, wait - Math.max(2 * HOUSEKEEPING_MAX_PERIOD_NANOS, wait / 10));
    }

    /**
     * Sends KILL QUERY for {@code target}'s server thread on a short-lived connection of the same
     * account (outside the pools and their cap: the server's headroom makes room for it), then runs
     * {@code done}, whether or not the kill went through.
     */
    public void killQuery(BackendConnection target, Runnable done) {
        BackendPool p;
        synchronized (this) {
            p = pools.get(target.key().backendUser());
        }
        if (p == null) {
            done.run();
            return;
        }
        connector.connect(target.loop(), target.key(), p.password).addListener(f -> {
            if (!f.isSuccess()) {
                log.warn("could not open a connection to KILL QUERY {}: {}", target.threadId(), f.cause().getMessage());
                done.run();
                return;
            }
            BackendConnection killer = (BackendConnection) f.getNow();
            killer.execute(io.sluice.proxy.protocol.Packets.query(killer.channel().alloc(), "KILL QUERY " + target.threadId()),
                    io.sluice.proxy.protocol.CommandType.COM_QUERY, config.validationTimeout()).addListener(r -> {
                killer.quit("KILL QUERY sent");
                done.run();
            });
        });
    }

    // ---- pause and resume (admin actions) ------------------------------------------------------
    // While paused, acquire() queues every request (timeouts still apply) and nothing is handed out
    // or opened; connections already lent out stay with their sessions, so open work can finish.
    // The hooks are the `paused` checks in acquire, dispatch, offer and houseKeep.

    /** Guarded by this. */
    private boolean paused;

    /** Stops handing out backends: new requests wait in the gate until {@link #resume}. Idempotent. */
    public synchronized void pause() {
        if (!paused) {
            paused = true;
            log.info("pools paused: requests wait until resumed");
        }
    }

    /** Hands out backends again, serving the waiters in order. Idempotent. */
    public void resume() {
        List<Runnable> after = new ArrayList<>();
        synchronized (this) {
            if (!paused) {
                return;
            }
            paused = false;
            log.info("pools resumed");
            dispatchAll(after);
        }
        after.forEach(Runnable::run);
    }

    public synchronized boolean paused() {
        return paused;
    }

    // ---- reconfigure (admin reload) -----------------------------------------------------------

    /**
     * Applies reloaded pool settings and users: timeouts and limits take effect for new work, pool
     * maxima are recomputed per backend user, a new backend user gets a pool, a changed backend
     * password is used for new connections. Idle connections above a lowered cap are closed now,
     * busy ones when they come back. Pools of backend users no longer configured stay (their
     * sessions keep working) with their last max.
     */
    public void reconfigure(PoolConfig next, Collection<UserConfig> users) {
        List<Runnable> after = new ArrayList<>();
        synchronized (this) {
            this.config = next;
            Map<String, Integer> maxima = new LinkedHashMap<>();
            Map<String, String> passwords = new LinkedHashMap<>();
            Map<String, Boolean> priority = new LinkedHashMap<>();
            for (UserConfig u : users) {
                maxima.merge(u.backendUser(), u.poolMax().orElse(next.maxPerUser()), Math::max);
                passwords.putIfAbsent(u.backendUser(), u.backendPassword());
                priority.merge(u.backendUser(), u.priority(), Boolean::logicalOr);
            }
            for (var e : maxima.entrySet()) {
                BackendPool p = pools.get(e.getKey());
                if (p == null) {
                    p = addPool(e.getKey(), passwords.get(e.getKey()), e.getValue(), next.maxWaiters());
                } else {
                    p.max = e.getValue();
                    p.password = passwords.get(e.getKey());
                }
                p.priority = priority.get(e.getKey());
            }
            for (BackendPool p : pools.values()) {
                p.gate.capacity(next.maxWaiters());
                evictOverCap(p, after);
            }
            dispatchAll(after);
        }
        after.forEach(Runnable::run);
    }

    /** Closes idle connections of {@code p} while it is over a (lowered) cap. Caller holds the lock. */
    private void evictOverCap(BackendPool p, List<Runnable> after) {
        BackendConnection c;
        while (overCap(p) && (c = p.oldestIdle()) != null) {
            evict(c, after);
        }
    }

    /**
     * Fairness across backend users at the global cap: {@code p} holds more than an even share of
     * the cap among the pools that want connections, while another pool waits below its share. Then
     * a connection {@code p} gives back is closed rather than handed to {@code p}'s next waiter, so
     * one busy application cannot keep every backend and starve another. Caller holds the lock.
     */
    private boolean owesRoom(BackendPool p) {
        return total - totalEvicting() >= globalCap() && yieldsTo(p, 1);
    }

    /**
     * Whether another pool waits with fewer connections than an even share of the cap (among the
     * pools that hold or want connections) while {@code p} holds at least its share plus {@code over}.
     * Caller holds the lock.
     */
    private boolean yieldsTo(BackendPool p, int over) {
        int wanting = 0;
        for (BackendPool q : pools.values()) {
            if (q.size() > 0 || q.gate.size() > 0) {
                wanting++;
            }
        }
        int share = Math.max(1, globalCap() / Math.max(1, wanting));
        if (p.size() - p.evicting < share + over) {
            return false;
        }
        for (BackendPool q : pools.values()) {
            if (q != p && q.gate.size() > q.opening && q.size() - q.evicting < Math.min(share, q.max)) {
                return true;
            }
        }
        return false;
    }

    /**
     * How many backend connections Sluice may hold in all when {@code p} opens one: the global cap,
     * less sluice.pool.reserve for a pool of users that are not priority (at least 1 left to them).
     */
    private int capFor(BackendPool p) {
        int cap = globalCap();
        return p.priority ? cap : Math.max(1, cap - config.reserve());
    }

    /** More connections than a (lowered) cap allows, not counting those already closing. Caller holds the lock. */
    private boolean overCap(BackendPool p) {
        return p.size() - p.evicting > p.max || total - totalEvicting() > globalCap();
    }

    // ---- the server's real limits ----------------------------------------------------------------

    /** Last limits read from the server, or null before the first successful read. */
    private volatile ServerLimits limits;

    /** The most backend connections Sluice opens: global-max, lowered to what the server allows. */
    private int globalCap() {
        ServerLimits l = limits;
        int cap = l == null ? config.globalMax() : Math.min(config.globalMax(), l.effectiveCap());
        return Math.min(cap, adaptiveCap);
    }

    /** What adaptive sharing allows now (sluice.server.adaptive), or Integer.MAX_VALUE when off or not yet read. */
    public int adaptiveCap() {
        return adaptiveCap;
    }

    public ServerLimits limits() {
        return limits;
    }

    /** sluice.server.headroom and fleet-size: how much of the server's limits this Sluice takes. */
    private volatile int headroom = io.sluice.config.ServerConfig.DEFAULT_HEADROOM;
    private volatile int fleetSize = io.sluice.config.ServerConfig.DEFAULT_FLEET_SIZE;

    /**
     * Sets the share of the server's limits to take, applied at the next read of the limits, and how
     * often they are read again (sluice.server.limits-refresh).
     */
    public void limitsPolicy(int headroom, int fleetSize, boolean adaptive, Duration limitsRefresh) {
        limitsRefreshNanos = limitsRefresh.toNanos();
        limitsPolicy(headroom, fleetSize, adaptive);
    }

    /** Sets the share of the server's limits to take; applies at the next read of the limits. */
    public void limitsPolicy(int headroom, int fleetSize, boolean adaptive) {
        this.headroom = headroom;
        this.fleetSize = fleetSize;
        this.adaptive = adaptive;
        if (!adaptive) {
            adaptiveCap = Integer.MAX_VALUE;
        }
    }

    // ---- adaptive sharing (sluice.server.adaptive) -----------------------------------------------

    static final long THREADS_REFRESH_NANOS = TimeUnit.SECONDS.toNanos(1);
    private volatile boolean adaptive;
    /** max_connections - headroom - everyone else's connections, at the last read; MAX_VALUE when off. */
    private volatile int adaptiveCap = Integer.MAX_VALUE;
    private boolean threadsReading;
    private long threadsReadNanos;
    private long adaptiveLoggedNanos;

    /** Whether adaptive sharing should read Threads_connected now. Caller holds the lock. */
    private boolean threadsReadingDue(long now) {
        return adaptive && limits != null && !threadsReading && !paused && !closed && now - threadsReadNanos > THREADS_REFRESH_NANOS;
    }

    /**
     * Reads the server's Threads_connected on idle connection {@code c} (nobody else uses it
     * meanwhile) and keeps Sluice to what every other client leaves free below max_connections -
     * headroom: lowered, idle backends close first (busy ones as they come back); raised, waiters
     * are served. Then runs {@code then}.
     */
    private void readThreadsConnected(BackendConnection c, Runnable then) {
        c.execute(io.sluice.proxy.protocol.Packets.query(c.channel().alloc(), "SHOW GLOBAL STATUS LIKE 'Threads_connected'"),
                io.sluice.proxy.protocol.CommandType.COM_QUERY, config.validationTimeout()).addListener(v -> {
            long threads = statusValue(v);
            if (threads > 0) {
                threadsConnected = threads;
            }
            List<Runnable> after = new ArrayList<>();
            synchronized (this) {
                threadsReading = false;
                ServerLimits l = limits;
                if (threads > 0 && l != null && adaptive) {
                    long ours = total - totalOpening();
                    long others = Math.max(0, threads - ours);
                    int room = (int) Math.max(1, Math.min(Integer.MAX_VALUE, l.maxConnections() - headroom - others));
                    // Down at once; up one at a time, and only with two to spare: several instances
                    // reading the same server grow together, so each leaves the others a margin.
                    int next = adaptiveCap == Integer.MAX_VALUE || room < adaptiveCap ? room
                            : room > Math.max(adaptiveCap, (int) ours) + 1 ? Math.max(adaptiveCap, (int) ours) + 1 : adaptiveCap;
                    if (next != adaptiveCap) {
                        long now = System.nanoTime();
                        boolean loud = now - adaptiveLoggedNanos > TimeUnit.SECONDS.toNanos(30);
                        if (loud) {
                            adaptiveLoggedNanos = now;
                        }
                        String line = "adaptive sharing: Threads_connected {} of which {} are Sluice's; {} left for Sluice "
                                + "(max_connections {} - headroom {} - {} others; was {})";
                        Object[] args = {threads, threads - others, next, l.maxConnections(), headroom, others,
                                adaptiveCap == Integer.MAX_VALUE ? "unset" : adaptiveCap};
                        if (loud) {
                            log.info(line, args);
                        } else {
                            log.debug(line, args);
                        }
                        adaptiveCap = next;
                        for (BackendPool p : pools.values()) {
                            evictOverCap(p, after);
                        }
                        dispatchAll(after);
                    }
                }
            }
            after.forEach(Runnable::run);
            then.run();
        });
    }

    /** sluice.server.limits-refresh: how often the limits are read again, whatever the pools' state. */
    private volatile long limitsRefreshNanos = io.sluice.config.ServerConfig.DEFAULT_LIMITS_REFRESH.toNanos();
    /** A refresh is due and every backend is busy at the cap: the next one given back reads the limits. Guarded by this. */
    private boolean limitsOnRelease;
    /** The short-lived connection of {@link #refreshLimitsWithoutIdle} is open (counted in {@link #total}). Guarded by this. */
    private boolean limitsConnection;
    /** True once a read of the limits was tried (so a server that will not tell does not block opens). */
    private boolean limitsTried;
    /** The first connection is reading the limits: it will serve the oldest waiter right after. */
    private boolean limitsReading;
    private long limitsReadNanos;

    /**
     * Reads the server's limits on connection {@code c} (fresh, or taken idle; nobody else uses it
     * meanwhile), applies the derived cap, then runs {@code then}. Never fails: without an answer the
     * configured global-max stays.
     */
    private void readLimits(BackendConnection c, Runnable then) {
        Duration timeout = config.validationTimeout().plusSeconds(3);
        c.execute(io.sluice.proxy.protocol.Packets.query(c.channel().alloc(),
                "SELECT @@max_connections, @@max_user_connections, @@open_files_limit, @@wait_timeout"),
                io.sluice.proxy.protocol.CommandType.COM_QUERY, timeout).addListener(v -> {
            BackendConnection.Reply r = v.isSuccess() ? (BackendConnection.Reply) v.getNow() : null;
            if (r == null || !r.ok() || r.firstRow() == null || r.firstRow().size() < 4) {
                log.warn("could not read the server's limits ({}); keeping sluice.pool.global-max = {}",
                        r == null ? v.cause().getMessage() : String.valueOf(r.error()), config.globalMax());
                synchronized (this) {
                    limitsTried = true;
                    limitsReadNanos = System.nanoTime();
                }
                then.run();
                return;
            }
            java.util.List<String> row = r.firstRow();
            c.execute(io.sluice.proxy.protocol.Packets.query(c.channel().alloc(),
                    "SELECT max_user_connections FROM mysql.user WHERE CONCAT(user, '@', host) = CURRENT_USER()"),
                    io.sluice.proxy.protocol.CommandType.COM_QUERY, timeout).addListener(a -> {
                BackendConnection.Reply ar = a.isSuccess() ? (BackendConnection.Reply) a.getNow() : null;
                long account = ar != null && ar.ok() && ar.firstRow() != null ? number(ar.firstRow().get(0)) : -1;
                applyLimits(ServerLimits.derive(number(row.get(0)), number(row.get(1)), account, number(row.get(2)),
                        number(row.get(3)), config.globalMax(), headroom, fleetSize));
                // How full the server is, for /stats: the connections of all its clients now, and its peak.
                c.execute(io.sluice.proxy.protocol.Packets.query(c.channel().alloc(), "SHOW GLOBAL STATUS LIKE 'Max_used_connections'"),
                        io.sluice.proxy.protocol.CommandType.COM_QUERY, timeout).addListener(m -> {
                    maxUsedConnections = statusValue(m);
                    c.execute(io.sluice.proxy.protocol.Packets.query(c.channel().alloc(), "SHOW GLOBAL STATUS LIKE 'Threads_connected'"),
                            io.sluice.proxy.protocol.CommandType.COM_QUERY, timeout).addListener(t -> {
                        threadsConnected = statusValue(t);
                        then.run();
                    });
                });
            });
        });
    }

    /** The value of a one-row SHOW GLOBAL STATUS reply, or -1. */
    private static long statusValue(io.netty.util.concurrent.Future<?> f) {
        BackendConnection.Reply r = f.isSuccess() ? (BackendConnection.Reply) f.getNow() : null;
        return r != null && r.ok() && r.firstRow() != null && r.firstRow().size() > 1 ? number(r.firstRow().get(1)) : -1;
    }

    /** The server's Threads_connected at the last read (every minute, every second with adaptive sharing), or -1. */
    public long threadsConnected() {
        return threadsConnected;
    }

    /** The server's Max_used_connections at the last read of the limits, or -1. */
    public long maxUsedConnections() {
        return maxUsedConnections;
    }

    private volatile long threadsConnected = -1;
    private volatile long maxUsedConnections = -1;

    private static long number(String s) {
        try {
            return s == null ? 0 : Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private void applyLimits(ServerLimits l) {
        List<Runnable> after = new ArrayList<>();
        synchronized (this) {
            ServerLimits before = limits;
            limits = l;
            limitsTried = true;
            limitsReadNanos = System.nanoTime();
            if (before == null || before.effectiveCap() != l.effectiveCap()) {
                log.info("server limits: max_connections={}, max_user_connections={}, account limit={}, open_files_limit={}, "
                                + "wait_timeout={}s; backend cap {}", l.maxConnections(), l.maxUserConnections(),
                        l.accountLimit() < 0 ? "not visible" : l.accountLimit(), l.openFilesLimit(), l.waitTimeoutSeconds(), l.reasoning());
                if (config.globalMax() > l.effectiveCap() && config.globalMaxSet()) {
                    log.warn("sluice.pool.global-max ({}) is above what the server allows this Sluice ({}); using {}",
                            config.globalMax(), l.effectiveCap(), l.effectiveCap());
                } else if (config.globalMax() > l.effectiveCap() && before == null) {
                    // reference.conf's default, not the user's choice: nothing to warn about.
                    log.info("sluice.pool.global-max is not set: using the cap derived from the server, {} (the default {} "
                            + "is above it)", l.effectiveCap(), config.globalMax());
                }
                long idleLimitMs = TimeUnit.NANOSECONDS.toMillis(serverIdleLimitNanos());
                if (config.idleTimeout().toMillis() > idleLimitMs) {
                    log.warn("sluice.pool.idle-timeout ({}) is not below the server's wait_timeout ({}s): idle backends, "
                            + "min-idle ones included, are closed after {} ms instead, before the server would close them",
                            config.idleTimeout(), l.waitTimeoutSeconds(), idleLimitMs);
                }
            }
            for (BackendPool p : pools.values()) {
                evictOverCap(p, after);
            }
            int above = total - totalEvicting() - (limitsConnection ? 1 : 0) - globalCap(); // busy: idle ones are closing
            if (before != null && l.effectiveCap() < before.effectiveCap() && above > 0) {
                log.warn("server limits lowered the backend cap from {} to {} with {} backends busy above it: "
                        + "they close as they come back until Sluice is under the cap ({})", before.effectiveCap(),
                        globalCap(), above, l.reasoning());
            }
            dispatchAll(after);
        }
        after.forEach(Runnable::run);
    }

    /** Backend connections open or being opened, across all pools. */
    public synchronized int total() {
        return total;
    }

    public synchronized List<PoolSnapshot> snapshot() {
        List<PoolSnapshot> out = new ArrayList<>(pools.size());
        for (BackendPool p : pools.values()) {
            out.add(p.snapshot());
        }
        return out;
    }

    /** Closes every connection and fails every waiter; later acquires fail at once. */
    @Override
    public void close() {
        List<Runnable> after = new ArrayList<>();
        synchronized (this) {
            closed = true;
            if (housekeeper != null) {
                housekeeper.cancel(false);
            }
            for (BackendPool p : pools.values()) {
                p.gate.rejectAll(GateRejection::shuttingDown, after);
                for (BackendConnection c : new ArrayList<>(p.all)) {
                    after.add(() -> c.quit("shutdown"));
                }
            }
        }
        after.forEach(Runnable::run);
    }
}
