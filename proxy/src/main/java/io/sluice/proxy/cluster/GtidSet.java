package io.sluice.proxy.cluster;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A replication position as the server writes it, in either flavour, and the one question
 * read-your-writes asks of it: has a server that is here applied that write?
 * <ul>
 *   <li>MariaDB: {@code domain-server-seq} per replication domain, comma-separated
 *       ({@code @@gtid_binlog_pos}, {@code @@gtid_slave_pos}, {@code last_gtid}); within a domain the
 *       sequence number only grows, whichever server wrote it, so a position covers another when
 *       its sequence number is at least as high in every domain of the other.</li>
 *   <li>MySQL: {@code uuid:1-5:7,uuid2:1-9} ({@code @@gtid_executed}, {@code session_track_gtids});
 *       a set of transactions, covering another when it contains all of them.</li>
 * </ul>
 * Immutable; parsing never throws (text that is neither is {@link #EMPTY}, which covers only
 * itself).
 */
public final class GtidSet {
    /** No position: nothing written yet, or nothing known. */
    public static final GtidSet EMPTY = new GtidSet(Map.of(), Map.of(), "");

    /** MariaDB: domain id to the highest sequence number in it. */
    private final Map<Long, Long> domains;
    /** MySQL: source uuid (lower case) to its transaction intervals, sorted, disjoint, inclusive. */
    private final Map<String, long[][]> sources;
    private final String text;
    // The same, as sorted arrays: covers() runs per routed read after a write and allocates nothing.
    private final long[] domainIds;
    private final long[] domainSeqs;
    private final String[] uuids;
    private final long[][][] uuidIntervals;

    private GtidSet(Map<Long, Long> domains, Map<String, long[][]> sources, String text) {
        this.domains = domains;
        this.sources = sources;
        Map<Long, Long> byId = new TreeMap<>(domains);
        domainIds = new long[byId.size()];
        domainSeqs = new long[byId.size()];
        int i = 0;
        for (Map.Entry<Long, Long> e : byId.entrySet()) {
            domainIds[i] = e.getKey();
            domainSeqs[i++] = e.getValue();
        }
        Map<String, long[][]> byUuid = new TreeMap<>(sources);
        uuids = byUuid.keySet().toArray(new String[0]);
        uuidIntervals = byUuid.values().toArray(new long[0][][]);
        this.text = text;
    }

    /** Parses either flavour; blank or unreadable text is {@link #EMPTY}. */
    public static GtidSet parse(String text) {
        if (text == null || text.isBlank()) {
            return EMPTY;
        }
        String t = text.replace("\n", "").trim();
        try {
            return t.indexOf(':') >= 0 ? mysql(t) : mariadb(t);
        } catch (RuntimeException e) {
            return EMPTY;
        }
    }

    private static GtidSet mariadb(String t) {
        Map<Long, Long> domains = new TreeMap<>();
        for (String part : t.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            String[] f = p.split("-");
            if (f.length != 3) {
                return EMPTY;
            }
            long domain = Long.parseLong(f[0]);
            long seq = Long.parseUnsignedLong(f[2]);
            domains.merge(domain, seq, Math::max);
        }
        return new GtidSet(Collections.unmodifiableMap(domains), Map.of(), t);
    }

    private static GtidSet mysql(String t) {
        Map<String, long[][]> sources = new TreeMap<>();
        for (String part : t.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            String[] f = p.split(":");
            if (f.length < 2) {
                return EMPTY;
            }
            List<long[]> intervals = new ArrayList<>();
            for (int i = 1; i < f.length; i++) {
                int dash = f[i].indexOf('-');
                long lo = Long.parseLong(dash < 0 ? f[i] : f[i].substring(0, dash));
                long hi = dash < 0 ? lo : Long.parseLong(f[i].substring(dash + 1));
                intervals.add(new long[] {lo, hi});
            }
            String uuid = f[0].toLowerCase(java.util.Locale.ROOT);
            long[][] existing = sources.get(uuid);
            if (existing != null) {
                intervals.addAll(List.of(existing));
            }
            sources.put(uuid, normalize(intervals));
        }
        return new GtidSet(Map.of(), Collections.unmodifiableMap(sources), t);
    }

    private static long[][] normalize(List<long[]> intervals) {
        intervals.sort((a, b) -> Long.compare(a[0], b[0]));
        List<long[]> out = new ArrayList<>();
        for (long[] iv : intervals) {
            long[] last = out.isEmpty() ? null : out.get(out.size() - 1);
            if (last != null && iv[0] <= last[1] + 1) {
                last[1] = Math.max(last[1], iv[1]);
            } else {
                out.add(new long[] {iv[0], iv[1]});
            }
        }
        return out.toArray(new long[0][]);
    }

    public boolean isEmpty() {
        return domains.isEmpty() && sources.isEmpty();
    }

    /** True when a server at this position has applied every transaction of {@code other}. */
    public boolean covers(GtidSet other) {
        if (other.isEmpty()) {
            return true;
        }
        for (int i = 0; i < other.domainIds.length; i++) {
            int at = java.util.Arrays.binarySearch(domainIds, other.domainIds[i]);
            if (at < 0 || Long.compareUnsigned(domainSeqs[at], other.domainSeqs[i]) < 0) {
                return false;
            }
        }
        for (int i = 0; i < other.uuids.length; i++) {
            int at = java.util.Arrays.binarySearch(uuids, other.uuids[i]);
            for (long[] iv : other.uuidIntervals[i]) {
                if (at < 0 || !contains(uuidIntervals[at], iv)) {
                    return false;
                }
            }
        }
        return true;
    }

    private static boolean contains(long[][] intervals, long[] iv) {
        for (long[] m : intervals) {
            if (m[0] <= iv[0] && iv[1] <= m[1]) {
                return true;
            }
        }
        return false;
    }

    /**
     * The later of two positions of one history (a session's writes, one after another): the one
     * that covers the other, or, when neither does (writes in two domains), the union.
     */
    public GtidSet max(GtidSet other) {
        if (covers(other)) {
            return this;
        }
        if (other.covers(this)) {
            return other;
        }
        Map<Long, Long> d = new TreeMap<>(domains);
        other.domains.forEach((k, v) -> d.merge(k, v, (a, b) -> Long.compareUnsigned(a, b) >= 0 ? a : b));
        Map<String, long[][]> s = new TreeMap<>(sources);
        other.sources.forEach((k, v) -> {
            List<long[]> all = new ArrayList<>(List.of(v));
            long[][] mine = s.get(k);
            if (mine != null) {
                all.addAll(List.of(mine));
            }
            s.put(k, normalize(all));
        });
        return new GtidSet(Collections.unmodifiableMap(d), Collections.unmodifiableMap(s), text + "," + other.text);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GtidSet g && covers(g) && g.covers(this);
    }

    @Override
    public int hashCode() {
        return domains.hashCode() * 31 + sources.keySet().hashCode();
    }

    /** As the server wrote it. */
    @Override
    public String toString() {
        return text;
    }
}
