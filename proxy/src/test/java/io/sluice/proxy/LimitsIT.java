package io.sluice.proxy;

import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.SQLException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Front-end limits: client connection cap and idle timeout. */
@ExtendWith(LeakCheckExtension.class)
class LimitsIT {

    @Test
    void connectionsOverMaxClientsAreRefusedAtConnect() throws Exception {
        TestServer server = TestServer.shared();
        server.createUser("lim", "lim-pw");
        try (Sluice sluice = Sluice.start(server, "sluice.users.lim.password = \"lim-pw\"\nsluice.frontend.max-clients = 2\n");
             Connection a = sluice.connect("lim", "lim-pw");
             Connection b = sluice.connect("lim", "lim-pw")) {
            SQLException e = assertThrows(SQLException.class, () -> sluice.connect("lim", "lim-pw"));
            assertEquals(9403, e.getErrorCode(), e.toString());
            assertTrue(e.getMessage().contains("sluice.frontend.max-clients"), e.getMessage());
            a.close();
            try (Connection c = connectOnceCountedOut(sluice)) {
                assertTrue(c.isValid(2));
            }
        }
    }

    /**
     * Connects as lim once Sluice has counted a closed client out: it does so when it sees the
     * connection close, after the client's close() has returned, so a connect right after may still
     * get 9403. Any other error, or 9403 for 10 s, fails.
     */
    private static Connection connectOnceCountedOut(Sluice sluice) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (true) {
            try {
                return sluice.connect("lim", "lim-pw");
            } catch (SQLException e) {
                if (e.getErrorCode() != 9403 || System.nanoTime() - deadline > 0) {
                    throw e;
                }
                Thread.sleep(20);
            }
        }
    }

    @Test
    void idleClientsAreClosedAfterTheIdleTimeout() throws Exception {
        TestServer server = TestServer.shared();
        server.createUser("lim", "lim-pw");
        try (Sluice sluice = Sluice.start(server, "sluice.users.lim.password = \"lim-pw\"\nsluice.frontend.idle-timeout = 600ms\n");
             RawClient c = new RawClient(sluice.port())) {
            assertTrue(RawClient.isOk(c.login("lim", "lim-pw", null)));
            c.query("SELECT 1");
            c.readResponse();
            byte[] err = c.read();
            assertEquals(9408, RawClient.errCode(err));
            assertTrue(RawClient.errMessage(err).contains("sluice.frontend.idle-timeout"));
            assertTrue(c.closedByPeer());
        }
    }

    @Test
    void perUserAndPerHostLimits() throws Exception {
        TestServer server = TestServer.shared();
        server.createUser("lim", "lim-pw");
        server.createUser("lim2", "lim2-pw");
        try (Sluice sluice = Sluice.start(server, "sluice.users { lim.password = \"lim-pw\", lim2.password = \"lim2-pw\" }\n"
                + "sluice.frontend.max-clients-per-user = 1\n");
             Connection a = sluice.connect("lim", "lim-pw");
             Connection other = sluice.connect("lim2", "lim2-pw")) {
            SQLException e = assertThrows(SQLException.class, () -> sluice.connect("lim", "lim-pw"));
            assertEquals(9403, e.getErrorCode(), e.toString());
            assertTrue(e.getMessage().contains("sluice.frontend.max-clients-per-user"), e.getMessage());
            assertTrue(other.isValid(2), "another user is not affected");
            a.close();
            try (Connection again = connectOnceCountedOut(sluice)) {
                assertTrue(again.isValid(2));
            }
        }
        try (Sluice sluice = Sluice.start(server, "sluice.users.lim.password = \"lim-pw\"\n"
                + "sluice.frontend.max-clients-per-host = 2\n");
             Connection a = sluice.connect("lim", "lim-pw");
             Connection b = sluice.connect("lim", "lim-pw")) {
            SQLException e = assertThrows(SQLException.class, () -> sluice.connect("lim", "lim-pw"));
            assertEquals(9403, e.getErrorCode(), e.toString());
            assertTrue(e.getMessage().contains("from 127.0.0.1") && e.getMessage().contains("max-clients-per-host"), e.getMessage());
        }
    }
}
