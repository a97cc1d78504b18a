package io.sluice.proxy;

import io.sluice.proxy.protocol.auth.CachingSha2Password;
import io.sluice.proxy.protocol.auth.NativePassword;
import io.sluice.testkit.ExternalClient;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Authentication is Sluice's own: mysql_native_password and caching_sha2_password (fast path, and
 * full authentication over TLS or with the RSA key exchange), users configured with a clear
 * password or with the server-style hashes; TLS toward clients.
 */
@ExtendWith(LeakCheckExtension.class)
class AuthIT {
    static TestServer server;
    static final String SHA2_HASH = CachingSha2Password.createCrypt("sha2-pw".getBytes(StandardCharsets.UTF_8));
    static final String NATIVE_HASH = NativePassword.toServerHash(NativePassword.hashStage2("native-pw".getBytes(StandardCharsets.UTF_8)));

    @BeforeAll
    static void createServerUser() throws Exception {
        server = TestServer.shared();
        server.createUser("authuser", "backend-secret");
    }

    /** Front-end users all mapped onto one server account with its own password. */
    static String users() {
        // Connector/J reads MariaDB's "5.5.5-" version prefix as MySQL 5.5 and then mis-parses
        // caching_sha2_password's AuthMoreData. Present 5.7.19: new enough for the modern auth
        // exchange, old enough that Connector/J still asks MariaDB for tx_isolation.
        return "sluice.frontend.server-version = \"5.7.19-sluice\"\n"
                + "sluice.users {\n"
                + "  clear { password = \"clear-pw\", backend-user = authuser, backend-password = \"backend-secret\" }\n"
                + "  nativehash { password-hash = \"" + NATIVE_HASH + "\", backend-user = authuser, backend-password = \"backend-secret\" }\n"
                + "  sha2hash { password-hash = \"" + SHA2_HASH.replace("\\", "\\\\").replace("\"", "\\\"") + "\", backend-user = authuser, backend-password = \"backend-secret\" }\n"
                + "}\n";
    }

