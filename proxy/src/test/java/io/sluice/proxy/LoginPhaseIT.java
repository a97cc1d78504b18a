package io.sluice.proxy;

import io.sluice.proxy.protocol.Capabilities;
import io.sluice.proxy.protocol.auth.NativePassword;
import io.sluice.proxy.pool.PoolSnapshot;
import io.sluice.testkit.Eventually;
import io.sluice.testkit.ExternalClient;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue #24 items 4 and 5: the login phase ends the connection on any error, as the server does:
 * a login whose password was right but whose schema is unknown (and it keeps no backend), and a
 * login packet with the wrong sequence id (handshake response, SSLRequest and the response over
 * TLS, the reply to an AuthSwitchRequest). Raw packets for the exact bytes; real clients to show
 * that correct clients still log in.
 */
@ExtendWith(LeakCheckExtension.class)
class LoginPhaseIT {
    static TestServer server;

    @BeforeAll
    static void setUp() {
        server = TestServer.shared();
        server.createUser("lp", "lp-pw");
        server.createDatabase("lp");
    }

    static Sluice start(String mode, String more) {
        return Sluice.start(server, "sluice.users.lp.password = \"lp-pw\"\n"
                + "sluice.pool { mode = " + mode + ", max-per-user = 2 }\n" + more);
    }

    static int busy(Sluice sluice) {
        return sluice.proxy.pools().snapshot().stream().mapToInt(PoolSnapshot::busy).sum();
    }

    /** Item 4: 1049 Unknown database, then the connection is closed; nothing it sends afterwards is answered. */
    @ParameterizedTest
    @ValueSource(strings = {"transaction", "session"})
    void aLoginWithAnUnknownDatabaseIsClosedAfterTheError(String mode) throws Exception {
        try (Sluice sluice = start(mode, "")) {
            try (RawClient c = new RawClient(sluice.port())) {
                byte[] err = c.login("lp", "lp-pw", "no_such_db");
                assertTrue(RawClient.isErr(err), "expected ERR, got header " + (err[0] & 0xff));
                assertEquals(1049, RawClient.errCode(err), RawClient.errMessage(err));
                assertEquals(2, c.lastSeq, "the ERR answers the handshake response (sequence id 1)");
                try {
                    c.query("SELECT 1");
                } catch (IOException closedAlready) {
                    // fine: Sluice may have closed before the query went out
                }
                assertTrue(c.closedByPeer(), "the connection stayed open after a failed login");
            }
            Eventually.until("the session is gone", () -> sluice.proxy.sessions().size() == 0);
            assertEquals(0, busy(sluice), "a backend is still taken for the failed login");
            // A correct login with a schema still works.
            try (RawClient c = new RawClient(sluice.port())) {
                assertTrue(RawClient.isOk(c.login("lp", "lp-pw", "lp")));
                c.query("SELECT DATABASE()");
                assertFalse(RawClient.isErr(c.readResponse()));
            }
        }
    }

    /** Item 4 with a real client: the mariadb CLI reads the server's 1049 for the unknown database. */
    @Test
    void theCliReadsUnknownDatabase() throws Exception {
        ExternalClient.requireProgram("mariadb", "apt-get install mariadb-client");
        try (Sluice sluice = start("transaction", "")) {
            ExternalClient.Result r = ExternalClient.run(ExternalClient.env(sluice.port(), "lp", "lp-pw"), "mariadb",
                    "-h127.0.0.1", "-P" + sluice.port(), "-ulp", "-Dno_such_db", "-e", "SELECT 1");
            assertEquals(1, r.exit(), r.stdout() + r.stderr());
            assertTrue(r.stderr().contains("1049") && r.stderr().contains("no_such_db"), r.stderr());
            Eventually.until("the session is gone", () -> sluice.proxy.sessions().size() == 0);
            assertEquals(0, busy(sluice));
            assertEquals("lp", ExternalClient.run(ExternalClient.env(sluice.port(), "lp", "lp-pw"), "mariadb", "-h127.0.0.1",
                    "-P" + sluice.port(), "-ulp", "-Dlp", "-N", "-e", "SELECT DATABASE()").ok().out());
        }
    }

