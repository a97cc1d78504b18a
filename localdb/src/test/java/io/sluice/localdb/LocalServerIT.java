package io.sluice.localdb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/**
 * One server through the plain API (testkit's LocalServerIT covers the rest through TestServer):
 * options reach the server, directories carry the prefix, stop leaves nothing behind.
 */
class LocalServerIT {

  @Test
  void startsWithTheOptionsAndStopsWithoutATrace() throws Exception {
    assumeTrue(LocalServer.findServerBinary().isPresent(), "no mariadbd or mysqld on this machine");
    LocalServer server = LocalServer.start(LocalServer.Options.defaults()
        .withMaxConnections(12) // MariaDB raises anything below 10 to 10
        .withRootPassword("r'oot")
        .withDirPrefix("sluice-localdb-it-")
        .withServerArgs("--wait-timeout=77"));
    Path base = server.baseDir();
    ProcessHandle process;
    try {
      assertTrue(base.getFileName().toString().startsWith("sluice-localdb-it-"), base.toString());
      assertTrue(Files.isDirectory(server.dataDir()));
      process = server.process().orElseThrow();
      String url = "jdbc:mysql://" + server.host() + ":" + server.port() + "/?useSSL=false&allowPublicKeyRetrieval=true";
      try (Connection c = DriverManager.getConnection(url, server.rootUser(), "r'oot");
          Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT @@max_connections, @@wait_timeout, VERSION(), @@log_bin")) {
        assertTrue(rs.next());
        assertEquals(12, rs.getInt(1));
        assertEquals(77, rs.getInt(2));
        assertEquals(rs.getString(3).contains("MariaDB"), server.isMariaDb());
        assertFalse(rs.getBoolean(4), "no binary log unless replication is asked for");
      }
    } finally {
      server.close();
    }
    assertTrue(server.isStopped());
    assertFalse(process.isAlive(), "server process " + process.pid() + " still running");
    assertFalse(Files.exists(base), base + " still exists");
    server.close(); // idempotent
  }

  /**
   * Options.withReplication: binary log and server_id as asked, the replication account exists, and
   * no transaction of the server's own is in its binary log, also after a kill and a start again on
   * the same data (the init file runs at every start; copies of one template must not diverge).
   */
  @Test
  void replicationTurnsTheBinaryLogOnWithoutTransactionsOfItsOwn() throws Exception {
    assumeTrue(LocalServer.findServerBinary().isPresent(), "no mariadbd or mysqld on this machine");
    LocalServer.Options options = LocalServer.Options.defaults().withDirPrefix("sluice-localdb-it-").withReplication(7);
    LocalServer server;
    try {
      server = LocalServer.start(options);
    } catch (IllegalStateException e) {
      assumeTrue(!e.getMessage().contains("is MySQL"), "replication options are MariaDB's");
      throw e;
    }
    try {
      String url = "jdbc:mysql://" + server.host() + ":" + server.port() + "/?useSSL=false&allowPublicKeyRetrieval=true";
      String query = "SELECT @@server_id, @@log_bin, @@binlog_format, @@log_slave_updates, @@gtid_strict_mode, "
          + "@@gtid_binlog_pos, @@gtid_slave_pos";
      for (int start = 0; start < 2; start++) {
        try (Connection c = DriverManager.getConnection(url, server.rootUser(), server.rootPassword());
            Statement s = c.createStatement();
            ResultSet rs = s.executeQuery(query)) {
          assertTrue(rs.next());
          assertEquals(7, rs.getInt(1));
          assertTrue(rs.getBoolean(2), "log_bin");
          assertEquals("ROW", rs.getString(3));
          assertTrue(rs.getBoolean(4), "log_slave_updates");
          assertTrue(rs.getBoolean(5), "gtid_strict_mode");
          assertEquals("", rs.getString(6), "gtid_binlog_pos: the init file must stay out of the binary log");
          assertEquals("", rs.getString(7), "gtid_slave_pos of a fresh copy of the template");
        }
        try (Connection c = DriverManager.getConnection(url, LocalServer.Replication.DEFAULT_USER,
                LocalServer.Replication.DEFAULT_PASSWORD);
            Statement s = c.createStatement();
            ResultSet rs = s.executeQuery("SHOW GRANTS")) {
          assertTrue(rs.next());
          assertTrue(rs.getString(1).contains("REPLICATION SLAVE"), rs.getString(1));
        }
        if (start == 0) {
          ProcessHandle process = server.process().orElseThrow();
          server.kill();
          assertFalse(process.isAlive(), "kill leaves the server down");
          server.crash(java.time.Duration.ZERO); // starts it again on the same data
        }
      }
    } finally {
      server.close();
    }
  }
}
