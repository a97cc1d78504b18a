package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pure parts of moving session state: the SET diff, the statement classifier, replayable user variables. */
class StateSyncTest {

    @Test
    void nothingToDoWhenTheBackendMatches() {
        assertNull(StateSync.setStatement(Map.of("sql_mode", "ANSI"), Map.of("sql_mode", "ANSI"), LOGIN, 0));
        assertNull(StateSync.setStatement(Map.of(), Map.of(), LOGIN, 0));
    }

    @Test
    void onlyTheDifferenceInOneStatementCharsetsFirst() {
        Map<String, String> wanted = new LinkedHashMap<>();
        wanted.put("time_zone", "+02:00");
        wanted.put("collation_connection", "latin1_swedish_ci");
        wanted.put("character_set_client", "latin1");
        wanted.put("max_statement_time", "5.000000");
        String set = StateSync.setStatement(wanted, Map.of("time_zone", "+02:00", "sql_mode", "ANSI"), LOGIN, 0);
        assertEquals("SET SESSION character_set_client = 'latin1', SESSION collation_connection = 'latin1_swedish_ci', "
                + "SESSION max_statement_time = 5.000000, SESSION sql_mode = DEFAULT", set);
    }

    /** What a utf8mb4 login gave the backend (BackendConnection.LOGIN_VARIABLES). */
    private static final Map<String, String> LOGIN = Map.of("character_set_client", "utf8mb4", "character_set_connection",
            "utf8mb4", "character_set_results", "utf8mb4", "collation_connection", "utf8mb4_general_ci", "wait_timeout", "28800");

    /** Issue #24: DEFAULT is the server's global character set, not the one the backend logged in with. */
    @Test
    void charsetsTheSessionNeverChangedGoBackToTheLoginValuesNotToDefault() {
        Map<String, String> latin1 = Map.of("character_set_client", "latin1", "character_set_connection", "latin1",
                "character_set_results", "latin1", "collation_connection", "latin1_swedish_ci", "time_zone", "+01:00");
        String set = StateSync.setStatement(Map.of(), latin1, LOGIN, 0);
        assertTrue(set.startsWith("SET SESSION character_set_"), set);
        assertTrue(set.contains("SESSION character_set_client = 'utf8mb4'"), set);
        assertTrue(set.contains("SESSION character_set_connection = 'utf8mb4'"), set);
        assertTrue(set.contains("SESSION character_set_results = 'utf8mb4'"), set);
        assertTrue(set.contains("SESSION time_zone = DEFAULT"), set);
        assertTrue(set.indexOf("collation_connection = 'utf8mb4_general_ci'") > set.lastIndexOf("character_set_"), set);
        // without login values (not read): DEFAULT, as before
        assertEquals("SET SESSION wait_timeout = DEFAULT", StateSync.setStatement(Map.of(), Map.of("wait_timeout", "5"), Map.of(), 0));
        assertEquals("SET SESSION wait_timeout = 28800", StateSync.setStatement(Map.of(), Map.of("wait_timeout", "5"), LOGIN, 0));
        // character_set_results = NULL at login reads back as ""
        assertEquals("SET SESSION character_set_results = NULL", StateSync.setStatement(Map.of(),
                Map.of("character_set_results", "latin1"), Map.of("character_set_results", ""), 0));
    }

    /** SET character_set_connection resets collation_connection: the collation is set after it even when it looked equal. */
    @Test
    void collationFollowsACharsetConnectionChange() {
        Map<String, String> applied = Map.of("character_set_connection", "latin1", "collation_connection", "utf8mb4_bin");
        Map<String, String> wanted = Map.of("collation_connection", "utf8mb4_bin");
        assertEquals("SET SESSION character_set_connection = 'utf8mb4', SESSION collation_connection = 'utf8mb4_bin'",
                StateSync.setStatement(wanted, applied, LOGIN, 0));
        assertEquals("SET SESSION character_set_connection = 'utf8mb4', SESSION collation_connection = 'utf8mb4_general_ci'",
                StateSync.setStatement(Map.of(), Map.of("character_set_connection", "latin1"), LOGIN, 0));
    }

