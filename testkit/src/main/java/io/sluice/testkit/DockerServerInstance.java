package io.sluice.testkit;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.containers.MySQLContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * A MySQL 8 server in a container (Testcontainers' MySQL module). Loaded only in Docker mode, so
 * local runs never touch Testcontainers.
 */
final class DockerServerInstance implements ServerInstance {

  private static final Logger log = LoggerFactory.getLogger(DockerServerInstance.class);
  /** Image to run; override with {@code -Dsluice.test.docker.image=mysql:8.0}. */
  static final String IMAGE = System.getProperty("sluice.test.docker.image", "mysql:8.4");

  private final MySQLContainer<?> container;
  private final AtomicBoolean stopped = new AtomicBoolean();

  private DockerServerInstance(MySQLContainer<?> container) {
    this.container = container;
  }

  static DockerServerInstance start(TestServer.Options options) {
    List<String> command = new ArrayList<>(List.of(
        "--max-connections=" + options.maxConnections(),
        "--mysql-native-password=ON", // 8.4 ships it disabled; createUser and root rely on it
        "--local-infile=1",
        "--secure-file-priv=",
        "--skip-log-bin",
        "--skip-name-resolve",
        "--innodb-buffer-pool-size=32M",
        "--innodb-flush-log-at-trx-commit=0",
        // Testcontainers' default my.cnf sets 1M; 64M is MySQL's own default and the local one.
        "--max-allowed-packet=64M",
        "--character-set-server=utf8mb4"));
    command.addAll(options.serverArgs());
    MySQLContainer<?> container =
        new MySQLContainer<>(DockerImageName.parse(IMAGE).asCompatibleSubstituteFor("mysql"))
            .withUsername(TestServer.ROOT_USER)
            .withPassword(TestServer.ROOT_PASSWORD);
    container.withCommand(command.toArray(String[]::new));
    container.start();
    DockerServerInstance instance = new DockerServerInstance(container);
    try {
      instance.useNativePasswordForRoot();
    } catch (SQLException e) {
      instance.stop();
      throw new IllegalStateException("Cannot configure root in container " + IMAGE, e);
    }
    return instance;
  }

  /** Same root authentication as the local MariaDB (the image default is caching_sha2_password). */
  private void useNativePasswordForRoot() throws SQLException {
    String url = "jdbc:mysql://" + host() + ":" + port() + "/?useSSL=false&allowPublicKeyRetrieval=true";
    try (Connection connection = DriverManager.getConnection(url, rootUser(), rootPassword());
        Statement statement = connection.createStatement()) {
      for (String host : List.of("%", "localhost")) {
        statement.execute("ALTER USER 'root'@'" + host + "' IDENTIFIED WITH mysql_native_password BY '"
            + TestServer.sqlString(TestServer.ROOT_PASSWORD) + "'");
      }
    }
  }

  @Override
  public String host() {
    return container.getHost();
  }

  @Override
  public int port() {
    return container.getMappedPort(MySQLContainer.MYSQL_PORT);
  }

  @Override
  public String rootUser() {
    return TestServer.ROOT_USER;
  }

  @Override
  public String rootPassword() {
    return TestServer.ROOT_PASSWORD;
  }

  @Override
  public TestServer.Kind kind() {
    return TestServer.Kind.DOCKER;
  }

  @Override
  public Path dataDir() {
    return null;
  }

  @Override
  public Optional<ProcessHandle> process() {
    return Optional.empty();
  }

  @Override
  public void stop() {
    if (stopped.compareAndSet(false, true)) {
      try {
        container.stop();
      } catch (RuntimeException e) {
        log.warn("Stopping container {} failed; Testcontainers' reaper will remove it", IMAGE, e);
      }
    }
  }

  @Override
  public String toString() {
    return "container " + IMAGE + " at " + host() + ":" + port();
  }
}
