package io.sluice.admin;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.proxy.RawClient;
import io.sluice.proxy.protocol.SluiceError;
import io.sluice.proxy.metrics.ProxyMetrics;
import io.sluice.proxy.pool.PoolSnapshot;
import io.sluice.proxy.session.ClientSession;
import io.sluice.testkit.Eventually;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import static io.sluice.admin.AdminFixture.sessions;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Leak detection with real Connector/J clients: a session idle inside a transaction past
 * {@code leak-warning-after} is logged once (WARN, identifying the client) and counted; past
 * {@code idle-in-transaction-timeout} the client gets error 9410, the server rolls the transaction
 * back and the backend goes back to the pool, reset. In transaction pool mode and in session mode;
 * and a session idle while pinned outside a transaction is reported but not closed.
 */
@ExtendWith(LeakCheckExtension.class)
class LeakDetectionIT {
    static final String TX_USER = "adm_leak_tx";
    static final String SESSION_USER = "adm_leak_session";
    static final String PASSWORD = "adm-leak-pw";
    static final String LEAK_LINE = "a likely leaked connection";
    static final String CLOSE_LINE = "sluice.frontend.idle-in-transaction-timeout";
    static TestServer server;

    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    private final Logger sessionLog = (Logger) LoggerFactory.getLogger(ClientSession.class);

    @BeforeAll
    static void setUp() {
        server = TestServer.shared();
        server.createDatabase("adm_leak");
        server.execute("CREATE TABLE IF NOT EXISTS adm_leak.orders (id INT PRIMARY KEY, who VARCHAR(32))",
                "DELETE FROM adm_leak.orders");
        server.createUser(TX_USER, PASSWORD);
        server.createUser(SESSION_USER, PASSWORD);
    }

    @BeforeEach
    void captureLog() {
        logged.start();
        sessionLog.addAppender(logged);
    }

    @AfterEach
    void releaseLog() {
        sessionLog.detachAppender(logged);
        logged.stop();
    }

    private static String config(String mode) {
        return "sluice.users." + TX_USER + " { password = \"" + PASSWORD + "\", pool-mode = transaction }\n"
                + "sluice.users." + SESSION_USER + " { password = \"" + PASSWORD + "\", pool-mode = session }\n"
                + "sluice.pool.max-per-user = 2\n"
                + "sluice.frontend { leak-warning-after = 1s, idle-in-transaction-timeout = " + mode + " }\n";
    }

    @Test
    void transactionModeIdleInTransactionIsReportedOnceThenClosedAndRolledBack() throws Exception {
        idleInTransactionIsReportedOnceThenClosedAndRolledBack(TX_USER, 1, "leak-it-tx");
    }

    @Test
    void sessionModeIdleInTransactionIsReportedOnceThenClosedAndRolledBack() throws Exception {
        idleInTransactionIsReportedOnceThenClosedAndRolledBack(SESSION_USER, 2, "leak-it-session");
    }

