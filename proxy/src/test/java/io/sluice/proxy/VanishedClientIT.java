package io.sluice.proxy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.sluice.proxy.session.ClientSession;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client whose socket closes mid-statement without COM_QUIT (killed, crashed, cut off) is logged
 * once at INFO, naming the session, the client and what was in flight, and counted in
 * sluice_session_closes_total{reason="client_vanished"}; a client that quits is neither.
 */
@ExtendWith(LeakCheckExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VanishedClientIT {
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.shared();
        server.createUser("vanish", "vanish-pw");
    }

    @ParameterizedTest
    @ValueSource(strings = {"transaction", "session"})
    void aClientGoneMidStatementIsLoggedAndCounted(String mode) throws Exception {
        Logger sessionLog = (Logger) LoggerFactory.getLogger(ClientSession.class);
        ListAppender<ILoggingEvent> events = new ListAppender<>();
        events.start();
        sessionLog.addAppender(events);
        try (Sluice sluice = Sluice.start(server, "sluice.pool.mode = " + mode + "\nsluice.users.vanish.password = \"vanish-pw\"\n")) {
            // One that quits politely after a statement: not a vanished client.
            try (RawClient polite = new RawClient(sluice.port())) {
                polite.login("vanish", "vanish-pw", null);
                assertTrue(RawClient.isOk(polite.execute("DO 1")));
                polite.command(0x01, new byte[0]); // COM_QUIT
            }
            String sleep = "SELECT SLEEP(20) AS vanish_" + mode;
            RawClient gone = new RawClient(sluice.port());
            gone.login("vanish", "vanish-pw", null);
            gone.query(sleep);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!server.isRunning(sleep)) {
                assertTrue(System.nanoTime() < deadline, "the statement never ran");
                Thread.sleep(20);
            }
            gone.close(); // no COM_QUIT
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (sluice.proxy.metrics().sessionsVanished() < 1 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(1.0, sluice.proxy.metrics().sessionsVanished(), "sluice_session_closes_total{reason=client_vanished}");
            Thread.sleep(200); // nothing else may count
            assertEquals(1.0, sluice.proxy.metrics().sessionsVanished());
        } finally {
            sessionLog.detachAppender(events);
        }
        List<String> lines = events.list.stream().map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains("vanished")).toList();
        assertEquals(1, lines.size(), "one line per vanished client: " + lines);
        assertTrue(lines.get(0).matches("session#\\d+\\(vanish@127\\.0\\.0\\.1\\): client /127\\.0\\.0\\.1:\\d+ vanished mid-command "
                + "\\('SELECT SLEEP\\(20\\) AS vanish_" + mode + "'\\); discarding backend backend#.*"), lines.get(0));
    }
}
