package io.sluice.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.sluice.admin.AdminFixture.sessions;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The graceful drain run on SIGTERM: Sluice stops accepting and turns not-ready at once, lets an
 * open transaction finish (the server sees it committed, not cut), and gives up at the drain timeout.
 */
@ExtendWith(LeakCheckExtension.class)
class DrainIT {
    static final String USER = "adm_drain";
    static final String PASSWORD = "adm-drain-pw";
    static TestServer server;

    @BeforeAll
    static void setUp() {
        server = TestServer.shared();
        server.createDatabase("adm_drain");
        server.execute("CREATE TABLE IF NOT EXISTS adm_drain.orders (id INT PRIMARY KEY)", "DELETE FROM adm_drain.orders");
        server.createUser(USER, PASSWORD);
    }

    @Test
    void drainLetsAnOpenTransactionCommitThenEnds() throws Exception {
        try (AdminFixture f = AdminFixture.start(server, "sluice.users." + USER + ".password = \"" + PASSWORD + "\"\n");
             Connection tx = f.connect(USER, PASSWORD, "drain-it-tx");
             Connection idle = f.connect(USER, PASSWORD, "drain-it-idle")) {
            tx.setAutoCommit(false);
            try (Statement s = tx.createStatement()) {
                s.executeUpdate("INSERT INTO adm_drain.orders VALUES (1)");
            }
            JsonNode open = sessions(f.get("/sessions").json(), USER, null).get(0);
            assertTrue(open.path("in_transaction").asBoolean(), open.toPrettyString());

            CompletableFuture<Drain.Result> drain = CompletableFuture.supplyAsync(() -> Drain.run(f.proxy, Duration.ofSeconds(30)));
            JsonNode ready = f.await("/ready", r -> !r.path("accepting").asBoolean(), Duration.ofSeconds(10));
            assertFalse(ready.path("ready").asBoolean());
            assertTrue(ready.path("reasons").get(0).asText().startsWith("draining"), ready.toPrettyString());
            assertEquals(503, f.get("/ready").status());
            SQLException late = assertThrows(SQLException.class, () -> f.connect(USER, PASSWORD, "drain-it-late").close(),
                    "a draining Sluice accepts no new client");
            assertEquals(9409, late.getErrorCode(), "a new client reads the documented error: " + late);
            assertTrue(late.getMessage().contains("Sluice is shutting down"), late.getMessage());
            // A session with nothing in flight and no transaction gets 9409 for its next command, and is closed.
            SQLException next = assertThrows(SQLException.class, () -> {
                try (Statement s = idle.createStatement()) {
                    s.executeQuery("SELECT 1").close();
                }
            });
            assertEquals(9409, next.getErrorCode(), next.toString());
            assertTrue(idle.isClosed() || !idle.isValid(2), "closed after 9409");

            Thread.sleep(300);
            assertFalse(drain.isDone(), "the drain waits for the open transaction");
            tx.commit();
            Drain.Result result = drain.get(10, TimeUnit.SECONDS);
            assertTrue(result.drained(), result.toString());
            assertEquals(0, result.busyLeft());
            assertTrue(result.waitedMillis() >= 300, result.toString());

            try (Connection root = server.rootConnection(); Statement s = root.createStatement();
                 ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM adm_drain.orders WHERE id = 1")) {
                rs.next();
                assertEquals(1, rs.getInt(1), "the transaction finished during the drain was committed");
            }
            // Its transaction over, the session's next command (Connector/J's rollback on close) is refused.
            assertThrows(SQLException.class, tx::close);
        }
    }

    @Test
    void drainTimeoutEndsTheWaitWithBusySessionsLeft() throws Exception {
        CompletableFuture<SQLException> query;
        try (AdminFixture f = AdminFixture.start(server, "sluice.users." + USER + ".password = \"" + PASSWORD + "\"\n");
             Connection busy = f.connect(USER, PASSWORD, "drain-it-busy")) {
            query = CompletableFuture.supplyAsync(() -> {
                try (Statement s = busy.createStatement()) {
                    s.executeQuery("SELECT SLEEP(10)").close();
                    return null;
                } catch (SQLException e) {
                    return e; // cut at close, as expected when the drain timed out
                }
            });
            f.await("/sessions", ss -> !sessions(ss, USER, "query").isEmpty(), Duration.ofSeconds(10));
            Drain.Result result = Drain.run(f.proxy, Duration.ofMillis(300));
            assertFalse(result.drained());
            assertEquals(1, result.busyLeft());
            assertTrue(result.waitedMillis() >= 300 && result.waitedMillis() < 8000, result.toString());
            f.proxy.close(); // what the launcher does next
            SQLException cut = query.get(10, TimeUnit.SECONDS); // the proxy closed: the cut query ended too
            assertTrue(cut != null && cut.getErrorCode() == 9409 && cut.getMessage().contains("Sluice is shutting down"),
                    "the statement cut at the drain timeout reads 9409, not a lost connection: " + cut);
        }
    }
}
