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
            Thread.sleep(200);
            try (Connection c = sluice.connect("lim", "lim-pw")) {
                assertTrue(c.isValid(2));
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
}
