package io.sluice.proxy;

import io.sluice.testkit.ExternalClient;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue #24 item 1: a client's character set and collation (SET NAMES, SET collation_connection)
 * never reach the next client of the same backend connection, which gets the character set it
 * negotiated at login. Real clients (the mariadb CLI, perl DBD::MariaDB, which sends SET NAMES
 * utf8mb4 on every connect), one backend connection so the second client always reuses the first
 * one's, in both pool modes; the stored bytes are checked on the server.
 */
@ExtendWith(LeakCheckExtension.class)
class CharsetIT {
    static TestServer server;

    /** What the login character set variables read: character_set_client, _connection, _results, collation_connection. */
    static final String LOGIN_VARS = "SELECT @@character_set_client, @@character_set_connection, @@character_set_results, "
            + "@@collation_connection";

    /**
     * A server of its own whose global character set is latin1 (MariaDB's compiled-in default, as
     * the reporter's server had), so that DEFAULT, the global value, differs from what a utf8mb4
     * client negotiates.
     */
    @BeforeAll
    static void setUp() throws Exception {
        ExternalClient.requireProgram("mariadb", "apt-get install mariadb-client");
        server = TestServer.start(TestServer.Options.defaults().withMaxConnections(30)
                .withServerArgs("--character-set-server=latin1", "--collation-server=latin1_swedish_ci",
                        "--interactive-timeout=1234"));
        server.createUser("cs", "cs-pw");
        server.createDatabase("cs");
        server.execute("CREATE TABLE IF NOT EXISTS cs.t (id INT PRIMARY KEY, v VARCHAR(20) CHARACTER SET utf8mb4)");
    }

    @org.junit.jupiter.api.AfterAll
    static void tearDown() {
        if (server != null) {
            server.close();
        }
    }

    @org.junit.jupiter.api.AfterEach
    void noBackendLeftBehind() {
        assertEquals(0, server.awaitConnectionCount("cs", 0, Duration.ofSeconds(10)));
    }

    static Sluice start(String mode) {
        return Sluice.start(server, "sluice.users.cs.password = \"cs-pw\"\n"
                + "sluice.pool { mode = " + mode + ", max-per-user = 1, acquire-timeout = 30s }\n");
    }

    /** The mariadb CLI through {@code port}: tab-separated output of {@code sql}, without column names. */
    static String cli(int port, String charset, String sql) {
        return ExternalClient.run(ExternalClient.env(port, "cs", "cs-pw"), "mariadb", "-h127.0.0.1", "-P" + port, "-ucs",
                "-N", "-B", "--default-character-set=" + charset, "-e", sql).ok().out().trim();
    }

    /** The same CLI logged in directly on the server as cs: what a client with that login sees without Sluice. */
    static String direct(String charset, String sql) {
        return cli(server.port(), charset, sql);
    }

    @ParameterizedTest
    @ValueSource(strings = {"transaction", "session"})
    void setNamesOfOneClientDoesNotReachTheNext(String mode) {
        String expected = direct("utf8mb4", LOGIN_VARS);
        try (Sluice sluice = start(mode)) {
            assertEquals("latin1_swedish_ci", cli(sluice.port(), "utf8mb4", "SET NAMES latin1; SELECT @@collation_connection"));
            assertEquals(expected, cli(sluice.port(), "utf8mb4", LOGIN_VARS), "after a client's SET NAMES latin1");
            cli(sluice.port(), "utf8mb4", "SET NAMES utf8mb4 COLLATE utf8mb4_bin; SELECT 1");
            assertEquals(expected, cli(sluice.port(), "utf8mb4", LOGIN_VARS), "after a client's SET NAMES ... COLLATE");
            cli(sluice.port(), "utf8mb4", "SET collation_connection = latin1_german1_ci; SELECT 1");
            assertEquals(expected, cli(sluice.port(), "utf8mb4", LOGIN_VARS), "after a client's SET collation_connection");
            cli(sluice.port(), "utf8mb4", "SET character_set_results = NULL, character_set_client = cp1251; SELECT 1");
            assertEquals(expected, cli(sluice.port(), "utf8mb4", LOGIN_VARS), "after a client's SET character_set_results");
            // and the other way round: a latin1 client after a utf8mb4 one gets latin1
            String latin1 = direct("latin1", LOGIN_VARS);
            cli(sluice.port(), "utf8mb4", "SET NAMES utf8mb4; SELECT 1");
            assertEquals(latin1, cli(sluice.port(), "latin1", LOGIN_VARS), "a latin1 client after SET NAMES utf8mb4");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"transaction", "session"})
    void dataWrittenAfterAnotherClientsSetNamesIsStoredRight(String mode) throws Exception {
        try (Sluice sluice = start(mode)) {
            server.execute("DELETE FROM cs.t");
            cli(sluice.port(), "utf8mb4", "SET NAMES latin1; SELECT 1");
            cli(sluice.port(), "utf8mb4", "INSERT INTO cs.t VALUES (1, 'hé🐬')");
            try (Connection c = server.rootConnection(); Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("SELECT HEX(v) FROM cs.t WHERE id = 1")) {
                r.next();
                assertEquals("68C3A9F09F90AC", r.getString(1), "the bytes stored on the server");
            }
        }
    }