    /**
     * Two clients of {@code user} idle inside a transaction: Connector/J, and a raw client that reads
     * what Sluice sends before closing (Connector/J discards unread input before its next command,
     * so it can only report a lost connection).
     */
    private void idleInTransactionIsReportedOnceThenClosedAndRolledBack(String user, int id, String program) throws Exception {
        String rawProgram = program + "-raw";
        try (AdminFixture f = AdminFixture.start(server, config("7s"));
             Connection client = f.connect(user, PASSWORD, program);
             RawClient raw = new RawClient(f.proxy.port())) {
            assertTrue(RawClient.isOk(raw.login(user, PASSWORD, null, rawProgram)), "raw client login");
            client.setAutoCommit(false);
            try (Statement s = client.createStatement()) {
                s.executeUpdate("INSERT INTO adm_leak.orders VALUES (" + id + ", '" + program + "')");
            }
            assertTrue(RawClient.isOk(raw.execute("BEGIN")));
            assertTrue(RawClient.isOk(raw.execute("INSERT INTO adm_leak.orders VALUES (" + (id + 100) + ", 'raw')")));
            long idleFrom = System.nanoTime();

            // Past leak-warning-after: each counted once, /sessions shows the transaction's age.
            Eventually.until("both leaks are counted", Duration.ofSeconds(5), () -> leaks(f, "in_transaction") == 2);
            JsonNode session = byProgram(f.get("/sessions").json(), program);
            assertEquals("idle", session.path("state").asText(), session.toPrettyString());
            assertTrue(session.path("in_transaction").asBoolean(), session.toPrettyString());
            assertTrue(session.path("transaction_ms").asLong() >= 1000, session.toPrettyString());
            assertTrue(session.path("idle_ms").asLong() >= 1000, session.toPrettyString());
            assertTrue(session.path("command_ms").isNull(), session.toPrettyString());
            if (user.equals(TX_USER)) {
                assertEquals("transaction", session.path("pins").get(0).asText(), session.toPrettyString());
            }
            List<ILoggingEvent> warnings = lines(program, LEAK_LINE);
            assertEquals(1, warnings.size(), warnings.toString());
            ILoggingEvent w = warnings.get(0);
            assertEquals(Level.WARN, w.getLevel());
            String line = w.getFormattedMessage();
            assertTrue(line.contains("session#" + session.path("id").asLong() + "(" + user + "@127.0.0.1)"), line);
            assertTrue(line.contains("in a transaction open for"), line);
            assertTrue(line.contains("client /127.0.0.1:" + session.path("client_port").asInt()), line);
            assertTrue(line.contains("program_name '" + program + "'"), line);
            assertTrue(line.contains("pins " + (user.equals(TX_USER) ? "[transaction]" : "[]")), line);
            assertEquals(1, lines(rawProgram, LEAK_LINE).size());

            // Past idle-in-transaction-timeout: closed, counted; the warnings were not repeated meanwhile.
            Eventually.until("both sessions are closed", Duration.ofSeconds(12), () -> closes(f) == 2);
            assertTrue(System.nanoTime() - idleFrom >= Duration.ofMillis(6800).toNanos(), "closed before the timeout");
            assertEquals(1, lines(program, LEAK_LINE).size(), "logged once, not once per check");
            assertEquals(1, lines(rawProgram, LEAK_LINE).size(), "logged once, not once per check");
            assertEquals(1, lines(program, CLOSE_LINE).size());
            assertEquals(2.0, leaks(f, "in_transaction"));
            assertEquals(0.0, leaks(f, "pinned"));

            // What the client was sent: ERR 9410 (SQLSTATE 08S01), then the end of the connection.
            byte[] err = raw.read();
            assertTrue(RawClient.isErr(err), "expected an ERR packet");
            assertEquals(SluiceError.IDLE_IN_TRANSACTION_TIMEOUT.code(), RawClient.errCode(err));
            assertEquals("08S01", RawClient.sqlState(err));
            assertTrue(RawClient.errMessage(err).contains("idle in a transaction"), RawClient.errMessage(err));
            assertTrue(RawClient.errMessage(err).contains("sluice.frontend.idle-in-transaction-timeout"));
            assertTrue(raw.closedByPeer());
            assertThrows(SQLException.class, client::commit, "the JDBC client's connection is gone too");

            // The server rolled both transactions back; the backends were reset and went back to the pool.
            // Uncommitted rows are invisible to a reader, so write the same keys instead: that works only
            // once both transactions are rolled back (committed rows would be duplicates; open
            // transactions would hold the keys' locks past the 1 s lock wait).
            try (Connection root = server.rootConnection(); Statement s = root.createStatement()) {
                s.execute("SET SESSION innodb_lock_wait_timeout = 1");
                assertEquals(2, s.executeUpdate("INSERT INTO adm_leak.orders VALUES (" + id + ", 'check'), (" + (id + 100) + ", 'check')"),
                        "the idle transactions' INSERTs were rolled back");
                assertEquals(2, s.executeUpdate("DELETE FROM adm_leak.orders WHERE id IN (" + id + ", " + (id + 100) + ")"));
            }
            f.await("/stats", st -> st.path("clients").asInt() == 0, Duration.ofSeconds(5));
            Eventually.until("the backends are back in the pool", Duration.ofSeconds(5),
                    () -> pool(f, user).busy() == 0 && pool(f, user).idle() == 2);
            assertEquals(2, server.awaitConnectionCount(user, 2, Duration.ofSeconds(5)),
                    "the server still sees the two backends, idle in the pool, not leaked extras");

            // A backend serves the next client, in a fresh state.
            try (Connection next = f.connect(user, PASSWORD, program + "-next"); Statement s = next.createStatement();
                 ResultSet rs = s.executeQuery("SELECT @@autocommit, (SELECT COUNT(*) FROM adm_leak.orders WHERE id = " + id + ")")) {
                rs.next();
                assertEquals(1, rs.getInt(1));
                assertEquals(0, rs.getInt(2));
            }
            assertEquals(2, server.awaitConnectionCount(user, 2, Duration.ofSeconds(5)));
        }
    }

