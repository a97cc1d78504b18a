package io.sluice.proxy.pool;

/**
 * The cap and fairness policy of the pools as pure functions of counts: which cap binds, each
 * pool's fair share of it, whether a pool may open one more connection, where room is taken from,
 * what a free connection does for the oldest waiter when that waiter wants another key, and how
 * adaptive sharing moves the cap. No state, no clock, no I/O: {@link ServerCaps} asks it with the
 * counts of the {@link PoolSet}, under its lock. Allocation-free: the per-release questions ({@link #overCap}, {@link #owesRoom})
 * run on every connection given back.
 */
final class CapPolicy {
    private CapPolicy() {
    }

    /** What the policy reads of one pool; {@link BackendPool} implements it (tests use a record). */
    interface Load {
        /** Connections open (idle or busy, closing ones included) plus being opened. */
        int size();

        /** The pool's own maximum (sluice.pool.max-per-user or the user's pool-max). */
        int max();

        /** Connections closed to make room and not yet gone (still in {@link #size}). */
        int evicting();

        /** Connections being opened (in {@link #size}). */
        int opening();

        /** Requests waiting in the pool's gate. */
        int waiting();
    }

    /** What a free connection does when the oldest waiter it could serve wants another key. */
    enum OtherKey {
        /** An idle connection of the waiter's key serves it; the free one goes on to the next in line. */
        SERVE_FROM_IDLE,
        /** At the cap: the free one closes so that its slot reopens for the waiter's key. */
        REKEY,
        /** Below the cap: a connection is opened for the waiter; the free one serves its own key. */
        OPEN_FOR_IT
    }

    /** The most backend connections Sluice opens: global-max, lowered to what the server allows and to adaptive sharing. */
    static int globalCap(int globalMax, ServerLimits limits, int adaptiveCap) {
        int cap = limits == null ? globalMax : Math.min(globalMax, limits.effectiveCap());
        return Math.min(cap, adaptiveCap);
    }

    /**
     * How many backend connections Sluice may hold in all when a pool opens one: the global cap,
     * less sluice.pool.reserve for a pool of users that are not priority (at least 1 left to them).
     */
    static int capFor(int globalCap, boolean priority, int reserve) {
        return priority ? globalCap : Math.max(1, globalCap - reserve);
    }

    /** An even share of the cap among {@code wanting} pools (those that hold or want connections), at least 1. */
    static int fairShare(int globalCap, int wanting) {
        return Math.max(1, globalCap / Math.max(1, wanting));
    }

    /** How many pools hold or want connections. */
    static int wanting(Iterable<? extends Load> pools) {
        int wanting = 0;
        for (Load q : pools) {
            if (q.size() > 0 || q.waiting() > 0) {
                wanting++;
            }
        }
        return wanting;
    }

    /**
     * Whether another pool waits with fewer connections than its fair share (and fewer than its
     * max) while {@code p} holds at least its share plus {@code over}.
     */
    static boolean yieldsTo(Load p, int over, int globalCap, Iterable<? extends Load> pools) {
        int share = fairShare(globalCap, wanting(pools));
        if (p.size() - p.evicting() < share + over) {
            return false;
        }
        for (Load q : pools) {
            if (q != p && q.waiting() > q.opening() && q.size() - q.evicting() < Math.min(share, q.max())) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code p} may open one more connection: below its max, its cap ({@link #capFor}) and its fair share. */
    static boolean mayOpen(Load p, int total, int capForP, int globalCap, Iterable<? extends Load> pools) {
        return p.size() < p.max() && total < capForP && !yieldsTo(p, 0, globalCap, pools);
    }

    /** More connections than a (lowered) pool max or global cap allows, not counting those already closing. */
    static boolean overCap(Load p, int total, int totalEvicting, int globalCap) {
        return p.size() - p.evicting() > p.max() || total - totalEvicting > globalCap;
    }

    /**
     * Fairness across backend users at the global cap: {@code p} holds more than its share plus one
     * while another pool waits below its share. Then a connection {@code p} gives back is closed
     * rather than handed to {@code p}'s next waiter, so one busy application cannot keep every
     * backend and starve another.
     */
    static boolean owesRoom(Load p, int total, int totalEvicting, int globalCap, Iterable<? extends Load> pools) {
        return total - totalEvicting >= globalCap && yieldsTo(p, 1, globalCap, pools);
    }

    /**
     * Where room for a waiter of {@code p} comes from when it may not open: the pool's own max (or
     * its fair share) binds, so only from its own idle connections (true); otherwise the global or
     * server-derived cap binds, so from the idle connection of any pool returned longest ago (false).
     */
    static boolean evictsOwnIdle(Load p, int globalCap, Iterable<? extends Load> pools) {
        return p.size() >= p.max() || yieldsTo(p, 0, globalCap, pools);
    }

    /**
     * What a free connection does for the oldest waiter when that one wants another key: served from
     * an idle connection of its key if there is one, else a connection opened for it if the pool may
     * open ({@code mayOpen}; only asked when there is no idle one), else the free one is closed so its
     * slot reopens for that key (served in arrival order whatever the key).
     */
    static OtherKey forOtherKey(boolean idleOfItsKey, boolean mayOpen) {
        return idleOfItsKey ? OtherKey.SERVE_FROM_IDLE : mayOpen ? OtherKey.OPEN_FOR_IT : OtherKey.REKEY;
    }

    /** Connections of other clients of the server: Threads_connected less Sluice's own open ones. */
    static long others(long threadsConnected, long ours) {
        return Math.max(0, threadsConnected - ours);
    }

    /**
     * Adaptive sharing (sluice.server.adaptive): the next cap from what every other client leaves
     * free below max_connections - headroom. Down at once; up one at a time, and only with two to
     * spare: several instances reading the same server grow together, so each leaves the others a
     * margin. {@code current} is Integer.MAX_VALUE before the first read.
     */
    static int nextAdaptiveCap(int current, long ours, long others, long maxConnections, int headroom) {
        int room = (int) Math.max(1, Math.min(Integer.MAX_VALUE, maxConnections - headroom - others));
        if (current == Integer.MAX_VALUE || room < current) {
            return room;
        }
        int grown = Math.max(current, (int) ours) + 1;
        return room > grown ? grown : current;
    }

    /** Backoff before opens resume after {@code failuresInARow} failed opens: 100 ms, doubling up to 1.6 s. */
    static long retryDelayMillis(int failuresInARow) {
        return Math.min(2000, 50L << Math.min(5, failuresInARow));
    }
}
