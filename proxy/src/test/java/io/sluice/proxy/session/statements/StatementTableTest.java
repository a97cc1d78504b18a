package io.sluice.proxy.session.statements;

import io.sluice.proxy.backend.StatementKey;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One client's statement bookkeeping without a server: ids, what 0xFFFFFFFF names, in flight, the pin counts. */
class StatementTableTest {
    static StatementKey key(String sql) {
        return StatementKey.of("db", Map.of(), sql.getBytes(StandardCharsets.UTF_8));
    }

    /** Sends a prepare and has it answered with OK: the registered statement. */
    static ClientStatement prepared(StatementTable t, String sql) {
        t.prepareSent(key(sql), 0);
        ClientStatement s = t.prepareAnswered();
        t.register(s);
        return s;
    }

    @Test
    void aPrepareCountsAsOpenWhileInFlightAndGetsItsIdWhenAnswered() {
        StatementTable t = new StatementTable();
        t.prepareSent(key("SELECT 1"), 0);
        t.prepareSent(key("SELECT 2"), 0);
        assertEquals(2, t.open(), "prepares in flight count against max-client-statements");
        ClientStatement first = t.prepareAnswered();
        assertEquals("SELECT 1", new String(first.key.sql().bytes(), StandardCharsets.UTF_8), "answers come oldest first");
        assertEquals(1, t.register(first));
        assertSame(first, t.get(1));
        assertSame(first, t.lastPrepared(), "0xFFFFFFFF names the last successful prepare");
        assertEquals(2, t.register(t.prepareAnswered()));
        assertEquals(2, t.open());
        assertNull(t.prepareAnswered(), "nothing more in flight");
    }

    @Test
    void idsAreNotReusedAfterAClose() {
        StatementTable t = new StatementTable();
        ClientStatement a = prepared(t, "SELECT 1");
        assertFalse(t.remove(a), "no cursor or long data: nothing to drop on the server");
        assertNull(t.lastPrepared(), "the server forgets its last statement when it is closed");
        ClientStatement b = prepared(t, "SELECT 1");
        assertEquals(2, b.id);
        assertNull(t.get(1));
    }

    @Test
    void theClientsOwnPrepareInFlightIsWhat0xFFFFFFFFNamesUntilSluicePreparesOne() {
        StatementTable t = new StatementTable();
        assertNull(t.clientPrepareInFlight());
        t.prepareSent(key("SELECT 1"), 0);
        t.prepareSent(key("SELECT 2"), 0);
        assertEquals("SELECT 2", new String(t.clientPrepareInFlight().key.sql().bytes(), StandardCharsets.UTF_8),
                "the newest prepare sent");
        t.preparedBySluice();
        assertNull(t.clientPrepareInFlight(), "the server's last statement is Sluice's re-prepare now");
        t.forgetLastPrepared();
        assertNull(t.lastPrepared());
    }

    @Test
    void cursorsAndLongDataAreCountedOncePerStatementAndDroppedWithIt() {
        StatementTable t = new StatementTable();
        ClientStatement a = prepared(t, "SELECT 1");
        ClientStatement b = prepared(t, "SELECT 2");
        t.longDataSent(a);
        t.longDataSent(a);
        assertEquals(1, t.longData(), "one statement with long data, however many chunks");
        t.cursor(a, true);
        t.cursor(b, true);
        t.cursor(b, true);
        assertEquals(2, t.cursors());
        assertTrue(t.inUse(a.key), "a's cursor lives on the backend's statement: it must not be evicted");
        t.cursor(b, false);
        assertEquals(1, t.cursors());
        assertFalse(t.inUse(b.key));
        assertTrue(t.remove(a), "a held a cursor and long data: the backend's statement must be closed");
        assertEquals(0, t.cursors());
        assertEquals(0, t.longData());
        t.clearLongData(a);
        assertEquals(0, t.longData(), "never below zero");
    }

    @Test
    void anotherStatementOfTheSameSqlHoldingStateIsSeen() {
        StatementTable t = new StatementTable();
        ClientStatement a = prepared(t, "SELECT ?");
        ClientStatement b = prepared(t, "SELECT ?");
        assertFalse(t.otherHoldsState(b));
        t.cursor(a, true);
        assertTrue(t.otherHoldsState(b));
        assertFalse(t.otherHoldsState(a), "its own state does not count");
    }

    @Test
    void commandsInFlightComeBackInOrderAndClearForgetsEverything() {
        StatementTable t = new StatementTable();
        ClientStatement a = prepared(t, "SELECT 1");
        ClientStatement b = prepared(t, "SELECT 2");
        t.sent(a);
        t.sent(b);
        assertSame(a, t.commandAnswered());
        t.cursor(b, true);
        t.deferError(b.id, new io.sluice.proxy.protocol.ErrPacket(1, "HY000", "x"));
        assertEquals("x", b.deferredError.message());
        t.clear();
        assertNull(t.commandAnswered());
        assertEquals(0, t.open());
        assertEquals(0, t.cursors());
        assertNull(t.lastPrepared());
        assertNull(t.get(b.id));
    }
}