    /** The handshake response payload RawClient.login sends, with {@code plugin} and {@code auth}. */
    static byte[] handshakeResponse(int caps, String user, byte[] auth, String plugin) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        le(b, caps, 4);
        le(b, 1 << 24, 4);
        b.write(45);
        b.write(new byte[23]);
        b.write(user.getBytes(StandardCharsets.UTF_8));
        b.write(0);
        b.write(auth.length);
        b.write(auth);
        b.write(plugin.getBytes(StandardCharsets.US_ASCII));
        b.write(0);
        return b.toByteArray();
    }

    static void le(ByteArrayOutputStream b, long v, int n) {
        for (int i = 0; i < n; i++) {
            b.write((int) (v >> (8 * i)));
        }
    }

    /** Item 5: a handshake response with sequence id 5 instead of 1 is refused with 9406 and the connection closed. */
    @Test
    void aHandshakeResponseOutOfOrderIsRefused() throws Exception {
        try (Sluice sluice = start("transaction", "")) {
            try (RawClient c = new RawClient(sluice.port())) {
                c.readHandshake();
                byte[] auth = NativePassword.scramble("lp-pw".getBytes(StandardCharsets.UTF_8), c.nonce);
                c.send(5, handshakeResponse(RawClient.CAPS, "lp", auth, "mysql_native_password"));
                byte[] err = c.read();
                assertTrue(RawClient.isErr(err), "logged in with a handshake response of sequence id 5");
                assertEquals(9406, RawClient.errCode(err));
                assertTrue(RawClient.errMessage(err).contains("expected sequence id 1, got 5"), RawClient.errMessage(err));
                assertEquals(6, c.lastSeq);
                assertTrue(c.closedByPeer());
            }
            try (RawClient c = new RawClient(sluice.port())) { // the same bytes with sequence id 1 log in
                c.readHandshake();
                byte[] auth = NativePassword.scramble("lp-pw".getBytes(StandardCharsets.UTF_8), c.nonce);
                c.send(1, handshakeResponse(RawClient.CAPS, "lp", auth, "mysql_native_password"));
                assertTrue(RawClient.isOk(c.read()));
                assertEquals(2, c.lastSeq);
            }
        }
    }

    /**
     * Item 5, AuthSwitchRequest: a client that logs in with a plugin Sluice does not speak is
     * switched to mysql_native_password (sequence id 2); its reply must carry 3.
     */
    @ParameterizedTest
    @ValueSource(ints = {3, 4})
    void theReplyToAnAuthSwitchMustCarryTheNextSequenceId(int seq) throws Exception {
        try (Sluice sluice = start("transaction", ""); RawClient c = new RawClient(sluice.port())) {
            c.readHandshake();
            c.send(1, handshakeResponse(RawClient.CAPS, "lp", new byte[] {1, 2, 3}, "dialog"));
            byte[] sw = c.read();
            assertEquals(0xfe, sw[0] & 0xff, "expected an AuthSwitchRequest");
            assertEquals(2, c.lastSeq);
            int i = 1;
            while (sw[i] != 0) {
                i++;
            }
            assertEquals("mysql_native_password", new String(sw, 1, i - 1, StandardCharsets.US_ASCII));
            byte[] nonce = Arrays.copyOfRange(sw, i + 1, i + 21);
            c.send(seq, NativePassword.scramble("lp-pw".getBytes(StandardCharsets.UTF_8), nonce));
            byte[] reply = c.read();
            if (seq == 3) {
                assertTrue(RawClient.isOk(reply), RawClient.isErr(reply) ? RawClient.errMessage(reply) : "not OK");
                assertEquals(4, c.lastSeq);
            } else {
                assertTrue(RawClient.isErr(reply), "accepted an auth switch reply with sequence id " + seq);
                assertEquals(9406, RawClient.errCode(reply));
                assertTrue(RawClient.errMessage(reply).contains("expected sequence id 3, got 4"), RawClient.errMessage(reply));
                assertTrue(c.closedByPeer());
            }
        }
    }

    /**
     * Item 5, caching_sha2_password full authentication: Sluice asks for it with sequence id 2, the
     * public-key request must carry 3, Sluice's key 4, the encrypted password 5.
     */
    @ParameterizedTest
    @ValueSource(ints = {3, 4})
    void cachingSha2ContinuationPacketsMustCarryTheNextSequenceId(int seq) throws Exception {
        String crypt = io.sluice.proxy.protocol.auth.CachingSha2Password.createCrypt("sha-pw".getBytes(StandardCharsets.UTF_8));
        String users = "sluice.users.lpsha { password-hash = \"" + crypt.replace("\\", "\\\\").replace("\"", "\\\"")
                + "\", backend-user = lp, backend-password = \"lp-pw\" }\n";
        try (Sluice sluice = start("transaction", users); RawClient c = new RawClient(sluice.port())) {
            c.readHandshake();
            byte[] password = "sha-pw".getBytes(StandardCharsets.UTF_8);
            c.send(1, handshakeResponse(RawClient.CAPS, "lpsha", io.sluice.proxy.protocol.auth.CachingSha2Password.scramble(password,
                    c.nonce), "caching_sha2_password"));
            byte[] more = c.read();
            assertEquals(2, c.lastSeq);
            assertEquals(0x04, more[1], "expected perform-full-authentication");
            c.send(seq, new byte[] {0x02});
            byte[] reply = c.read();
            if (seq == 4) {
                assertTrue(RawClient.isErr(reply), "accepted a public key request with sequence id 4");
                assertEquals(9406, RawClient.errCode(reply));
                assertTrue(RawClient.errMessage(reply).contains("expected sequence id 3, got 4"), RawClient.errMessage(reply));
                assertTrue(c.closedByPeer());
                return;
            }
            assertEquals(0x01, reply[0], "expected the public key");
            assertEquals(4, c.lastSeq);
            java.security.PublicKey key = io.sluice.proxy.protocol.auth.RsaPassword.parsePublicKeyPem(
                    new String(reply, 1, reply.length - 1, StandardCharsets.US_ASCII));
            c.send(5, io.sluice.proxy.protocol.auth.RsaPassword.encrypt(password, c.nonce, key));
            byte[] ok = c.read();
            assertTrue(RawClient.isOk(ok), RawClient.isErr(ok) ? RawClient.errMessage(ok) : "not OK");
            assertEquals(6, c.lastSeq);
        }
    }

    /**
     * Item 5, TLS: the SSLRequest must carry 1 and the handshake response over TLS 2. Raw sockets
     * for the wrong ids; the mariadb CLI over TLS for the right ones.
     */
    @Test
    void sslRequestAndTheResponseOverTlsMustCarryOneThenTwo(@TempDir Path dir) throws Exception {
        Path[] cert = TestCerts.selfSigned(dir);
        String tls = "sluice.frontend.tls { enabled = true, cert-file = \"" + cert[0] + "\", key-file = \"" + cert[1] + "\" }\n";
        int sslCaps = RawClient.CAPS | Capabilities.CLIENT_SSL;
        try (Sluice sluice = start("transaction", tls)) {
            // SSLRequest with sequence id 2: refused in clear, before any TLS
            try (Socket s = new Socket("127.0.0.1", sluice.port())) {
                s.setSoTimeout(10_000);
                DataInputStream in = new DataInputStream(s.getInputStream());
                RawClient.readPacket(in);
                RawClient.writePacket(s.getOutputStream(), 2, Arrays.copyOf(handshakeResponse(sslCaps, "", new byte[0], ""), 32));
                byte[] err = RawClient.readPacket(in);
                assertEquals(0xff, err[0] & 0xff, "accepted an SSLRequest with sequence id 2");
                assertEquals(9406, RawClient.errCode(err));
                assertEquals(-1, s.getInputStream().read(), "the connection stayed open");
            }
            // SSLRequest 1, then the handshake response over TLS with 1 instead of 2
            try (Socket s = new Socket("127.0.0.1", sluice.port())) {
                s.setSoTimeout(10_000);
                RawClient.readPacket(new DataInputStream(s.getInputStream()));
                RawClient.writePacket(s.getOutputStream(), 1, Arrays.copyOf(handshakeResponse(sslCaps, "", new byte[0], ""), 32));
                SSLContext ctx = SSLContext.getInstance("TLS");
                ctx.init(null, new TrustManager[] {new TrustAll()}, null);
                try (SSLSocket t = (SSLSocket) ctx.getSocketFactory().createSocket(s, "127.0.0.1", sluice.port(), true)) {
                    t.startHandshake();
                    RawClient.writePacket(t.getOutputStream(), 1, handshakeResponse(sslCaps, "lp", new byte[20], "mysql_native_password"));
                    DataInputStream in = new DataInputStream(t.getInputStream());
                    byte[] err = RawClient.readPacket(in);
                    assertEquals(0xff, err[0] & 0xff, "accepted a handshake response over TLS with sequence id 1");
                    assertEquals(9406, RawClient.errCode(err));
                    assertTrue(RawClient.errMessage(err).contains("expected sequence id 2, got 1"), RawClient.errMessage(err));
                    try {
                        RawClient.readPacket(in);
                        throw new AssertionError("the connection stayed open");
                    } catch (EOFException | java.net.SocketException closed) {
                        // expected
                    }
                }
            }
            ExternalClient.requireProgram("mariadb", "apt-get install mariadb-client");
            assertEquals("TLS", ExternalClient.run(ExternalClient.env(sluice.port(), "lp", "lp-pw"), "mariadb", "-h127.0.0.1",
                    "-P" + sluice.port(), "-ulp", "--ssl", "--skip-ssl-verify-server-cert", "-N", "-e",
                    "SELECT 'TLS'").ok().out());
        }
    }

    /** Trusts Sluice's throwaway self-signed test certificate. */
    static final class TrustAll implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
