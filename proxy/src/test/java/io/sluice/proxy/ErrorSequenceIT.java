package io.sluice.proxy;

import io.sluice.testkit.ExternalClient;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TcpRelay;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Errors Sluice writes itself in the middle of a command carry the sequence id the client expects
 * at that point of the current command, not one counted on from the previous command. PyMySQL
 * checks it strictly ("Packet sequence number wrong"), so it is the judge here: it must read the
 * documented error. Each command before the faulty one ends on a result set, whose last packet has
 * a high sequence id, so a stale count shows.
 */
@ExtendWith(LeakCheckExtension.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ErrorSequenceIT {
    static TestServer server;

    @BeforeAll
    static void start() {
        ExternalClient.requirePython("pymysql", "apt-get install python3-pymysql");
        server = TestServer.shared();
        server.createUser("seq", "seq-pw");
    }

    /** Runs {@code statements} (all but the last complete), then the last, which must fail; prints what PyMySQL raised. */
    private static String script(String... statements) {
        StringBuilder s = new StringBuilder("""
                import os, pymysql
                c = pymysql.connect(host=os.environ['SLUICE_HOST'], port=int(os.environ['SLUICE_PORT']),
                                    user=os.environ['SLUICE_USER'], password=os.environ['SLUICE_PASSWORD'])
                cur = c.cursor()
                """);
        for (int i = 0; i < statements.length - 1; i++) {
            s.append("cur.execute(\"").append(statements[i]).append("\")\ncur.fetchall()\n");
        }
        s.append("""
                try:
                    cur.execute("%s")
                    print("NO ERROR")
                except Exception as e:
                    print("RAISED", type(e).__name__, repr(e.args))
                """.formatted(statements[statements.length - 1]));
        return s.toString();
    }

    @ParameterizedTest
    @ValueSource(strings = {"transaction", "session"})
    void aBackendLostBeforeTheFirstReplyGivesPyMySqlError9405(String mode) throws Exception {
        try (TcpRelay relay = TcpRelay.start(server.host(), server.port());
             Sluice sluice = Sluice.start(server, "sluice.server { host = \"" + relay.host() + "\", port = " + relay.port() + " }\n"
                     + "sluice.pool.mode = " + mode + "\n"
                     + "sluice.users.seq.password = \"seq-pw\"\n")) {
            String sleep = "SELECT SLEEP(30) AS cut_" + mode;
            CompletableFuture<ExternalClient.Result> run = CompletableFuture.supplyAsync(() -> ExternalClient.python(
                    script("SELECT 1, 'a', 'b', 'c'", "SELECT 2, 'd', 'e', 'f'", sleep),
                    ExternalClient.env(sluice.port(), "seq", "seq-pw")));
            awaitRunning(sleep, run);
            relay.cutAll();
            ExternalClient.Result r = run.get(60, TimeUnit.SECONDS);
            assertTrue(r.stdout().contains("RAISED OperationalError (9405, 'Sluice: the server connection serving this session was lost"),
                    "PyMySQL must read error 9405, got: " + r.stdout() + r.stderr());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"transaction", "session"})
    void aTransactionEndedMidStatementGivesPyMySqlError9411(String mode) throws Exception {
        try (Sluice sluice = Sluice.start(server, "sluice.pool.mode = " + mode + "\n"
                + "sluice.frontend.max-transaction-time = 1s\n"
                + "sluice.users.seq.password = \"seq-pw\"\n")) {
            ExternalClient.Result r = ExternalClient.python(
                    script("BEGIN", "SELECT 1, 'a', 'b', 'c'", "SELECT SLEEP(20) AS long_" + mode),
                    ExternalClient.env(sluice.port(), "seq", "seq-pw"));
            assertTrue(r.stdout().contains("RAISED OperationalError (9411, 'Sluice: closing a session whose transaction was open for"),
                    "PyMySQL must read error 9411, got: " + r.stdout() + r.stderr());
        }
    }

    private static void awaitRunning(String statement, CompletableFuture<ExternalClient.Result> run) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!server.isRunning(statement)) {
            if (run.isDone()) {
                throw new AssertionError("the client ended before its statement ran: " + run.get().stdout() + run.get().stderr());
            }
            assertTrue(System.nanoTime() < deadline, statement + " never ran on the server");
            Thread.sleep(50);
        }
    }
}
