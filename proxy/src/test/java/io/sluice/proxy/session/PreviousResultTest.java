package io.sluice.proxy.session;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Which statements Sluice answers with the session's own ROW_COUNT() / FOUND_ROWS(), and how. */
class PreviousResultTest {

    @Test
    void standaloneFormsBecomeLiteralsNamedAsTheServerNamesThem() {
        assertEquals("SELECT 4 AS `ROW_COUNT()`", PreviousResult.replacement("SELECT ROW_COUNT()", 4, 9));
        assertEquals("SELECT 9 AS `found_rows( )`", PreviousResult.replacement("  select  found_rows( ) ; ", 4, 9));
        assertEquals("SELECT -1 AS `Row_Count()`", PreviousResult.replacement("Select Row_Count()", -1, 0));
    }

    @Test
    void anythingElseIsLeftToTheServer() {
        assertNull(PreviousResult.replacement("SELECT ROW_COUNT() + 1", 4, 9));
        assertNull(PreviousResult.replacement("SELECT ROW_COUNT(), FOUND_ROWS()", 4, 9));
        assertNull(PreviousResult.replacement("SELECT 'ROW_COUNT()'", 4, 9));
        assertNull(PreviousResult.replacement("SELECT ROW_COUNT() FROM t", 4, 9));
    }
}
