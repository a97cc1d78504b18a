package io.sluice.proxy.session;

import org.junit.jupiter.api.Test;

import java.util.List;

import static io.sluice.proxy.session.StatementClassifier.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The table from statement flags to pins, driven as the session drives it at the end of each statement. */
class PinTableTest {
    private final PinTable pins = new PinTable();

    private static int flags(String sql) {
        byte[] b = sql.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return StatementClassifier.classify(io.netty.buffer.Unpooled.wrappedBuffer(b), 0, b.length);
    }

    private void ok(String sql) {
        pins.statementDone(flags(sql), false, false, false);
    }

    @Test
    void plainStatementsPinNothing() {
        ok("SELECT 1");
        ok("INSERT INTO t VALUES (1)");
        assertFalse(pins.pinned());
        assertEquals(List.of(), pins.list());
    }

    @Test
    void eachStatementPinsItsReasonAndItsCounterpartReleasesIt() {
        String[][] pairs = {
                {"CREATE TEMPORARY TABLE t (a int)", "DROP TEMPORARY TABLE t", "TEMPORARY_TABLES"},
                {"PREPARE s FROM 'SELECT 1'", "DEALLOCATE PREPARE s", "SQL_PREPARED"},
                {"SELECT GET_LOCK('a', 1)", "SELECT RELEASE_LOCK('a')", "NAMED_LOCKS"},
                {"LOCK TABLES t READ", "UNLOCK TABLES", "TABLE_LOCKS"},
                {"XA START 'x'", "XA ROLLBACK 'x'", "XA"},
                {"HANDLER t OPEN", "HANDLER t CLOSE", "HANDLER"},
        };
        for (String[] p : pairs) {
            ok(p[0]);
            assertEquals(List.of(Pin.valueOf(p[2])), pins.list(), p[0]);
            ok(p[1]);
            assertFalse(pins.pinned(), p[1]);
        }
    }

    @Test
    void countedPinsNeedAsManyReleases() {
        ok("CREATE TEMPORARY TABLE a (x int)");
        ok("CREATE TEMPORARY TABLE b (x int)");
        ok("DROP TEMPORARY TABLE a");
        assertTrue(pins.has(Pin.TEMPORARY_TABLES));
        ok("DROP TEMPORARY TABLE b");
        assertFalse(pins.pinned());
        ok("SELECT GET_LOCK('a', 1)");
        ok("SELECT GET_LOCK('b', 1)");
        ok("SELECT RELEASE_ALL_LOCKS()");
        assertFalse(pins.pinned(), "RELEASE_ALL_LOCKS clears every named lock at once");
    }

    @Test
    void aFailedReleaseKeepsThePin() {
        ok("LOCK TABLES t READ");
        pins.statementDone(flags("UNLOCK TABLES"), true, false, false);
        assertEquals(List.of(Pin.TABLE_LOCKS), pins.list());
    }

    @Test
    void aFailedStatementStillPins() {
        pins.statementDone(flags("CREATE TEMPORARY TABLE t (a int)"), true, false, false);
        assertEquals(List.of(Pin.TEMPORARY_TABLES), pins.list());
    }

    @Test
    void foundRowsLastsOneStatement() {
        ok("SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 1");
        assertEquals(List.of(Pin.FOUND_ROWS), pins.list());
        ok("SELECT FOUND_ROWS()");
        assertFalse(pins.pinned());
    }

    @Test
    void transactionFollowsTheServerStatusAndTakesNextTransactionWithIt() {
        ok("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
        assertEquals(List.of(Pin.NEXT_TRANSACTION), pins.list());
        pins.transactionStatus(true);
        assertEquals(List.of(Pin.TRANSACTION, Pin.NEXT_TRANSACTION), pins.list());
        pins.transactionStatus(true);
        pins.transactionStatus(false);
        assertFalse(pins.pinned());
    }

    @Test
    void autocommitOffPinsEveryStatementUntilCommit() {
        pins.statementDone(flags("SELECT 1"), false, true, false);
        assertEquals(List.of(Pin.TRANSACTION), pins.list());
        pins.statementDone(flags("COMMIT"), false, true, false);
        assertFalse(pins.pinned());
        pins.statementDone(flags("COMMIT"), true, true, false);
        assertEquals(List.of(Pin.TRANSACTION), pins.list(), "a failed COMMIT leaves the transaction open");
    }

    @Test
    void anUnexplainedStateChangePinsOnceUnlessTheStatementExplainsIt() {
        pins.statementDone(flags("SELECT 1"), false, false, true);
        pins.statementDone(flags("SELECT 1"), false, false, true);
        assertEquals(List.of(Pin.UNTRACKED_STATE), pins.list());
        pins.clear();
        pins.statementDone(flags("CREATE TEMPORARY TABLE t (a int)"), false, false, true);
        assertEquals(List.of(Pin.TEMPORARY_TABLES), pins.list());
    }

    @Test
    void userVariablesPinOnlyWhenNotReplayable() {
        int f = flags("SELECT @a := 1");
        pins.statementDone(f | USER_VARIABLE, false, false, false);
        assertEquals(List.of(Pin.USER_VARIABLES), pins.list());
    }
}
