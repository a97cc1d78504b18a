package io.sluice.proxy.digest;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The counters of one digest for one front-end user on one server. Updated from any event loop
 * without a lock (adders, and a compare-and-set for the maximum only when it grows); read by the
 * admin from its own thread (each value recent, the set not one atomic snapshot).
 */
public final class DigestStats {
    private final long key;
    private final long digest;
    private final String text;
    private final String user;
    private final String server;
    private final long firstSeenMillis;

    private final LongAdder count = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final LongAdder totalNanos = new LongAdder();
    private final LongAdder waitNanos = new LongAdder();
    private final LongAdder rows = new LongAdder();
    private volatile long maxNanos;
    /** System.nanoTime of the last end recorded (or of creation): the LRU order. */
    volatile long lastSeenNanos;
    /** Set once the table dropped this entry: sessions that cached it look it up again. */
    volatile boolean evicted;
    /** Errors by code; created with the first error. */
    private volatile ConcurrentHashMap<Integer, LongAdder> errorCodes;

    private static final VarHandle MAX;
    private static final VarHandle CODES;

    static {
        try {
            MAX = MethodHandles.lookup().findVarHandle(DigestStats.class, "maxNanos", long.class);
            CODES = MethodHandles.lookup().findVarHandle(DigestStats.class, "errorCodes", ConcurrentHashMap.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    DigestStats(long key, long digest, String text, String user, String server, long nowNanos) {
        this.key = key;
        this.digest = digest;
        this.text = text;
        this.user = user;
        this.server = server;
        this.firstSeenMillis = System.currentTimeMillis();
        this.lastSeenNanos = nowNanos;
    }

    /**
     * One execution ended at {@code endNanos} after {@code nanos} from its arrival, {@code waitNanos} of
     * them before it went to a backend; {@code errorCode} 0 when it succeeded.
     */
    void record(long nanos, long waitNanos, long rows, int errorCode, long endNanos) {
        count.increment();
        totalNanos.add(nanos);
        if (waitNanos > 0) {
            this.waitNanos.add(waitNanos);
        }
        if (rows > 0) {
            this.rows.add(rows);
        }
        long max = maxNanos;
        while (nanos > max && !MAX.weakCompareAndSet(this, max, nanos)) {
            max = maxNanos;
        }
        if (errorCode != 0) {
            error(errorCode);
        }
        lastSeenNanos = endNanos;
    }

    private void error(int code) {
        errors.increment();
        ConcurrentHashMap<Integer, LongAdder> codes = errorCodes;
        if (codes == null) {
            CODES.compareAndSet(this, null, new ConcurrentHashMap<Integer, LongAdder>());
            codes = errorCodes;
        }
        codes.computeIfAbsent(code, c -> new LongAdder()).increment();
    }

    /** The table's key: digest, user and server together. */
    public long key() {
        return key;
    }

    /** The digest's hash (of its normalized text), the same for every user and server. */
    public long digest() {
        return digest;
    }

    /** A short id of the digest: 16 hex digits of its hash. */
    public String id() {
        return String.format("%016x", digest);
    }

    public String text() {
        return text;
    }

    public String user() {
        return user;
    }

    public String server() {
        return server;
    }

    public long firstSeenMillis() {
        return firstSeenMillis;
    }

    public long lastSeenNanos() {
        return lastSeenNanos;
    }

    public long count() {
        return count.sum();
    }

    public long errors() {
        return errors.sum();
    }

    public long totalNanos() {
        return totalNanos.sum();
    }

    public long maxNanos() {
        return maxNanos;
    }

    public long waitNanos() {
        return waitNanos.sum();
    }

    public long rows() {
        return rows.sum();
    }

    /** Errors by code, in code order. */
    public Map<Integer, Long> errorCodes() {
        Map<Integer, Long> m = new TreeMap<>();
        ConcurrentHashMap<Integer, LongAdder> codes = errorCodes;
        if (codes != null) {
            codes.forEach((c, n) -> m.put(c, n.sum()));
        }
        return m;
    }
}