    static void assertLoggedInAs(Connection c, String serverUser) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT CURRENT_USER()")) {
            r.next();
            assertTrue(r.getString(1).startsWith(serverUser + "@"), r.getString(1));
        }
    }

    @Test
    void nativeAndCachingSha2FastPathWithClearPassword() throws Exception {
        try (Sluice sluice = Sluice.start(server, users())) {
            try (Connection c = sluice.connect("clear", "clear-pw")) {
                assertLoggedInAs(c, "authuser");
            }
            try (Connection c = sluice.connect("clear", "clear-pw", null, "defaultAuthenticationPlugin=caching_sha2_password")) {
                assertLoggedInAs(c, "authuser");
            }
            SQLException e = assertThrows(SQLException.class,
                    () -> sluice.connect("clear", "nope", null, "defaultAuthenticationPlugin=caching_sha2_password"));
            assertEquals(1045, e.getErrorCode());
        }
    }

    @Test
    void nativeHashUser() throws Exception {
        try (Sluice sluice = Sluice.start(server, users())) {
            try (Connection c = sluice.connect("nativehash", "native-pw")) {
                assertLoggedInAs(c, "authuser");
            }
            // A client that starts with caching_sha2 is switched to the plugin the hash supports.
            try (Connection c = sluice.connect("nativehash", "native-pw", null, "defaultAuthenticationPlugin=caching_sha2_password")) {
                assertLoggedInAs(c, "authuser");
            }
            assertEquals(1045, assertThrows(SQLException.class, () -> sluice.connect("nativehash", "wrong")).getErrorCode());
        }
    }

    @Test
    void cachingSha2FullAuthenticationWithRsaThenFastPath() throws Exception {
        try (Sluice sluice = Sluice.start(server, users())) {
            // Without allowPublicKeyRetrieval the client cannot finish full authentication in clear.
            assertThrows(SQLException.class, () -> DriverManager.getConnection(
                    "jdbc:mysql://127.0.0.1:" + sluice.port() + "/?useSSL=false&allowPublicKeyRetrieval=false", "sha2hash", "sha2-pw"));
            assertEquals(1045, assertThrows(SQLException.class, () -> sluice.connect("sha2hash", "wrong-pw")).getErrorCode());
            try (Connection c = sluice.connect("sha2hash", "sha2-pw")) { // RSA key exchange
                assertLoggedInAs(c, "authuser");
            }
            try (Connection c = sluice.connect("sha2hash", "sha2-pw", null, "defaultAuthenticationPlugin=caching_sha2_password")) {
                assertLoggedInAs(c, "authuser"); // fast path, hash now known
            }
        }
    }

    @Test
    void tlsToClientsAndFullAuthenticationOverTls(@TempDir Path dir) throws Exception {
        Path[] cert = TestCerts.selfSigned(dir);
        String tls = "sluice.frontend.tls { enabled = true, cert-file = \"" + cert[0] + "\", key-file = \"" + cert[1] + "\" }\n";
        try (Sluice sluice = Sluice.start(server, users() + tls)) {
            String url = "jdbc:mysql://127.0.0.1:" + sluice.port() + "/?sslMode=REQUIRED&allowPublicKeyRetrieval=false";
            try (Connection c = DriverManager.getConnection(url, "sha2hash", "sha2-pw")) { // clear password inside TLS
                assertLoggedInAs(c, "authuser");
            }
            try (Connection c = DriverManager.getConnection(url, "clear", "clear-pw")) {
                assertLoggedInAs(c, "authuser");
            }
            try (Connection c = sluice.connect("clear", "clear-pw")) { // TLS offered, not required
                assertLoggedInAs(c, "authuser");
            }
        }
        try (Sluice sluice = Sluice.start(server, users() + tls + "sluice.frontend.tls.required = true\n")) {
            SQLException e = assertThrows(SQLException.class, () -> sluice.connect("clear", "clear-pw"));
            assertEquals(3159, e.getErrorCode(), e.toString());
            try (Connection c = DriverManager.getConnection("jdbc:mysql://127.0.0.1:" + sluice.port() + "/?sslMode=REQUIRED", "clear", "clear-pw")) {
                assertLoggedInAs(c, "authuser");
            }
        }
    }

    @Test
    void backendLoginWithCachingSha2AndRsa() throws Exception {
        // The server here (MariaDB) has no caching_sha2_password, so a second Sluice plays the
        // server: its user is known only by a caching_sha2 hash, which forces the outer Sluice's
        // backend login through AuthSwitchRequest, full authentication and the RSA key exchange.
        try (Sluice inner = Sluice.start(server, users());
             Sluice outer = Sluice.start(server, "sluice.server.port = " + inner.port() + "\n"
                     + "sluice.users.front { password = \"front-pw\", backend-user = sha2hash, backend-password = \"sha2-pw\" }\n");
             Connection c = outer.connect("front", "front-pw")) {
            assertLoggedInAs(c, "authuser");
            c.close();
            try (Connection again = outer.connect("front", "front-pw")) {
                assertLoggedInAs(again, "authuser");
            }
        }
    }

    /**
     * What every libmariadb client (the CLI, mysqlclient, DBD::MariaDB, DBD::mysql, Ruby mysql2)
     * started with caching_sha2_password sees: the handshake offers mysql_native_password, so
     * libmariadb does not show its caching_sha2 plugin the nonce and the HandshakeResponse41 carries
     * an empty auth response; Sluice must ask again with an AuthSwitchRequest, then run the fast path
     * or full authentication (RSA on plain TCP: libmariadb asks for the key itself).
     */
    @Test
    void libmariadbClientsStartingWithCachingSha2(@TempDir Path dir) throws Exception {
        Path cnf = dir.resolve("sha2.cnf");
        Files.writeString(cnf, "[client]\ndefault-auth=caching_sha2_password\n");
        // A fresh Sluice per client, so that each one's first sha2hash login is a full authentication.
        List<String> logins = List.of("clear:clear-pw", "nativehash:native-pw", "sha2hash:sha2-pw", "sha2hash:sha2-pw",
                "clear:wrong", "nativehash:wrong", "sha2hash:wrong");
        String expected = "authuser authuser authuser authuser 1045 1045 1045";

        ExternalClient.requireProgram("mariadb", "apt-get install mariadb-client");
        try (Sluice sluice = Sluice.start(server, users())) {
            assertEquals("authuser authuser 1045 1045", String.join(" ", cli(sluice, "clear", "clear-pw"),
                    cli(sluice, "nativehash", "native-pw"), cli(sluice, "clear", "wrong"), cli(sluice, "nativehash", "wrong")));
            // The CLI's ssl option is on by default: offered no TLS, libmariadb answers full
            // authentication with the clear password instead of asking for the RSA key. Refused.
            ExternalClient.Result clearText = mariadbCli(sluice, "sha2hash", "sha2-pw");
            assertTrue(clearText.stderr().startsWith("ERROR 1045") && clearText.stderr().contains("sluice.frontend.tls"),
                    clearText.stderr());
            assertEquals("1045 authuser authuser 1045", String.join(" ", cli(sluice, "sha2hash", "wrong", "--skip-ssl"),
                    cli(sluice, "sha2hash", "sha2-pw", "--skip-ssl"), // RSA key exchange
                    cli(sluice, "sha2hash", "sha2-pw"), // fast path: hash now known
                    cli(sluice, "sha2hash", "wrong")));
        }
        Path[] cert = TestCerts.selfSigned(dir);
        try (Sluice sluice = Sluice.start(server, users() + "sluice.frontend.tls { enabled = true, cert-file = \""
                + cert[0] + "\", key-file = \"" + cert[1] + "\" }\n")) {
            // With TLS offered, the CLI's defaults use it and full authentication sends the password inside it.
            assertEquals("1045 authuser authuser 1045", String.join(" ", cli(sluice, "sha2hash", "wrong"),
                    cli(sluice, "sha2hash", "sha2-pw"), cli(sluice, "clear", "clear-pw"), cli(sluice, "clear", "wrong")));
        }

        ExternalClient.requirePython("MySQLdb", "apt-get install python3-mysqldb");
        try (Sluice sluice = Sluice.start(server, users())) {
            assertEquals(expected + " clear=authuser sha2hash=authuser", ExternalClient.python("""
                    import os, MySQLdb
                    out = []
                    for login in os.environ['LOGINS'].split():
                        user, pw = login.split(':', 1)
                        try:
                            c = MySQLdb.connect(host='127.0.0.1', port=int(os.environ['SLUICE_PORT']), user=user,
                                                passwd=pw, auth_plugin='caching_sha2_password')
                            cur = c.cursor()
                            cur.execute('SELECT CURRENT_USER()')
                            out.append(cur.fetchone()[0].split('@')[0])
                            c.close()
                        except MySQLdb.OperationalError as e:
                            out.append(str(e.args[0]))
                    # COM_CHANGE_USER goes through the same plugin, again without a nonce of its own.
                    c = MySQLdb.connect(host='127.0.0.1', port=int(os.environ['SLUICE_PORT']), user='nativehash',
                                        passwd='native-pw', auth_plugin='caching_sha2_password')
                    for user, pw in (('clear', 'clear-pw'), ('sha2hash', 'sha2-pw')):
                        c.change_user(user, pw)
                        cur = c.cursor()
                        cur.execute('SELECT CURRENT_USER()')
                        out.append(user + '=' + cur.fetchone()[0].split('@')[0])
                    print(' '.join(out))
                    """, loginsEnv(sluice, logins)).ok().out(), "mysqlclient");
        }

        for (String driver : List.of("MariaDB", "mysql")) {
            ExternalClient.requirePerl("DBD::" + driver, "apt-get install libdbd-" + driver.toLowerCase() + "-perl");
            String prefix = driver.toLowerCase();
            try (Sluice sluice = Sluice.start(server, users())) {
                assertEquals(expected, ExternalClient.perl("""
                        use DBI;
                        my @out;
                        for my $login (split ' ', $ENV{LOGINS}) {
                            my ($user, $pw) = split /:/, $login, 2;
                            my $dbh = DBI->connect("DBI:%1$s:host=127.0.0.1;port=$ENV{SLUICE_PORT};%2$s_read_default_file=%3$s",
                                $user, $pw, {PrintError => 0, RaiseError => 0});
                            if ($dbh) {
                                my ($u) = $dbh->selectrow_array('SELECT CURRENT_USER()');
                                $u =~ s/@.*//;
                                push @out, $u;
                                $dbh->disconnect;
                            } else {
                                push @out, $DBI::err;
                            }
                        }
                        print join(' ', @out), "\n";
                        """.formatted(driver, prefix, cnf), loginsEnv(sluice, logins)).ok().out(), "DBD::" + driver);
            }
        }

        ExternalClient.requireRuby("mysql2", "apt-get install ruby-mysql2");
        try (Sluice sluice = Sluice.start(server, users())) {
            assertEquals(expected, ExternalClient.ruby("""
                    require 'mysql2'
                    out = ENV['LOGINS'].split.map do |login|
                      user, pw = login.split(':', 2)
                      begin
                        c = Mysql2::Client.new(host: '127.0.0.1', port: ENV['SLUICE_PORT'].to_i, username: user,
                                               password: pw, default_auth: 'caching_sha2_password')
                        u = c.query('SELECT CURRENT_USER() AS u').first['u'].sub(/@.*/, '')
                        c.close
                        u
                      rescue Mysql2::Error => e
                        e.error_number.to_s
                      end
                    end
                    puts out.join(' ')
                    """, loginsEnv(sluice, logins)).ok().out(), "ruby mysql2");
        }
    }

    /**
     * Drivers that start with the plugin the handshake names (PyMySQL, node mysql2) are switched as
     * before: to caching_sha2_password for a user known only by its `$A$` hash (full authentication
     * with the RSA key, which node mysql2 retrieves only with allowPublicKeyRetrieval), not at all
     * otherwise. After the first, the hash is known: PyMySQL's fast path after a switch never
     * matches (it counts the nonce's NUL), so it must get full authentication again, not 1045.
     */
    @Test
    void pymysqlAndNodeMysql2StillLogIn() throws Exception {
        List<String> logins = List.of("clear:clear-pw", "nativehash:native-pw", "sha2hash:sha2-pw", "sha2hash:sha2-pw",
                "clear:wrong", "sha2hash:wrong");
        String expected = "authuser authuser authuser authuser 1045 1045";
        ExternalClient.requirePython("pymysql", "apt-get install python3-pymysql");
        try (Sluice sluice = Sluice.start(server, users())) {
            assertEquals(expected, ExternalClient.python("""
                    import os, pymysql
                    out = []
                    for login in os.environ['LOGINS'].split():
                        user, pw = login.split(':', 1)
                        try:
                            c = pymysql.connect(host='127.0.0.1', port=int(os.environ['SLUICE_PORT']), user=user, password=pw)
                            with c.cursor() as cur:
                                cur.execute('SELECT CURRENT_USER()')
                                out.append(cur.fetchone()[0].split('@')[0])
                            c.close()
                        except pymysql.err.OperationalError as e:
                            out.append(str(e.args[0]))
                    print(' '.join(out))
                    """, loginsEnv(sluice, logins)).ok().out(), "PyMySQL");
        }
        ExternalClient.requireNode("mysql2");
        try (Sluice sluice = Sluice.start(server, users())) {
            assertEquals(expected, ExternalClient.node("""
                    const mysql = require('mysql2/promise');
                    (async () => {
                      const out = [];
                      for (const login of process.env.LOGINS.split(' ')) {
                        const [user, password] = login.split(/:(.*)/s);
                        try {
                          const c = await mysql.createConnection({host: '127.0.0.1', port: Number(process.env.SLUICE_PORT),
                              user, password, allowPublicKeyRetrieval: true});
                          const [rows] = await c.query('SELECT CURRENT_USER() AS u');
                          out.push(rows[0].u.replace(/@.*/, ''));
                          await c.end();
                        } catch (e) {
                          out.push(e.errno === undefined ? e.message : String(e.errno));
                        }
                      }
                      console.log(out.join(' '));
                    })();
                    """, loginsEnv(sluice, logins)).ok().out(), "node mysql2");
        }
    }

    /** Runs {@code SELECT CURRENT_USER()} with the mariadb CLI starting with caching_sha2_password. */
    private static ExternalClient.Result mariadbCli(Sluice sluice, String user, String password, String... options) {
        List<String> command = new java.util.ArrayList<>(List.of("mariadb", "--no-defaults", "--protocol=tcp",
                "-h127.0.0.1", "-P" + sluice.port(), "-u" + user, "--default-auth=caching_sha2_password"));
        command.addAll(List.of(options));
        command.addAll(List.of("-N", "-B", "-e", "SELECT CURRENT_USER()"));
        return ExternalClient.run(ExternalClient.env(sluice.port(), user, password), command.toArray(String[]::new));
    }

    /** The server account the CLI logged in as, or the error code it printed. */
    private static String cli(Sluice sluice, String user, String password, String... options) {
        ExternalClient.Result r = mariadbCli(sluice, user, password, options);
        return r.exit() == 0 ? r.out().replaceAll("@.*", "") : r.stderr().replaceAll("(?s)^ERROR (\\d+).*", "$1");
    }

    private static Map<String, String> loginsEnv(Sluice sluice, List<String> logins) {
        Map<String, String> env = new HashMap<>(ExternalClient.env(sluice.port(), "", ""));
        env.put("LOGINS", String.join(" ", logins));
        return env;
    }
}