    /** character_set_database and collation_database follow the schema, whoever used the backend before. */
    @ParameterizedTest
    @ValueSource(strings = {"transaction", "session"})
    void theDatabaseCharacterSetIsTheSchemas(String mode) {
        server.execute("CREATE DATABASE IF NOT EXISTS cs_utf CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
        String vars = "SELECT @@character_set_database, @@collation_database";
        String inSchema = direct("utf8mb4", "USE cs_utf; " + vars);
        String noSchema = direct("utf8mb4", vars);
        try (Sluice sluice = start(mode)) {
            assertEquals(inSchema, cli(sluice.port(), "utf8mb4", "USE cs_utf; " + vars));
            assertEquals(inSchema, cli(sluice.port(), "utf8mb4", "USE cs_utf; " + vars), "the same schema again");
            assertEquals(noSchema, cli(sluice.port(), "utf8mb4", vars), "no schema after one");
            assertEquals(inSchema, cli(sluice.port(), "utf8mb4", "USE cs_utf; SET NAMES latin1; USE cs; USE cs_utf; "
                    + vars), "back in the schema");
            assertEquals(inSchema, cli(sluice.port(), "utf8mb4", "USE cs_utf; " + vars), "after that client");
        }
    }

    /** The first column of the first row of {@code sql}'s text result (CLIENT_DEPRECATE_EOF). */
    static String value(RawClient c, String sql) throws Exception {
        c.query(sql);
        c.read(); // column count: 1
        c.read(); // column definition
        byte[] row = c.read();
        String v = new String(row, 1, row[0] & 0xff, java.nio.charset.StandardCharsets.UTF_8);
        c.read(); // the OK that ends the rows
        return v;
    }

    /**
     * A CLIENT_INTERACTIVE login takes wait_timeout from interactive_timeout: a client that did not
     * change it keeps that value after one that did (DEFAULT would give the global wait_timeout).
     */
    @ParameterizedTest
    @ValueSource(strings = {"transaction", "session"})
    void anInteractiveClientKeepsItsWaitTimeout(String mode) throws Exception {
        int caps = RawClient.CAPS | io.sluice.proxy.protocol.Capabilities.CLIENT_INTERACTIVE;
        try (Sluice sluice = start(mode)) {
            try (RawClient c = new RawClient(sluice.port(), caps)) {
                assertTrue(RawClient.isOk(c.login("cs", "cs-pw", null)));
                assertEquals("1234", value(c, "SELECT @@wait_timeout"));
                assertTrue(RawClient.isOk(c.execute("SET SESSION wait_timeout = 77")));
            }
            try (RawClient c = new RawClient(sluice.port(), caps)) {
                assertTrue(RawClient.isOk(c.login("cs", "cs-pw", null)));
                assertEquals("1234", value(c, "SELECT @@wait_timeout"), "an interactive client after one that set wait_timeout");
            }
        }
    }

    /**
     * DBD::MariaDB sends SET NAMES utf8mb4 on every connect: the next utf8mb4 client keeps its
     * utf8mb4 (restoring with DEFAULT gave it the server's global latin1). The perl client asks for
     * the CLI's flags (multi statements, no CLIENT_FOUND_ROWS), so that both share one backend.
     */
    @ParameterizedTest
    @ValueSource(strings = {"transaction", "session"})
    void perlsSetNamesDoesNotReachTheNextClient(String mode) {
        ExternalClient.requirePerl("DBD::MariaDB", "apt-get install libdbd-mariadb-perl");
        String expected = direct("utf8mb4", LOGIN_VARS);
        try (Sluice sluice = start(mode)) {
            Map<String, String> env = ExternalClient.env(sluice.port(), "cs", "cs-pw");
            String seen = ExternalClient.perl("use DBI; my $d = DBI->connect(\"DBI:MariaDB:host=127.0.0.1;port=$ENV{SLUICE_PORT};mariadb_client_found_rows=0;mariadb_multi_statements=1\", "
                    + "$ENV{SLUICE_USER}, $ENV{SLUICE_PASSWORD}, {RaiseError => 1}); "
                    + "print join(' ', $d->selectrow_array('SELECT @@character_set_client, @@collation_connection')); $d->disconnect;",
                    env).ok().out().trim();
            assertEquals("utf8mb4", seen.split(" ")[0], "what DBD::MariaDB set");
            assertEquals(expected, cli(sluice.port(), "utf8mb4", LOGIN_VARS), "a utf8mb4 client after a perl one");
        }
    }
}
