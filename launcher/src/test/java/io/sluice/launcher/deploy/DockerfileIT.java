package io.sluice.launcher.deploy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The image's commands, run as the image would run them but without Docker: the Dockerfile's
 * ENTRYPOINT with the built {@code launcher/target/sluice.jar} and {@code deploy/docker/sluice.conf}
 * in place of their paths in the image and SLUICE_* variables as {@code docker run -e} sets them,
 * then its HEALTHCHECK command against that process. An IT because it needs the packaged jar
 * (failsafe runs after {@code package}); it needs no MySQL server: the server port is closed, which
 * leaves /ready at 503 and /health at 200.
 */
class DockerfileIT {
    /** Three seconds on an idle machine; far more on a loaded 2-core one (Sluice generates an RSA key at start). */
    private static final Duration STARTUP = Duration.ofSeconds(180);
    private final Dockerfile docker = Dockerfile.read();
    private final Path jar = Repo.path("launcher/target/sluice.jar");

    @Test
    void entrypointServesAndTheHealthcheckSeesIt(@TempDir Path tmp) throws Exception {
        assertTrue(Files.isRegularFile(jar), jar + " missing: this test runs after mvn package");
        int adminPort = LiveAdmin.closedPort();
        Map<String, String> env = Map.of(
                "SLUICE_USER", "app",
                "SLUICE_PASSWORD", "app-pw",
                "SLUICE_SERVER_PORT", Integer.toString(LiveAdmin.closedPort()),
                "SLUICE_LISTEN_PORT", Integer.toString(LiveAdmin.closedPort()),
                "SLUICE_ADMIN_PORT", Integer.toString(adminPort),
                // Bound beyond loopback (the image's default config), a token-protected endpoint wants
                // the token on every route: the HEALTHCHECK sends it from this variable.
                "SLUICE_ADMIN_TOKEN", "test-token");
        Path log = tmp.resolve("sluice.log");
        Process sluice = start(inHost(docker.entrypoint(), adminPort), env, log);
        try {
            ProcessResult healthy = awaitHealthy(adminPort, env, sluice, log);
            assertEquals(0, healthy.exit(), healthy.output() + "\nSluice's log:\n" + Files.readString(log));
            assertTrue(healthy.output().startsWith("healthy: "), healthy.output());
        } finally {
            sluice.destroy(); // SIGTERM, as docker stop sends
            assertTrue(sluice.waitFor(60, TimeUnit.SECONDS), "Sluice did not stop on SIGTERM; log:\n" + Files.readString(log));
        }
        ProcessResult after = run(inHost(docker.healthcheck(), adminPort), env, tmp.resolve("after.log"));
        assertEquals(1, after.exit(), after.output());
        assertTrue(after.output().startsWith("unhealthy: "), after.output());
    }

    /** The image's command with this machine's java, the built jar, the repository's config and the test's admin port. */
    private List<String> inHost(List<String> command, int adminPort) {
        String configInImage = docker.configInImage();
        List<String> out = new ArrayList<>();
        for (String arg : command) {
            if (arg.equals("java")) {
                out.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            } else if (arg.equals(docker.jarInImage())) {
                out.add(jar.toString());
            } else if (arg.equals(configInImage)) {
                out.add(Repo.path(docker.contextSourceOf(configInImage)).toString());
            } else {
                out.add(arg.replace("127.0.0.1:6034/", "127.0.0.1:" + adminPort + "/"));
            }
        }
        return out;
    }

    private ProcessResult awaitHealthy(int adminPort, Map<String, String> env, Process sluice, Path log) throws Exception {
        long deadline = System.nanoTime() + STARTUP.toNanos();
        ProcessResult last;
        int attempt = 0;
        do {
            if (!sluice.isAlive()) {
                throw new AssertionError("Sluice exited with " + sluice.exitValue() + "; log:\n" + Files.readString(log));
            }
            last = run(inHost(docker.healthcheck(), adminPort), env, log.resolveSibling("health-" + attempt++ + ".log"));
            if (last.exit() == 0) {
                return last;
            }
            Thread.sleep(250);
        } while (System.nanoTime() - deadline < 0);
        return last;
    }

    record ProcessResult(int exit, String output) {
    }

    private static Process start(List<String> command, Map<String, String> env, Path log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("SLUICE_"));
        pb.environment().putAll(env);
        return pb.start();
    }

    private static ProcessResult run(List<String> command, Map<String, String> env, Path log) throws Exception {
        Process p = start(command, env, log);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(command + " did not finish in 30 s");
        }
        return new ProcessResult(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8).strip());
    }
}
