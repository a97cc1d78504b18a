package io.sluice.proxy.digest;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.ResponseTracker;
import io.sluice.proxy.protocol.StatementPackets;

/**
 * One session's side of the digests: the session tells it when a command arrives
 * ({@link #arrived}), when it goes to a backend ({@link #sent}) and each server packet of the
 * responses ({@link #serverPacket}); it times each statement from its arrival to the end of its
 * response and records it in the shared {@link DigestTable}.
 *
 * <p>What it keeps: the entries this session used last (16, by key, so a session running the same
 * statements touches no shared map), the commands in flight on the backend in the order the
 * response tracker has them, and the digest of each prepared statement by the id the client uses
 * (the server's in session mode, Sluice's in transaction mode), normalized once at
 * COM_STMT_PREPARE.
 *
 * <p>Threading: the session's event loop only. Nothing is allocated per statement once a
 * statement's entry is cached.
 */
public final class DigestRecorder {
    private static final int CACHE = 16;
    private static final int IN_FLIGHT = 16;

    private final DigestTable table;
    /** One per event loop thread: its 64 KiB scratch is shared by the loop's sessions, never by two threads. */
    private static final FastThreadLocal<Normalizer> NORMALIZER = new FastThreadLocal<>() {
        @Override
        protected Normalizer initialValue() {
            return new Normalizer();
        }
    };

    private final long[] cacheKeys = new long[CACHE];
    private final DigestStats[] cached = new DigestStats[CACHE];

    private String user;
    private long userHash;

    /** The last command that arrived: when, and for COM_STMT_EXECUTE the statement id. */
    private long arrivalNanos;
    private int executeId;

    /** Commands written to the backend with a response, oldest first: DigestStats, Prepared, or null (not counted). */
    private final Object[] flight = new Object[IN_FLIGHT];
    private final long[] flightStart = new long[IN_FLIGHT];
    private final long[] flightWait = new long[IN_FLIGHT];
    private int head;
    private int inFlight;
    /** A packet of the oldest response was seen already. */
    private boolean headStarted;

    /** The client's prepared statements, by the id it uses; and its last prepared one (id -1). */
    private final PreparedIds prepared = new PreparedIds();
    private Prepared lastPrepared;

    /** A prepared statement's digest. */
    record Prepared(long digest, String text) {
    }

    public DigestRecorder(DigestTable table) {
        this.table = table;
    }

    /** A command (sequence id 0) arrived from the client; the packet is only read. */
    public void arrived(CommandType type, ByteBuf packet) {
        switch (type) {
            case COM_QUERY, COM_STMT_PREPARE -> {
                if (table.enabled()) {
                    arrivalNanos = System.nanoTime();
                }
            }
            case COM_STMT_EXECUTE -> {
                if (table.enabled() && StatementPackets.hasStatementId(packet)) {
                    arrivalNanos = System.nanoTime();
                    executeId = StatementPackets.statementId(packet);
                }
            }
            case COM_STMT_CLOSE -> {
                if (StatementPackets.hasStatementId(packet)) {
                    prepared.remove(StatementPackets.statementId(packet));
                }
            }
            default -> {
            }
        }
    }

    /**
     * The command that arrived last goes to the backend now ({@code packet} as the client sent it for
     * COM_QUERY and COM_STMT_PREPARE; only read): {@code sentNanos} when, {@code backendIdle} whether
     * nothing was outstanding on it before, {@code server} the index of its server (-1: the one server).
     */
    public void sent(CommandType type, ByteBuf packet, String user, int server, long sentNanos, boolean backendIdle) {
        if (!ResponseTracker.hasResponse(type) || !table.enabled() && inFlight == 0) {
            return;
        }
        if (backendIdle) {
            inFlight = 0; // what was outstanding ended without a response (a backend lost, a command retried)
            headStarted = false;
        }
        if (inFlight == IN_FLIGHT) {
            return; // a client pipelining this deep: its commands beyond go uncounted
        }
        Object what = null;
        if (table.enabled()) {
            switch (type) {
                case COM_QUERY -> {
                    int from = packet.readerIndex() + Packets.HEADER_SIZE + 1;
                    int to = Packets.payloadEnd(packet);
                    what = stats(NORMALIZER.get().hash(packet, from, to), null, packet, from, to, user, server);
                }
                case COM_STMT_PREPARE -> {
                    int from = packet.readerIndex() + Packets.HEADER_SIZE + 1;
                    int to = Packets.payloadEnd(packet);
                    Normalizer normalizer = NORMALIZER.get();
                    String text = normalizer.text(packet, from, to, table.maxTextLength());
                    what = lastPrepared = new Prepared(normalizer.lastHash(), text);
                }
                case COM_STMT_EXECUTE -> {
                    Prepared p = executeId == StatementPackets.LAST_PREPARED_ID ? lastPrepared : prepared.get(executeId);
                    what = p == null ? null : stats(p.digest(), p.text(), null, 0, 0, user, server);
                }
                default -> {
                }
            }
        }
        int slot = (head + inFlight) % IN_FLIGHT;
        flight[slot] = what;
        flightStart[slot] = arrivalNanos;
        flightWait[slot] = sentNanos - arrivalNanos;
        inFlight++;
    }

