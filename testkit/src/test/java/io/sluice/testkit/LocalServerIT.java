package io.sluice.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A local server (mariadbd/mysqld on this machine): start, query, users, counts, stop. */
class LocalServerIT {

  private static TestServer server;

  @BeforeAll
  static void startLocalServer() {
    assumeTrue(LocalServerInstance.findServerBinary().isPresent(), "no mariadbd or mysqld on this machine");
    server = TestServer.start(TestServer.Options.defaults()
        .withKind(TestServer.Kind.LOCAL)
        .withMaxConnections(20)
        .withServerArgs("--wait-timeout=600"));
  }

  @AfterAll
  static void stopServer() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void startsAndAnswersQueries() throws SQLException {
    assertEquals(TestServer.Kind.LOCAL, server.kind());
    assertEquals("127.0.0.1", server.host());
    try (Connection connection = server.rootConnection();
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery(
            "SELECT 1 + 1, @@max_connections, @@wait_timeout, @@local_infile, @@max_allowed_packet")) {
      assertTrue(rs.next());
      assertEquals(2, rs.getInt(1));
      assertEquals(20, rs.getInt(2), "Options.maxConnections");
      assertEquals(600, rs.getInt(3), "extra server args come last and win");
      assertTrue(rs.getBoolean(4));
      assertEquals(64 << 20, rs.getInt(5));
    }
    assertNotNull(server.version());
    assertEquals(server.version().contains("MariaDB"), server.isMariaDb());
  }

  @Test
  void createdUserLogsInWithNativePasswordAndIsCounted() throws Exception {
    server.createDatabase("app");
    server.createUser("counted", "p'a\\ss");
    String url = server.jdbcUrl("app");
    assertEquals(0, server.connectionCount("counted"));

    List<Connection> connections = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        connections.add(DriverManager.getConnection(url, "counted", "p'a\\ss"));
      }
      assertEquals(3, server.connectionCount("counted"));
      long others = server.threadsConnected();
      assertTrue(others >= 3, "threads connected " + others);
    } finally {
      for (Connection connection : connections) {
        connection.close();
      }
    }
    assertEquals(0, server.awaitConnectionCount("counted", 0, Duration.ofSeconds(5)));

    try (Connection connection = server.rootConnection();
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery("SELECT DISTINCT " + (server.isMariaDb()
            ? "JSON_VALUE(Priv, '$.plugin') FROM mysql.global_priv"
            : "plugin FROM mysql.user") + " WHERE User = 'counted'")) {
      assertTrue(rs.next());
      assertEquals("mysql_native_password", rs.getString(1));
      assertFalse(rs.next());
    }
  }

  @Test
  void createUserWithGrantsLimitsPrivileges() throws SQLException {
    server.createDatabase("granted");
    server.createUser("limited", "secret", "SELECT ON granted.*");
    try (Connection connection = DriverManager.getConnection(server.jdbcUrl("granted"), "limited", "secret");
        Statement statement = connection.createStatement()) {
      statement.executeQuery("SELECT 1").close();
      assertThrows(SQLException.class, () -> statement.execute("CREATE TABLE t (id INT)"));
    }
    server.createUser("limited", "changed"); // recreating replaces the user
    try (Connection ignored = DriverManager.getConnection(server.jdbcUrl(""), "limited", "changed")) {
      assertEquals(1, server.connectionCount("limited"));
    }
  }

  @Test
  void rootPasswordIsRequired() {
    assertThrows(SQLException.class,
        () -> DriverManager.getConnection(server.jdbcUrl(""), server.rootUser(), "wrong").close());
  }

  @Test
  void stopKillsTheServerAndDeletesItsDirectory() throws Exception {
    TestServer own = TestServer.start(TestServer.Options.defaults()
        .withKind(TestServer.Kind.LOCAL).withMaxConnections(5));
    Path dataDir = own.dataDir();
    ProcessHandle process = own.serverProcess().orElseThrow();
    assertTrue(Files.isDirectory(dataDir));
    assertTrue(process.isAlive());

    own.stop();

    assertFalse(process.isAlive(), "server process " + process.pid() + " still running");
    assertFalse(Files.exists(dataDir.getParent()), dataDir.getParent() + " still exists");
    own.stop(); // idempotent
    assertThrows(SQLException.class, own::rootConnection);
  }

  @Test
  void sharedIsOneServerPerJvmAndCannotBeStopped() {
    assumeTrue(TestServer.Kind.fromSystemProperty() != TestServer.Kind.DOCKER);
    TestServer first = TestServer.shared();
    assertSame(first, TestServer.shared());
    assertThrows(IllegalStateException.class, first::close);
    assertEquals(200, first.options().maxConnections());
  }
}
