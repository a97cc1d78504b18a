package io.sluice.proxy.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class GtidSetTest {

    @Test
    void mariadbPositionsCoverBySequencePerDomain() {
        GtidSet replica = GtidSet.parse("0-1-100,1-2-7");
        assertTrue(replica.covers(GtidSet.parse("0-1-100")));
        assertTrue(replica.covers(GtidSet.parse("0-3-99"))); // another server wrote seq 99 of domain 0
        assertFalse(replica.covers(GtidSet.parse("0-1-101")));
        assertFalse(replica.covers(GtidSet.parse("2-1-1"))); // a domain the replica has not seen
        assertTrue(replica.covers(GtidSet.parse("0-1-5,1-2-7")));
        assertFalse(replica.covers(GtidSet.parse("0-1-5,1-2-8")));
    }

    @Test
    void mysqlSetsCoverByContainment() {
        String a = "3E11FA47-71CA-11E1-9E33-C80AA9429562";
        GtidSet executed = GtidSet.parse(a + ":1-100:105-110,4e11fa47-71ca-11e1-9e33-c80aa9429562:1-5");
        assertTrue(executed.covers(GtidSet.parse(a.toLowerCase() + ":100")));
        assertTrue(executed.covers(GtidSet.parse(a + ":7-9:106")));
        assertFalse(executed.covers(GtidSet.parse(a + ":103")));
        assertFalse(executed.covers(GtidSet.parse(a + ":100-105")));
        assertFalse(executed.covers(GtidSet.parse("5e11fa47-71ca-11e1-9e33-c80aa9429562:1")));
        assertTrue(GtidSet.parse(a + ":1-3:4-6").covers(GtidSet.parse(a + ":2-5"))); // adjacent intervals merge
    }

    @Test
    void emptyAndUnreadable() {
        assertTrue(GtidSet.parse("").isEmpty());
        assertTrue(GtidSet.parse(null).isEmpty());
        assertTrue(GtidSet.parse("garbage-x").isEmpty());
        assertTrue(GtidSet.EMPTY.covers(GtidSet.EMPTY));
        assertTrue(GtidSet.parse("0-1-1").covers(GtidSet.EMPTY));
        assertFalse(GtidSet.EMPTY.covers(GtidSet.parse("0-1-1")));
    }

    @Test
    void maxOfOneHistoryAndOfTwoDomains() {
        assertEquals("0-1-9", GtidSet.parse("0-1-5").max(GtidSet.parse("0-1-9")).toString());
        assertEquals("0-1-9", GtidSet.parse("0-1-9").max(GtidSet.parse("0-1-5")).toString());
        GtidSet both = GtidSet.parse("0-1-5").max(GtidSet.parse("1-1-3"));
        assertTrue(both.covers(GtidSet.parse("0-1-5,1-1-3")));
        assertFalse(both.covers(GtidSet.parse("1-1-4")));
    }
}
