package io.sluice.proxy;

import io.sluice.testkit.Eventually;
import io.sluice.testkit.ExternalClient;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue #24 item 6: the id a client sees is one id. CONNECTION_ID() returns the session's Sluice id
 * (the handshake's, the one KILL takes) in both pool modes, in queries and server-side prepared
 * statements, so {@code KILL QUERY <CONNECTION_ID()>} from another connection of the same user
 * stops the query, with the result the server gives for a killed query.
 */
@ExtendWith(LeakCheckExtension.class)
class ConnectionIdIT {
    static TestServer server;

    @BeforeAll
    static void setUp() {
        server = TestServer.shared();
        server.createUser("cid", "cid-pw");
    }

    static Sluice start(String mode) {
        return Sluice.start(server, "sluice.users.cid.password = \"cid-pw\"\n"
                + "sluice.pool { mode = " + mode + ", max-per-user = 3 }\n");
    }

    static String one(Statement s, String sql) throws SQLException {
        try (ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getMetaData().getColumnLabel(1) + "=" + r.getString(1);
        }
    }

    /**
     * Runs SELECT SLEEP(20) on {@code victim} and KILL QUERY of the id its CONNECTION_ID() gave from
     * the mariadb CLI on {@code port}; returns what the sleep ended with ("1" or the error code).
     */
    static String killedSleep(Connection victim, int port) throws Exception {
        String id;
        try (Statement s = victim.createStatement()) {
            id = one(s, "SELECT CONNECTION_ID()").substring("CONNECTION_ID()=".length());
        }
        CompletableFuture<String> sleep = CompletableFuture.supplyAsync(() -> {
            try (Statement s = victim.createStatement(); ResultSet r = s.executeQuery("SELECT SLEEP(20)")) {
                r.next();
                return r.getString(1);
            } catch (SQLException e) {
                return "error " + e.getErrorCode();
            }
        });
        Eventually.until("the sleep runs on the server", () -> server.isRunning("SELECT SLEEP(20)"));
        long start = System.nanoTime();
        ExternalClient.run(ExternalClient.env(port, "cid", "cid-pw"), "mariadb", "-h127.0.0.1", "-P" + port, "-ucid",
                "-e", "KILL QUERY " + id).ok();
        String result = sleep.get(15, TimeUnit.SECONDS);
        assertTrue(System.nanoTime() - start < 10_000_000_000L, "the sleep was not stopped");
        return result;
    }

    @ParameterizedTest
    @ValueSource(strings = {"transaction", "session"})
    void connectionIdIsTheSessionsIdAndKillQueryOfItStopsTheQuery(String mode) throws Exception {
        ExternalClient.requireProgram("mariadb", "apt-get install mariadb-client");
        String direct;
        try (Connection victim = DriverManager.getConnection(server.jdbcUrl(""), "cid", "cid-pw")) {
            direct = killedSleep(victim, server.port());
        }
        try (Sluice sluice = start(mode);
             Connection c = sluice.connect("cid", "cid-pw", null, "useServerPrepStmts=true");
             Connection other = sluice.connect("cid", "cid-pw")) {
            long handshakeId = ((com.mysql.cj.jdbc.JdbcConnection) c).getId();
            try (Statement s = c.createStatement(); Statement o = other.createStatement()) {
                assertEquals("CONNECTION_ID()=" + handshakeId, one(s, "SELECT CONNECTION_ID()"));
                o.execute("SELECT SLEEP(0.05)"); // another client on the backends in between
                assertEquals("connection_id( )=" + handshakeId, one(s, "select connection_id( )"));
                assertEquals("cid=" + handshakeId, one(s, "SELECT CONNECTION_ID() AS cid"));
                assertTrue(one(s, "SELECT @@pseudo_thread_id").matches("@@pseudo_thread_id=\\d+"), "the backend's thread id");
            }
            try (PreparedStatement p = c.prepareStatement("SELECT CONNECTION_ID(), ?")) {
                p.setInt(1, 5);
                try (ResultSet r = p.executeQuery()) {
                    r.next();
                    assertEquals("CONNECTION_ID()", r.getMetaData().getColumnLabel(1));
                    assertEquals(handshakeId, r.getLong(1));
                }
            }
            assertEquals(direct, killedSleep(c, sluice.port()), "what the killed SLEEP returned, as on the server");
            try (Statement s = c.createStatement()) {
                assertEquals("5=5", one(s, "SELECT 5"), "the session goes on after KILL QUERY");
            }
        }
    }
}
