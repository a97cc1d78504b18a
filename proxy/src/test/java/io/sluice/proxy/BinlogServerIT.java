package io.sluice.proxy;

import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestCluster;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.Statement;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A server with its binary log on, as every primary has: each commit reports the transaction's GTID
 * in session tracking ({@code last_gtid} on MariaDB). That is the server's answer about a write, not
 * session state a client set, so it must never be replayed onto another backend (the server refuses
 * to SET it: "Variable 'last_gtid' is a read only variable").
 */
@ExtendWith(LeakCheckExtension.class)
class BinlogServerIT {
    static TestCluster cluster;
    static TestServer server;

    @BeforeAll
    static void setUp() throws Exception {
        cluster = TestCluster.start(0);
        server = cluster.primary();
        server.createUser("bl", "bl-pw");
        server.createDatabase("bl");
        try (Connection c = server.rootConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE bl.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)");
        }
    }

    @AfterAll
    static void tearDown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aWritesGtidDoesNotFollowTheSessionToAnotherBackend() throws Exception {
        try (Sluice sluice = Sluice.start(server, "sluice.users.bl.password = \"bl-pw\"\n"
                + "sluice.pool { mode = transaction, max-per-user = 2, acquire-timeout = 10s }\n");
             Connection writer = sluice.connect("bl", "bl-pw", "bl", "");
             Connection holder = sluice.connect("bl", "bl-pw", "bl", "");
             Statement w = writer.createStatement();
             Statement h = holder.createStatement()) {
            w.executeUpdate("INSERT INTO t (v) VALUES (1)"); // commits on backend A, which reports last_gtid
            h.execute("BEGIN");
            h.executeQuery("SELECT 1").close(); // its open transaction holds backend A or B
            // The holder's transaction keeps one backend, so the writer's next statements run on the
            // other one, with the state of a session that has written; then again the other way round.
            h.execute("COMMIT");
            for (int i = 0; i < 20; i++) {
                h.execute("BEGIN");
                h.executeQuery("SELECT 1").close();
                assertEquals("1", MultiplexingIT.one(w, "SELECT COUNT(*) FROM t WHERE v = 1"));
                w.executeUpdate("INSERT INTO t (v) VALUES (2)");
                h.execute("COMMIT");
                assertEquals("1", MultiplexingIT.one(w, "SELECT 1"));
            }
            assertEquals("20", MultiplexingIT.one(w, "SELECT COUNT(*) FROM t WHERE v = 2"));
        }
    }
}
