package io.sluice.proxy.digest;

import io.sluice.config.DigestsConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntFunction;
import java.util.function.ToLongFunction;

/**
 * Every digest Sluice keeps, by digest, front-end user and server (one 64-bit key for the three):
 * at most {@code max-digests} of them. Sessions find their entry here the first time they run a
 * statement and keep it ({@link DigestRecorder}), so the table is touched once per new
 * (statement, user, server) per session, not per statement. A new entry beyond the bound starts an
 * eviction pass (one at a time, by whoever inserted) that drops the least recently seen tenth,
 * counted in {@link #evictions}.
 *
 * <p>Thread-safe: the event loops insert and update, the admin reads and resets.
 */
public final class DigestTable {
    private final ConcurrentHashMap<Long, DigestStats> entries = new ConcurrentHashMap<>();
    private final AtomicLong evictions = new AtomicLong();
    private final ReentrantLock evicting = new ReentrantLock();
    /** Names a server by its index (-1: the one server). */
    private final IntFunction<String> servers;
    private volatile boolean enabled;
    private volatile int maxDigests;
    private volatile int maxTextLength;

    public DigestTable(DigestsConfig config, IntFunction<String> servers) {
        this.servers = servers;
        configure(config);
    }

    /** Applies sluice.digests (at start and on reload): a smaller bound holds from the next new digest. */
    public void configure(DigestsConfig config) {
        this.maxDigests = config.maxDigests();
        this.maxTextLength = config.maxTextLength();
        this.enabled = config.enabled();
    }

    public boolean enabled() {
        return enabled;
    }

    public int maxDigests() {
        return maxDigests;
    }

    int maxTextLength() {
        return maxTextLength;
    }

    /** The key of a digest for a user on a server: the three mixed into 64 bits. */
    static long key(long digest, long userHash, int server) {
        long h = digest ^ userHash * 0x9E3779B97F4A7C15L ^ (server + 2L) * 0xC2B2AE3D27D4EB4FL;
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }

    DigestStats get(long key) {
        return entries.get(key);
    }

    /** The entry for {@code key}, created with the given text when there is none. */
    DigestStats create(long key, long digest, String text, String user, int server, long nowNanos) {
        DigestStats fresh = new DigestStats(key, digest, text, user, servers.apply(server), nowNanos);
        DigestStats had = entries.putIfAbsent(key, fresh);
        if (had != null) {
            return had;
        }
        if (entries.size() > maxDigests) {
            evict();
        }
        return fresh;
    }

    /** Drops the least recently seen entries down to 90% of the bound (at least one below it). */
    private void evict() {
        if (!evicting.tryLock()) {
            return; // another thread is at it
        }
        try {
            int max = maxDigests;
            DigestStats[] all = entries.values().toArray(new DigestStats[0]);
            int drop = all.length - (max - Math.max(1, max / 10));
            if (drop <= 0) {
                return;
            }
            long[] seen = new long[all.length];
            Integer[] order = new Integer[all.length];
            for (int i = 0; i < all.length; i++) {
                seen[i] = all[i].lastSeenNanos;
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> Long.compare(seen[a] - seen[b], 0));
            long dropped = 0;
            for (int i = 0; i < drop; i++) {
                DigestStats s = all[order[i]];
                if (entries.remove(s.key(), s)) {
                    s.evicted = true;
                    dropped++;
                }
            }
            evictions.addAndGet(dropped);
        } finally {
            evicting.unlock();
        }
    }

    /** Entries dropped to keep the bound, since start. */
    public long evictions() {
        return evictions.get();
    }

    public int size() {
        return entries.size();
    }

    /** Forgets every digest (POST /digests/reset); the eviction count stays, as a counter does. */
    public void reset() {
        for (DigestStats s : entries.values()) {
            if (entries.remove(s.key(), s)) {
                s.evicted = true;
            }
        }
    }

    /** The first {@code limit} entries in {@code order} (largest first). */
    public List<DigestStats> top(Order order, int limit) {
        // Sort on values read once: the counters move while the admin sorts.
        DigestStats[] all = entries.values().toArray(new DigestStats[0]);
        long[] value = new long[all.length];
        Integer[] index = new Integer[all.length];
        for (int i = 0; i < all.length; i++) {
            value[i] = order.value.applyAsLong(all[i]);
            index[i] = i;
        }
        Arrays.sort(index, (a, b) -> Long.compare(value[b], value[a]));
        List<DigestStats> top = new ArrayList<>(Math.min(limit, all.length));
        for (int i = 0; i < all.length && i < limit; i++) {
            top.add(all[index[i]]);
        }
        return top;
    }

    /** What {@link #top} sorts by, largest first; the names GET /digests?order= takes. */
    public enum Order {
        TOTAL_TIME(DigestStats::totalNanos),
        COUNT(DigestStats::count),
        MAX_TIME(DigestStats::maxNanos),
        ERRORS(DigestStats::errors),
        ROWS(DigestStats::rows),
        WAIT_TIME(DigestStats::waitNanos);

        private final ToLongFunction<DigestStats> value;

        Order(ToLongFunction<DigestStats> value) {
            this.value = value;
        }

        /** The name a URL uses: total_time, count, ... */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        /** The order named {@code label}, or null. */
        public static Order of(String label) {
            for (Order o : values()) {
                if (o.label().equals(label)) {
                    return o;
                }
            }
            return null;
        }
    }
}
