package io.sluice.testkit;

import java.nio.file.Path;
import java.util.Optional;

/** One running server behind a {@link TestServer}: a local process or a container. */
interface ServerInstance {

  String host();

  int port();

  String rootUser();

  String rootPassword();

  TestServer.Kind kind();

  /** The data directory on this machine; null when the server runs in a container. */
  Path dataDir();

  /** The server's Unix socket on this machine; empty when the server runs in a container. */
  default Optional<Path> socket() {
    return Optional.empty();
  }

  /** The server process on this machine, if it is one and still known. */
  Optional<ProcessHandle> process();

  /**
   * Stops the server cleanly, keeps its data, waits {@code down}, starts it again on the same port.
   *
   * @throws UnsupportedOperationException where the kind of server cannot do that
   */
  default void restart(java.time.Duration down) {
    throw new UnsupportedOperationException("restarting a " + kind() + " test server is not supported");
  }

  /**
   * Kills the server (SIGKILL), keeps its data, waits {@code down}, starts it again on the same port.
   *
   * @throws UnsupportedOperationException where the kind of server cannot do that
   */
  default void crash(java.time.Duration down) {
    throw new UnsupportedOperationException("crashing a " + kind() + " test server is not supported");
  }

  /**
   * Kills the server (SIGKILL) and leaves it down, data kept, until {@link #stop()}.
   *
   * @throws UnsupportedOperationException where the kind of server cannot do that
   */
  default void kill() {
    throw new UnsupportedOperationException("killing a " + kind() + " test server is not supported");
  }

  /** Stops the server and removes its data; idempotent; never throws. */
  void stop();
}
