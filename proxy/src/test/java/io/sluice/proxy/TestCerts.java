package io.sluice.proxy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Throwaway self-signed certificates made with the openssl command, for TLS tests. */
final class TestCerts {
    private TestCerts() {
    }

    /** Returns {certificate PEM, PKCS#8 key PEM} for CN=localhost in {@code dir}. */
    static Path[] selfSigned(Path dir) throws IOException, InterruptedException {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=localhost", "-keyout", key.toString(), "-out", cert.toString())
                .redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("openssl failed: " + new String(out));
        }
        return new Path[] {cert, key};
    }
}
