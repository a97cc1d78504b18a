package io.sluice.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;

/**
 * Asks whether a Docker engine is usable without hanging and without Testcontainers' loud
 * "Could not find a valid Docker environment" error on machines that plainly have no Docker:
 * Testcontainers is only asked when a Docker socket, {@code DOCKER_HOST} or a Testcontainers
 * config file exists, and then on a daemon thread with a time limit.
 */
final class DockerProbe {

  private static final Logger log = LoggerFactory.getLogger(DockerProbe.class);
  private static final Duration TIMEOUT = Duration.ofSeconds(20);

  private DockerProbe() {}

  /**
   * True when Testcontainers can reach a Docker engine. With {@code requireHint}, returns false at
   * once (without loading Testcontainers) when nothing on this machine suggests Docker.
   */
  static boolean available(boolean requireHint) {
    if (requireHint && !hasDockerHint()) {
      return false;
    }
    FutureTask<Boolean> probe = new FutureTask<>(() -> DockerClientFactory.instance().isDockerAvailable());
    Thread thread = new Thread(probe, "sluice-docker-probe");
    thread.setDaemon(true);
    thread.start();
    try {
      return probe.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      log.warn("No answer from Docker within {} s; treating Docker as unavailable", TIMEOUT.toSeconds());
      return false;
    } catch (ExecutionException e) {
      log.warn("Cannot ask Testcontainers for Docker ({}); treating Docker as unavailable", e.getCause().toString());
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** The places Testcontainers' client provider strategies look at. */
  private static boolean hasDockerHint() {
    if (System.getenv("DOCKER_HOST") != null || System.getenv("TC_HOST") != null) {
      return true;
    }
    if (System.getProperty("os.name", "").toLowerCase().contains("win")) {
      return true; // named pipe: no cheap check, let Testcontainers look
    }
    String home = System.getProperty("user.home", "");
    List<Path> candidates = new ArrayList<>(List.of(
        Path.of("/var/run/docker.sock"),
        Path.of("/run/docker.sock"),
        Path.of(home, ".testcontainers.properties"),
        Path.of(home, ".docker", "run", "docker.sock"),
        Path.of(home, ".docker", "desktop", "docker.sock"),
        Path.of(home, ".colima", "default", "docker.sock"),
        Path.of(home, ".rd", "docker.sock")));
    String runtimeDir = System.getenv("XDG_RUNTIME_DIR");
    if (runtimeDir != null) {
      candidates.add(Path.of(runtimeDir, "docker.sock"));
    }
    return candidates.stream().anyMatch(Files::exists);
  }
}
