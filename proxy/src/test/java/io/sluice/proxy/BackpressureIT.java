package io.sluice.proxy;

import io.netty.buffer.PooledByteBufAllocator;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.Statement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client that stops reading a huge result must not make Sluice buffer it: Sluice stops reading
 * the backend while the client's channel is not writable, so its memory stays at the write-buffer
 * water marks, not the size of the result.
 */
@ExtendWith(LeakCheckExtension.class)
class BackpressureIT {

    @Test
    void aSlowClientDoesNotMakeSluiceBufferTheResult() throws Exception {
        TestServer server = TestServer.shared();
        server.createUser("bp", "bp-pw");
        server.createDatabase("bp");
        try (Connection c = server.rootConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS bp.nums (n INT PRIMARY KEY)");
            s.execute("DELETE FROM bp.nums");
            StringBuilder values = new StringBuilder("INSERT INTO bp.nums VALUES (0)");
            for (int i = 1; i < 1000; i++) {
                values.append(",(").append(i).append(')');
            }
            s.execute(values.toString());
        }
        try (Sluice sluice = Sluice.start(server, "sluice.users.bp.password = \"bp-pw\"\n"
                + "sluice.frontend { write-buffer-low = 32KiB, write-buffer-high = 64KiB }\n");
             RawClient client = new RawClient(sluice.port())) {
            assertTrue(RawClient.isOk(client.login("bp", "bp-pw", "bp")));
            long before = PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
            // About 120 MB of rows; the client reads one packet and then nothing for a while.
            client.query("SELECT REPEAT('x', 400), a.n, b.n FROM nums a, nums b WHERE a.n < 300");
            client.read();
            long peak = 0;
            for (int i = 0; i < 20; i++) {
                Thread.sleep(100);
                peak = Math.max(peak, PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory() - before);
            }
            assertTrue(peak < 64L * 1024 * 1024, "Sluice buffered " + (peak >> 20) + " MiB for a client that stopped reading");
            // The client resumes and receives everything.
            client.timeout(120_000);
            long rows = 0;
            while (true) {
                byte[] p = client.read();
                if ((p[0] & 0xff) == 0xfe && p.length < 0xffffff) {
                    break;
                }
                rows++;
            }
            assertEquals(3 + 300_000, rows, "three column definitions and every row");
        }
    }
}
