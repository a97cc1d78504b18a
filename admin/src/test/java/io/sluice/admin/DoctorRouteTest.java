package io.sluice.admin;

import io.sluice.config.BackendTlsConfig;
import io.sluice.config.ServerConfig;
import io.sluice.config.UserConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** How GET /doctor logs in: the backend account, Sluice's timeouts, TLS as Sluice's own backends use it. */
class DoctorRouteTest {
    private static final UserConfig USER = new UserConfig("app", Optional.of("front-pw"), Optional.empty(), "svc", "svc-pw",
            Optional.empty(), OptionalInt.empty(), false);

    @TempDir
    Path dir;

    private static ServerConfig server(BackendTlsConfig.Mode mode, Path ca) {
        return new ServerConfig("db.internal", 3306, Duration.ofMillis(1500), new BackendTlsConfig(mode, Optional.ofNullable(ca)));
    }

    @Test
    void logsInAsTheBackendAccountWithSluicesTimeouts() {
        Properties p = DoctorRoute.jdbcProperties(server(BackendTlsConfig.Mode.DISABLED, null), USER);
        assertEquals("svc", p.getProperty("user"));
        assertEquals("svc-pw", p.getProperty("password"));
        assertEquals("1500", p.getProperty("connectTimeout"));
        assertEquals("1500", p.getProperty("socketTimeout"), "the greeting and login too: a server out of descriptors never greets");
        assertEquals("program_name:sluice-doctor", p.getProperty("connectionAttributes"));
        assertEquals("DISABLED", p.getProperty("sslMode"));
    }

    @Test
    void tlsModesMapToConnectorJSslModes() {
        assertEquals("PREFERRED", DoctorRoute.jdbcProperties(server(BackendTlsConfig.Mode.PREFERRED, null), USER).getProperty("sslMode"));
        assertEquals("REQUIRED", DoctorRoute.jdbcProperties(server(BackendTlsConfig.Mode.REQUIRED, null), USER).getProperty("sslMode"));
        assertEquals("VERIFY_CA", DoctorRoute.jdbcProperties(server(BackendTlsConfig.Mode.VERIFY_CA, dir.resolve("ca.pem")), USER).getProperty("sslMode"));
    }

    @Test
    void verifyCaTrustsTheCertificatesOfTheCaFile() throws Exception {
        Path ca = dir.resolve("ca.pem");
        Process openssl;
        try {
            openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=Sluice Test CA", "-keyout", dir.resolve("ca.key").toString(), "-out", ca.toString())
                    .redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            assumeTrue(false, "no openssl command: " + e.getMessage());
            return;
        }
        openssl.getInputStream().readAllBytes();
        assumeTrue(openssl.waitFor(60, TimeUnit.SECONDS) && openssl.exitValue() == 0, "openssl failed");

        char[] password = "store-pw".toCharArray();
        Path store = DoctorRoute.trustStore(ca, password);
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(store)) {
                ks.load(in, password);
            }
            assertTrue(ks.isCertificateEntry("ca0"));
            assertEquals("CN=Sluice Test CA", ((X509Certificate) ks.getCertificate("ca0")).getSubjectX500Principal().getName());
            assertFalse(ks.containsAlias("ca1"));
        } finally {
            Files.deleteIfExists(store);
        }
    }
}
