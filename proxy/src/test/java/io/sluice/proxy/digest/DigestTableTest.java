package io.sluice.proxy.digest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sluice.config.DigestsConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class DigestTableTest {

    private static DigestTable table(int max) {
        return new DigestTable(new DigestsConfig(true, max, 1024), i -> i < 0 ? "db:3306" : "db" + i + ":3306");
    }

    @Test
    void boundHoldsAndEvictionsAreCountedLeastRecentlySeenFirst() {
        DigestTable t = table(100);
        long now = 0;
        List<DigestStats> made = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            made.add(t.create(DigestTable.key(i, 1, -1), i, "SELECT " + i, "app", -1, now++));
        }
        assertEquals(100, t.size());
        assertEquals(0, t.evictions());
        // Entry 0 is seen again: the least recently seen are now 1, 2, ...
        made.get(0).record(10, 0, 1, 0, now++);
        DigestStats extra = t.create(DigestTable.key(1000, 1, -1), 1000, "SELECT x", "app", -1, now++);
        assertTrue(t.size() <= 100, "size " + t.size());
        assertEquals(101 - t.size(), t.evictions());
        assertNotNull(t.get(made.get(0).key()), "recently seen, kept");
        assertNotNull(t.get(extra.key()), "just added, kept");
        assertNull(t.get(made.get(1).key()), "least recently seen, evicted");
        assertTrue(made.get(1).evicted);
        assertFalse(made.get(0).evicted);
        for (int i = 0; i < 10_000; i++) {
            t.create(DigestTable.key(2000 + i, 1, -1), 2000 + i, "SELECT y", "app", -1, now++);
            assertTrue(t.size() <= 100);
        }
        assertEquals(10_101 - t.size(), t.evictions());
    }

    @Test
    void keysSeparateUsersAndServers() {
        long d = 42;
        assertTrue(DigestTable.key(d, 1, -1) != DigestTable.key(d, 2, -1));
        assertTrue(DigestTable.key(d, 1, 0) != DigestTable.key(d, 1, 1));
        assertTrue(DigestTable.key(d, 1, -1) != DigestTable.key(d, 1, 0));
    }

    @Test
    void topSortsByTheOrderAskedAndResetForgets() {
        DigestTable t = table(10);
        DigestStats a = t.create(1, 1, "A", "app", -1, 0);
        DigestStats b = t.create(2, 2, "B", "app", 0, 0);
        a.record(1_000, 0, 5, 0, 1);
        a.record(1_000, 0, 5, 1062, 2);
        b.record(50_000, 40_000, 0, 0, 3);
        assertEquals(List.of(b, a), t.top(DigestTable.Order.TOTAL_TIME, 10));
        assertEquals(List.of(a, b), t.top(DigestTable.Order.COUNT, 10));
        assertEquals(List.of(a), t.top(DigestTable.Order.ERRORS, 1));
        assertEquals(List.of(a, b), t.top(DigestTable.Order.ROWS, 2));
        assertEquals(List.of(b, a), t.top(DigestTable.Order.WAIT_TIME, 2));
        assertEquals(2, a.count());
        assertEquals(1, a.errors());
        assertEquals(java.util.Map.of(1062, 1L), a.errorCodes());
        assertEquals(10, a.rows());
        assertEquals("db0:3306", b.server());
        assertEquals("db:3306", a.server());
        t.reset();
        assertEquals(0, t.size());
        assertTrue(a.evicted && b.evicted);
        assertEquals(0, t.evictions(), "a reset is not an eviction");
    }

    @Test
    void concurrentUpdatesAreAllCounted() throws InterruptedException {
        DigestTable t = table(1000);
        int threads = 4;
        int perThread = 50_000;
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> all = new ArrayList<>();
        for (int n = 0; n < threads; n++) {
            Thread th = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perThread; i++) {
                    long key = DigestTable.key(i % 20, 7, -1);
                    DigestStats s = t.get(key);
                    if (s == null) {
                        s = t.create(key, i % 20, "S" + (i % 20), "app", -1, i);
                    }
                    s.record(i % 1000, 1, 1, i % 100 == 0 ? 1213 : 0, i);
                }
            });
            th.start();
            all.add(th);
        }
        go.countDown();
        for (Thread th : all) {
            th.join();
        }
        long count = 0;
        long errors = 0;
        long max = 0;
        for (DigestStats s : t.top(DigestTable.Order.COUNT, 100)) {
            count += s.count();
            errors += s.errors();
            max = Math.max(max, s.maxNanos());
        }
        assertEquals(20, t.size());
        assertEquals((long) threads * perThread, count);
        assertEquals((long) threads * perThread / 100, errors);
        assertEquals(999, max);
    }
}