    private static JsonNode byProgram(JsonNode sessions, String program) {
        for (JsonNode s : sessions) {
            if (s.path("program_name").asText().equals(program)) {
                return s;
            }
        }
        throw new AssertionError("no session of " + program + " in " + sessions.toPrettyString());
    }

    @Test
    void idleWhilePinnedOutsideATransactionIsReportedButNotClosed() throws Exception {
        try (AdminFixture f = AdminFixture.start(server, config("2s"));
             Connection client = f.connect(TX_USER, PASSWORD, "leak-it-pinned")) {
            try (Statement s = client.createStatement(); ResultSet rs = s.executeQuery("SELECT GET_LOCK('adm_leak_lock', 0)")) {
                rs.next();
                assertEquals(1, rs.getInt(1));
            }
            Eventually.until("the pinned session is counted", Duration.ofSeconds(5), () -> leaks(f, "pinned") == 1);
            List<ILoggingEvent> warnings = lines("leak-it-pinned", LEAK_LINE);
            assertEquals(1, warnings.size(), warnings.toString());
            String line = warnings.get(0).getFormattedMessage();
            assertTrue(line.contains("outside a transaction while pinned"), line);
            assertTrue(line.contains("pins [named_locks]"), line);

            Thread.sleep(3000); // past idle-in-transaction-timeout: not a transaction, so not closed
            assertEquals(0.0, closes(f));
            assertEquals(0.0, leaks(f, "in_transaction"));
            assertEquals(1, lines("leak-it-pinned", LEAK_LINE).size(), "logged once");
            JsonNode session = sessions(f.get("/sessions").json(), TX_USER, "idle").get(0);
            assertFalse(session.path("in_transaction").asBoolean(), session.toPrettyString());
            assertTrue(session.path("transaction_ms").isNull(), session.toPrettyString());
            try (Statement s = client.createStatement(); ResultSet rs = s.executeQuery("SELECT RELEASE_LOCK('adm_leak_lock')")) {
                rs.next();
                assertEquals(1, rs.getInt(1), "the session and its lock are still there");
            }
        }
    }

    private List<ILoggingEvent> lines(String program, String containing) {
        synchronized (logged) {
            return logged.list.stream().filter(e -> e.getFormattedMessage().contains("program_name '" + program + "'")
                    && e.getFormattedMessage().contains(containing)).toList();
        }
    }

    private static double leaks(AdminFixture f, String reason) {
        return f.registry.get(ProxyMetrics.SESSION_LEAKS).tag("reason", reason).counter().count();
    }

    private static double closes(AdminFixture f) {
        return f.registry.get(ProxyMetrics.SESSION_CLOSES).tag("reason", "idle_in_transaction_timeout").counter().count();
    }

    private static PoolSnapshot pool(AdminFixture f, String name) {
        return f.proxy.pools().snapshot().stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow();
    }

}
