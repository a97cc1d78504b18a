package io.sluice.proxy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.sluice.proxy.session.ClientSession;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TcpRelay;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * sluice.pool.reset-timeout bounds the reset (COM_CHANGE_USER) of a backend that must lose its
 * schema before it serves a session without one; past it the client reads 9405, and the log says
 * which session, client and backend.
 */
@ExtendWith(LeakCheckExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ResetTimeoutIT {
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.shared();
        server.createUser("rst", "rst-pw");
        server.createDatabase("rstdb");
        server.execute("GRANT ALL ON rstdb.* TO 'rst'@'%'");
    }

    @Test
    void aResetThatTakesTooLongGivesA9405ThatIsLogged() throws Exception {
        Logger sessionLog = (Logger) LoggerFactory.getLogger(ClientSession.class);
        ListAppender<ILoggingEvent> events = new ListAppender<>();
        events.start();
        sessionLog.addAppender(events);
        try (TcpRelay relay = TcpRelay.start(server.host(), server.port());
             Sluice sluice = Sluice.start(server, "sluice.server { host = \"" + relay.host() + "\", port = " + relay.port() + " }\n"
                     + "sluice.pool { mode = transaction, max-per-user = 1, reset-timeout = 500ms }\n"
                     + "sluice.users.rst.password = \"rst-pw\"\n")) {
            try (Connection without = sluice.connect("rst", "rst-pw", null, "socketTimeout=10000"); Statement s = without.createStatement()) {
                try (Connection withSchema = sluice.connect("rst", "rst-pw", "rstdb", "socketTimeout=10000");
                     Statement w = withSchema.createStatement()) {
                    w.executeQuery("SELECT 1").close(); // the one backend now has rstdb selected
                }
                relay.pause(); // the reset that must clear the schema gets no answer
                long t0 = System.nanoTime();
                SQLException e = assertThrows(SQLException.class, () -> s.executeQuery("SELECT 1").close());
                long ms = (System.nanoTime() - t0) / 1_000_000;
                relay.resume();
                assertEquals(9405, e.getErrorCode(), e.toString());
                assertTrue(e.getMessage().contains("could not reset backend connection backend#")
                        && e.getMessage().contains("sluice.pool.reset-timeout = 500 ms"), e.getMessage());
                assertTrue(ms >= 450 && ms < 5000, "refused after the reset timeout, took " + ms + " ms");
            }
        } finally {
            sessionLog.detachAppender(events);
        }
        assertTrue(events.list.stream().anyMatch(l -> l.getFormattedMessage().matches(
                "session#\\d+\\(rst@127\\.0\\.0\\.1\\): error 9405 to client /127\\.0\\.0\\.1:\\d+: Sluice: could not reset backend "
                        + "connection backend#\\d+.*")), "the 9405 is logged: " + events.list);
    }
}
