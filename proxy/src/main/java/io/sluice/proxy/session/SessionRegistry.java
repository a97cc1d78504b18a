package io.sluice.proxy.session;

import io.sluice.config.DigestsConfig;
import io.sluice.proxy.digest.DigestTable;

import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Every live client session by its Sluice connection id: the id clients see in the handshake and
 * CONNECTION_ID()-style tooling, and the one KILL and the admin endpoint take. Thread-safe.
 */
public final class SessionRegistry {
    private final AtomicLong ids = new AtomicLong();
    private final ConcurrentHashMap<Long, ClientSession> sessions = new ConcurrentHashMap<>();
    /** Set once on SIGTERM: new clients and the next command of a session outside a transaction get 9409. */
    private volatile boolean draining;
    /** Per-statement statistics every session records into (docs/digests.md). */
    private volatile DigestTable digests = new DigestTable(DigestsConfig.DEFAULT, server -> "server");

    /** Graceful shutdown began: from now on sessions outside a transaction end at their next command. */
    public void drain() {
        draining = true;
    }

    public boolean draining() {
        return draining;
    }

    /** A new connection id: 32-bit, never 0, as the handshake carries it in four bytes. */
    public long nextId() {
        long id;
        do {
            id = ids.incrementAndGet() & 0xffffffffL;
        } while (id == 0 || sessions.containsKey(id));
        return id;
    }

    void add(ClientSession s) {
        sessions.put(s.id(), s);
    }

    void remove(ClientSession s) {
        sessions.remove(s.id(), s);
    }

    /** The digests sessions record into; the proxy sets its own before the first session. */
    public DigestTable digests() {
        return digests;
    }

    public void digests(DigestTable table) {
        this.digests = table;
    }

    public ClientSession get(long id) {
        return sessions.get(id);
    }

    public Collection<ClientSession> all() {
        return sessions.values();
    }

    public int size() {
        return sessions.size();
    }
}
