package io.sluice.proxy;

import io.sluice.proxy.protocol.auth.CachingSha2Password;
import io.sluice.proxy.protocol.auth.NativePassword;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

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
}
