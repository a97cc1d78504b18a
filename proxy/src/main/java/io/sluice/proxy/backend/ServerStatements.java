package io.sluice.proxy.backend;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.IntConsumer;
import java.util.function.Predicate;

/**
 * The server-side prepared statements one backend connection holds, by {@link StatementKey}, in
 * least-recently-used order and bounded: statement virtualization prepares a client's statement
 * lazily on whichever backend runs it and reuses it there for every session with the same key.
 * Owned by whoever holds the connection (its linked session), like the rest of its state; cleared
 * when the connection is reset (COM_CHANGE_USER closes every statement on the server).
 */
public final class ServerStatements {

    /** One server statement: its id on this connection and the parameter types last bound to it. */
    public static final class Prepared {
        private final int serverId;
        private byte[] boundTypes;

        public Prepared(int serverId) {
            this.serverId = serverId;
        }

        public int serverId() {
            return serverId;
        }

        /** Parameter types the server has for it (the last execution that sent types), or null. */
        public byte[] boundTypes() {
            return boundTypes;
        }

        public void boundTypes(byte[] types) {
            this.boundTypes = types;
        }
    }

    private final LinkedHashMap<StatementKey, Prepared> byKey = new LinkedHashMap<>(16, 0.75f, true);

    /** The statement for {@code key}, marked most recently used; null when not prepared here. */
    public Prepared get(StatementKey key) {
        return byKey.get(key);
    }

    /**
     * Records a statement prepared here. Beyond {@code capacity}, the least recently used statements
     * that are not {@code inUse} are removed and their server ids passed to {@code close}.
     */
    public void put(StatementKey key, Prepared p, int capacity, Predicate<StatementKey> inUse, IntConsumer close) {
        byKey.put(key, p);
        Iterator<Map.Entry<StatementKey, Prepared>> it = byKey.entrySet().iterator();
        while (byKey.size() > capacity && it.hasNext()) {
            Map.Entry<StatementKey, Prepared> e = it.next();
            if (e.getValue() != p && !inUse.test(e.getKey())) {
                it.remove();
                close.accept(e.getValue().serverId());
            }
        }
    }

    /** Forgets {@code key}; returns its statement (the caller closes it on the server) or null. */
    public Prepared remove(StatementKey key) {
        return byKey.remove(key);
    }

    /** The server dropped every statement (reset). */
    public void clear() {
        byKey.clear();
    }
}