    @Test
    void userVariablesAndLastInsertId() {
        String set = StateSync.setStatement(Map.of(), Map.of(), LOGIN, Map.of("a", "'x'"), Map.of("b", "1"), 42);
        assertEquals("SET @a = 'x', @b = NULL, SESSION last_insert_id = 42", set);
        assertEquals("NULL", StateSync.literal("character_set_results", ""));
        assertEquals("'it''s'", StateSync.literal("it's"));
    }

    private static int classify(String sql) {
        ByteBuf b = Unpooled.copiedBuffer(sql, StandardCharsets.UTF_8);
        try {
            return StatementClassifier.classify(b, 0, b.writerIndex());
        } finally {
            b.release();
        }
    }

    @Test
    void classifierFindsStateTheServerDoesNotDescribe() {
        assertTrue((classify("SELECT GET_LOCK('a', 1)") & StatementClassifier.GET_LOCK) != 0);
        assertTrue((classify("select release_all_locks()") & StatementClassifier.RELEASE_ALL_LOCKS) != 0);
        assertTrue((classify("LOCK TABLES t WRITE") & StatementClassifier.LOCK_TABLES) != 0);
        assertTrue((classify("FLUSH TABLES WITH READ LOCK") & StatementClassifier.LOCK_TABLES) != 0);
        assertTrue((classify("unlock tables") & StatementClassifier.UNLOCK_TABLES) != 0);
        assertTrue((classify("CREATE TEMPORARY TABLE t (a INT)") & StatementClassifier.CREATE_TEMPORARY) != 0);
        assertTrue((classify("DROP TEMPORARY TABLE t") & StatementClassifier.DROP_TEMPORARY) != 0);
        assertTrue((classify("PREPARE s FROM 'SELECT 1'") & StatementClassifier.SQL_PREPARE) != 0);
        assertTrue((classify("DEALLOCATE PREPARE s") & StatementClassifier.SQL_DEALLOCATE) != 0);
        assertTrue((classify("SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 1") & StatementClassifier.CALC_FOUND_ROWS) != 0);
        assertTrue((classify("XA START 'x'") & StatementClassifier.XA_START) != 0);
        assertTrue((classify("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE") & StatementClassifier.SET_TRANSACTION) != 0);
        assertEquals(0, classify("SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE") & StatementClassifier.SET_TRANSACTION);
        assertTrue((classify("SELECT @x := 1") & StatementClassifier.USER_VARIABLE) != 0);
        assertTrue((classify("SELECT 1 INTO @x") & StatementClassifier.USER_VARIABLE) != 0);
        assertTrue((classify("SET @x = 1") & StatementClassifier.USER_VARIABLE_SET) != 0);
        assertTrue((classify("SELECT @x") & StatementClassifier.USER_VARIABLE_READ) != 0);
        assertTrue((classify("COMMIT") & StatementClassifier.TRANSACTION_END) != 0);
        assertEquals(0, classify("ROLLBACK TO SAVEPOINT s") & StatementClassifier.TRANSACTION_END);
        assertTrue((classify("SET SESSION session_track_schema = OFF") & StatementClassifier.TRACKING_VARIABLE) != 0);
    }

    @Test
    void classifierIgnoresStringsAndComments() {
        assertEquals(0, classify("SELECT 'GET_LOCK(1) @x := 2' /* LOCK TABLES t */ -- CREATE TEMPORARY TABLE\n FROM dual"));
        assertEquals(0, classify("SELECT `@x` FROM t"));
    }

    @Test
    void replayableUserVariableSets() {
        ByteBuf b = Unpooled.copiedBuffer("SET @a = 'it''s', @B = 42, @c := NULL;", StandardCharsets.UTF_8);
        try {
            assertEquals(Map.of("a", "'it''s'", "b", "42", "c", "NULL"), UserVariables.parseSimpleSet(b, 0, b.writerIndex()));
        } finally {
            b.release();
        }
        ByteBuf e = Unpooled.copiedBuffer("SET @a = NOW()", StandardCharsets.UTF_8);
        try {
            assertNull(UserVariables.parseSimpleSet(e, 0, e.writerIndex()));
        } finally {
            e.release();
        }
    }
}