    /**
     * A server packet of the oldest response was read ({@code r} what the tracker said of it); the
     * packet is only read, after the session rewrote what it rewrites (a prepared statement's id).
     */
    public void serverPacket(int r, ResponseTracker tracker, ByteBuf packet) {
        if (inFlight == 0) {
            return;
        }
        Object what = flight[head];
        if (!headStarted) {
            headStarted = true;
            if (what instanceof Prepared p && Packets.header(packet) == Packets.OK && StatementPackets.hasStatementId(packet)) {
                prepared.put(StatementPackets.statementId(packet), p);
            }
        }
        if (r != ResponseTracker.DONE) {
            return;
        }
        long start = flightStart[head];
        long wait = flightWait[head];
        flight[head] = null;
        head = (head + 1) % IN_FLIGHT;
        inFlight--;
        headStarted = false;
        if (what instanceof DigestStats s) {
            long now = System.nanoTime();
            int error = tracker.lastWasError() && Packets.payloadLength(packet) >= 3
                    ? packet.getUnsignedShortLE(packet.readerIndex() + Packets.HEADER_SIZE + 1) : 0;
            long rows = error != 0 ? 0 : tracker.lastWasResultSet() ? tracker.lastResultRows()
                    : tracker.wasOkPacket() ? tracker.ok().affectedRows() : 0;
            s.record(now - start, wait, rows, error, now);
        }
    }

    /** The entry of a digest for this user on this server: from the cache, the table, or new (its text built now). */
    private DigestStats stats(long digest, String text, ByteBuf packet, int from, int to, String user, int server) {
        if (user != this.user) {
            this.user = user;
            this.userHash = user.hashCode() * 0x9E3779B97F4A7C15L + user.length();
        }
        long key = DigestTable.key(digest, userHash, server);
        int slot = (int) (key ^ key >>> 32) & (CACHE - 1);
        DigestStats s = cached[slot];
        if (s != null && cacheKeys[slot] == key && !s.evicted) {
            return s;
        }
        s = table.get(key);
        if (s == null) {
            if (text == null) {
                text = NORMALIZER.get().text(packet, from, to, table.maxTextLength());
            }
            s = table.create(key, digest, text, user, server, arrivalNanos);
        }
        cacheKeys[slot] = key;
        cached[slot] = s;
        return s;
    }

    /** int id -> Prepared, open addressing; a session rarely has more than a few dozen. */
    private static final class PreparedIds {
        private int[] ids = new int[16];
        private Prepared[] values = new Prepared[16];
        private int size;

        Prepared get(int id) {
            int mask = ids.length - 1;
            for (int i = mix(id) & mask; values[i] != null; i = (i + 1) & mask) {
                if (ids[i] == id) {
                    return values[i];
                }
            }
            return null;
        }

        void put(int id, Prepared p) {
            if ((size + 1) * 4 > ids.length * 3) {
                grow();
            }
            int mask = ids.length - 1;
            int i = mix(id) & mask;
            while (values[i] != null && ids[i] != id) {
                i = (i + 1) & mask;
            }
            if (values[i] == null) {
                size++;
            }
            ids[i] = id;
            values[i] = p;
        }

        void remove(int id) {
            int mask = ids.length - 1;
            int i = mix(id) & mask;
            while (values[i] != null && ids[i] != id) {
                i = (i + 1) & mask;
            }
            if (values[i] == null) {
                return;
            }
            values[i] = null;
            size--;
            // Re-insert the rest of the run so that lookups do not stop at the hole.
            for (int j = (i + 1) & mask; values[j] != null; j = (j + 1) & mask) {
                int rid = ids[j];
                Prepared rp = values[j];
                values[j] = null;
                size--;
                put(rid, rp);
            }
        }

        private void grow() {
            int[] oldIds = ids;
            Prepared[] old = values;
            ids = new int[oldIds.length * 2];
            values = new Prepared[old.length * 2];
            size = 0;
            for (int i = 0; i < old.length; i++) {
                if (old[i] != null) {
                    put(oldIds[i], old[i]);
                }
            }
        }

        private static int mix(int id) {
            return id * 0x9E3779B9 >>> 16 ^ id;
        }
    }
}
