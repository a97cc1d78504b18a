package io.sluice.proxy;

import io.sluice.testkit.Eventually;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input and broken peers: the offending connection gets a clear error (where the protocol
 * allows) and is closed, its backend is reset or discarded, and everyone else carries on.
 */
@ExtendWith(LeakCheckExtension.class)
class RobustnessIT {
    static TestServer server;
    static Sluice sluice;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.shared();
        server.createUser("rob", "rob-pw");
        sluice = Sluice.start(server, "sluice.users.rob.password = \"rob-pw\"\n"
                + "sluice.pool.max-per-user = 4\n"
                + "sluice.frontend { auth-timeout = 700ms, max-clients = 50 }\n");
    }

    @AfterAll
    static void stop() {
        sluice.close();
    }

    private void othersStillServed() throws Exception {
        try (Connection c = sluice.connect("rob", "rob-pw"); Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT 99")) {
            r.next();
            assertEquals(99, r.getInt(1));
        }
    }

    @Test
    void wrongPasswordAndUnknownUserGet1045AndNoBackend() throws Exception {
        int before = sluice.proxy.pools().total();
        SQLException e = assertThrows(SQLException.class, () -> sluice.connect("rob", "wrong"));
        assertEquals(1045, e.getErrorCode());
        assertEquals("28000", e.getSQLState());
        assertTrue(e.getMessage().contains("Access denied for user 'rob'"), e.getMessage());
        e = assertThrows(SQLException.class, () -> sluice.connect("nobody", "x"));
        assertEquals(1045, e.getErrorCode());
        assertEquals(before, sluice.proxy.pools().total(), "a failed login must not open a backend connection");
    }

    @Test
    void unknownDatabaseIsTheServersError() throws Exception {
        SQLException e = assertThrows(SQLException.class, () -> sluice.connect("rob", "rob-pw", "no_such_db", ""));
        assertEquals(1049, e.getErrorCode());
    }

    @Test
    void absurdLengthHeaderBeforeLoginClosesOnlyThatConnection() throws Exception {
        try (RawClient c = new RawClient(sluice.port())) {
            c.readHandshake();
            c.sendRaw(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 1, 1, 2, 3});
            byte[] err = c.read();
            assertTrue(RawClient.isErr(err));
            assertEquals(9406, RawClient.errCode(err));
            assertTrue(RawClient.errMessage(err).contains("exceeds the limit"), RawClient.errMessage(err));
            assertTrue(c.closedByPeer());
        }
        othersStillServed();
    }

    @Test
    void truncatedHandshakeResponseIsAProtocolError() throws Exception {
        try (RawClient c = new RawClient(sluice.port())) {
            c.readHandshake();
            c.send(1, new byte[] {1, 2, 3});
            byte[] err = c.read();
            assertEquals(9406, RawClient.errCode(err));
            assertTrue(RawClient.errMessage(err).contains("shorter than the 32-byte fixed part"), RawClient.errMessage(err));
            assertTrue(c.closedByPeer());
        }
        othersStillServed();
    }

    @Test
    void clientThatNeverLogsInIsClosedAfterTheAuthTimeout() throws Exception {
        int before = sluice.proxy.pools().total();
        try (RawClient c = new RawClient(sluice.port())) {
            c.readHandshake();
            long start = System.nanoTime();
            byte[] err = c.read();
            assertEquals(9408, RawClient.errCode(err));
            assertTrue(RawClient.errMessage(err).contains("sluice.frontend.auth-timeout"));
            assertTrue(c.closedByPeer());
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertTrue(ms >= 500 && ms < 5000, "closed after " + ms + " ms");
        }
        assertEquals(before, sluice.proxy.pools().total());
    }

    @Test
    void wrongSequenceIdAfterLoginIsAProtocolError() throws Exception {
        try (RawClient c = new RawClient(sluice.port())) {
            assertTrue(RawClient.isOk(c.login("rob", "rob-pw", null)));
            c.send(3, new byte[] {0x03, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1'});
            byte[] err = c.read();
            assertEquals(9406, RawClient.errCode(err));
            assertTrue(RawClient.errMessage(err).contains("out of order"), RawClient.errMessage(err));
            assertTrue(c.closedByPeer());
        }
        othersStillServed();
    }

    @Test
    void unknownCommandIsAnsweredAndTheSessionGoesOn() throws Exception {
        try (RawClient c = new RawClient(sluice.port())) {
            assertTrue(RawClient.isOk(c.login("rob", "rob-pw", null)));
            c.command(0xee, new byte[0]);
            byte[] err = c.read();
            assertEquals(1047, RawClient.errCode(err));
            c.command(0x0e, new byte[0]); // COM_PING
            assertTrue(RawClient.isOk(c.read()));
            c.command(0x12, new byte[10]); // COM_BINLOG_DUMP
            assertEquals(9407, RawClient.errCode(c.read()));
        }
    }

    @Test
    void statisticsFieldListAndSetOption() throws Exception {
        try (RawClient c = new RawClient(sluice.port())) {
            assertTrue(RawClient.isOk(c.login("rob", "rob-pw", "mysql")));
            c.command(0x09, new byte[0]); // COM_STATISTICS: one string packet
            String stats = new String(c.read(), StandardCharsets.UTF_8);
            assertTrue(stats.startsWith("Uptime:"), stats);
            c.command(0x04, "db\0".getBytes(StandardCharsets.UTF_8)); // COM_FIELD_LIST
            int columns = 0;
            while (true) {
                byte[] p = c.read();
                if ((p[0] & 0xff) == 0xfe && p.length < 0xffffff) {
                    break;
                }
                columns++;
            }
            assertTrue(columns > 3, "COM_FIELD_LIST returned " + columns + " columns");
            c.command(0x1b, new byte[] {0, 0}); // COM_SET_OPTION: multi-statements on
            byte[] reply = c.read();
            assertTrue(RawClient.isOk(reply) || (reply[0] & 0xff) == 0xfe, "set option reply");
            c.query("SELECT 1; SELECT 2");
            byte[] first = c.read();
            assertEquals(1, first[0]);
        }
    }

    @Test
    void clientVanishingMidResultLeavesNoDirtyBackend() throws Exception {
        try (RawClient c = new RawClient(sluice.port())) {
            assertTrue(RawClient.isOk(c.login("rob", "rob-pw", null)));
            c.query("SELECT REPEAT('x', 1000) FROM information_schema.columns a, information_schema.columns b LIMIT 200000");
            c.read();
        }
        // The backend was mid-result: it must be discarded, never handed to someone else.
        Eventually.until("the server sees no connection of rob mid-result", () ->
                server.connectionCount("rob") <= sluice.proxy.pools().total()
                        && sluice.proxy.sessions().all().stream().noneMatch(s -> s.busy()));
        othersStillServed();
    }

    @Test
    void backendDyingMidQueryGivesAClearErrorAndThePoolHeals() throws Exception {
        AtomicReference<SQLException> failure = new AtomicReference<>();
        try (Connection c = sluice.connect("rob", "rob-pw")) {
            Thread t = new Thread(() -> {
                try (Statement s = c.createStatement()) {
                    s.executeQuery("SELECT SLEEP(20), 'victim-marker'").close();
                } catch (SQLException e) {
                    failure.set(e);
                }
            });
            t.start();
            long thread = -1;
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (thread < 0 && System.nanoTime() < deadline) {
                try (Connection root = server.rootConnection(); Statement s = root.createStatement();
                     ResultSet r = s.executeQuery("SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(20), %'")) {
                    if (r.next()) {
                        thread = r.getLong(1);
                    }
                }
                Thread.sleep(50);
            }
            assertTrue(thread > 0, "did not find the backend thread");
            try (Connection root = server.rootConnection(); Statement s = root.createStatement()) {
                s.execute("KILL " + thread);
            }
            t.join(10_000);
            assertTrue(failure.get() != null, "the client must see an error");
        }
        Eventually.until("the pool forgets the dead backend", () -> sluice.proxy.pools().snapshot().stream().allMatch(p -> p.busy() == 0));
        othersStillServed();
    }

    @Test
    void processKillWithASluiceIdEndsThatSession() throws Exception {
        try (RawClient victim = new RawClient(sluice.port()); RawClient killer = new RawClient(sluice.port())) {
            assertTrue(RawClient.isOk(victim.login("rob", "rob-pw", null)));
            assertTrue(RawClient.isOk(killer.login("rob", "rob-pw", null)));
            long id = victim.connectionId;
            killer.command(0x0c, new byte[] {(byte) id, (byte) (id >> 8), (byte) (id >> 16), (byte) (id >> 24)});
            assertTrue(RawClient.isOk(killer.read()));
            assertTrue(victim.closedByPeer());
            killer.command(0x0c, new byte[] {(byte) 0xfe, (byte) 0xff, (byte) 0xff, 0x7f});
            assertEquals(1094, RawClient.errCode(killer.read()));
        }
    }
}
