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
          ResultSet rs = s.executeQuery("SELECT @@max_connections, @@wait_timeout, VERSION()")) {
        assertTrue(rs.next());
        assertEquals(12, rs.getInt(1));
        assertEquals(77, rs.getInt(2));
        assertEquals(rs.getString(3).contains("MariaDB"), server.isMariaDb());
      }
    } finally {
      server.close();
    }
    assertTrue(server.isStopped());
    assertFalse(process.isAlive(), "server process " + process.pid() + " still running");
    assertFalse(Files.exists(base), base + " still exists");
    server.close(); // idempotent
  }
}
