package io.sluice.testkit;

import io.sluice.localdb.LocalServer;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A MariaDB or MySQL server from the binaries on this machine: a {@link LocalServer} (module
 * localdb, which also serves {@code sluice demo}) in a directory named {@code sluice-testserver-NNN}
 * under {@code java.io.tmpdir}, with the testkit's root password. The server cannot outlive the JVM;
 * see {@link LocalServer} for the layout and the watchdog.
 */
final class LocalServerInstance implements ServerInstance {

  /** Server binary to use instead of searching; e.g. {@code -Dsluice.test.mysqld=/opt/mysql/bin/mysqld}. */
  static final String BINARY_PROPERTY = "sluice.test.mysqld";
  private static final String DIR_PREFIX = "sluice-testserver-";

  private final LocalServer server;

  private LocalServerInstance(LocalServer server) {
    this.server = server;
  }

  /** The server binary this machine offers, if any (see {@link #BINARY_PROPERTY}). */
  static Optional<Path> findServerBinary() {
    String configured = System.getProperty(BINARY_PROPERTY);
    if (configured != null && !configured.isBlank()) {
      return Optional.of(Path.of(configured));
    }
    return LocalServer.findServerBinary();
  }

  static LocalServerInstance start(TestServer.Options options) {
    return new LocalServerInstance(LocalServer.start(localOptions(options)));
  }

  /** A server started elsewhere with {@link #localOptions} (a {@link io.sluice.localdb.LocalCluster}'s); stopping it stops it. */
  static LocalServerInstance of(LocalServer server) {
    return new LocalServerInstance(server);
  }

  /** {@code options} as localdb's, with the testkit's binary, root password and directory prefix. */
  static LocalServer.Options localOptions(TestServer.Options options) {
    Path binary = findServerBinary().orElseThrow(() -> new IllegalStateException(
        "No mariadbd or mysqld on " + LocalServer.searchedPlaces() + ". Install MariaDB or MySQL, set -D"
            + BINARY_PROPERTY + "=/path/to/mysqld, or use -Dsluice.test.server=docker"));
    return LocalServer.Options.defaults()
        .withBinary(binary)
        .withMaxConnections(options.maxConnections())
        .withServerArgs(options.serverArgs().toArray(String[]::new))
        .withRootPassword(TestServer.ROOT_PASSWORD)
        .withDirPrefix(DIR_PREFIX);
  }

  LocalServer server() {
    return server;
  }

  @Override
  public String host() {
    return server.host();
  }

  @Override
  public int port() {
    return server.port();
  }

  @Override
  public String rootUser() {
    return TestServer.ROOT_USER;
  }

  @Override
  public String rootPassword() {
    return server.rootPassword();
  }

  @Override
  public TestServer.Kind kind() {
    return TestServer.Kind.LOCAL;
  }

  @Override
  public Path dataDir() {
    return server.dataDir();
  }

  @Override
  public Optional<Path> socket() {
    return Optional.of(server.socket());
  }

  @Override
  public Optional<ProcessHandle> process() {
    return server.process();
  }

  @Override
  public void stop() {
    server.stop();
  }

  @Override
  public String toString() {
    return server.toString();
  }

  @Override
  public void restart(java.time.Duration down) {
    server.restart(down);
  }

  @Override
  public void crash(java.time.Duration down) {
    server.crash(down);
  }

  @Override
  public void kill() {
    server.kill();
  }
}
