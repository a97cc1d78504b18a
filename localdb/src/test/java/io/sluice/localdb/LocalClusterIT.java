package io.sluice.localdb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A real primary and one GTID replica through the plain API (testkit's TestClusterIT covers role
 * changes through TestCluster): roles, a row written on the primary appears on the replica, what
 * the replica's Com_insert counts of what it applies, close leaves nothing behind.
 */
class LocalClusterIT {

  @Test
  void aRowWrittenOnThePrimaryAppearsOnTheReplica() throws Exception {
    assumeTrue(LocalServer.findServerBinary().isPresent(), "no mariadbd or mysqld on this machine");
    LocalCluster cluster;
    try {
      cluster = LocalCluster.start(1, LocalServer.Options.defaults().withDirPrefix("sluice-localcluster-it-"));
    } catch (IllegalStateException e) {
      assumeTrue(!e.getMessage().contains("is MySQL"), "replication options are MariaDB's");
      throw e;
    }
    List<Path> dirs = cluster.servers().stream().map(LocalServer::baseDir).toList();
    try {
      LocalServer primary = cluster.primary();
      LocalServer replica = cluster.replicas().get(0);
      assertEquals(List.of(primary, replica), cluster.servers());
      assertNotEquals(primary.port(), replica.port());
      assertNotEquals(primary.dataDir(), replica.dataDir());
      assertEquals("1", query(primary, "SELECT @@server_id"));
      assertEquals("2", query(replica, "SELECT @@server_id"));
      assertEquals(2, cluster.serverId(replica));
      assertEquals("0", query(primary, "SELECT @@read_only"));
      assertEquals("1", query(replica, "SELECT @@read_only"), "replicas run read-only");
      assertTrue(LocalCluster.replicaStatus(primary).isEmpty(), "the primary replicates from nobody");
      Map<String, String> status = LocalCluster.replicaStatus(replica);
      assertEquals("Yes", status.get("Slave_IO_Running"));
      assertEquals("Yes", status.get("Slave_SQL_Running"));
      assertEquals("Slave_Pos", status.get("Using_Gtid"));
      assertEquals(String.valueOf(primary.port()), status.get("Master_Port"));
      assertEquals(cluster.replicationUser(), status.get("Master_User"));

      long replicaInsertsBefore = comInsert(replica);
      execute(primary, "CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20))",
          "INSERT INTO app.t VALUES (1, 'one')");
      cluster.awaitReplicated(Duration.ofSeconds(20));
      assertEquals("one", query(replica, "SELECT v FROM app.t WHERE id = 1"));
      String position = LocalCluster.gtidBinlogPos(primary);
      assertTrue(position.startsWith("0-1-"), "written by server 1: " + position);
      assertEquals(position, LocalCluster.gtidSlavePos(replica));
      assertEquals(replicaInsertsBefore + 1, comInsert(replica),
          "MariaDB counts each row event a replica applies as one Com_insert, as the INSERT it came from");

      long primaryBefore = comInsert(primary);
      replicaInsertsBefore = comInsert(replica);
      execute(primary, "INSERT INTO app.t VALUES (2, 'two')", "INSERT INTO app.t VALUES (3, 'three'), (4, 'four'), (5, 'five')");
      cluster.awaitReplicated(Duration.ofSeconds(20));
      assertEquals("5", query(replica, "SELECT COUNT(*) FROM app.t"));
      assertEquals(2, comInsert(primary) - primaryBefore);
      assertEquals(2, comInsert(replica) - replicaInsertsBefore,
          "one per INSERT statement of the primary (binlog_format=ROW: one row event each), not per row");
    } finally {
      cluster.close();
    }
    for (Path dir : dirs) {
      assertFalse(Files.exists(dir), dir + " still exists");
    }
    cluster.close(); // idempotent
  }

  @Test
  void refusesNegativeReplicasAndReplicationSettingsOfItsOwn() {
    assertThrows(IllegalArgumentException.class, () -> LocalCluster.start(-1, LocalServer.Options.defaults()));
    IllegalArgumentException own = assertThrows(IllegalArgumentException.class,
        () -> LocalCluster.start(1, LocalServer.Options.defaults().withReplication(5)));
    assertTrue(own.getMessage().contains("withReplication"), own.getMessage());
  }

  private static long comInsert(LocalServer server) throws SQLException {
    try (Connection c = server.rootConnection(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SHOW GLOBAL STATUS LIKE 'Com_insert'")) {
      assertTrue(rs.next());
      return rs.getLong(2);
    }
  }

  private static String query(LocalServer server, String sql) throws SQLException {
    try (Connection c = server.rootConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      assertTrue(rs.next(), sql);
      return rs.getString(1);
    }
  }

  private static void execute(LocalServer server, String... sql) throws SQLException {
    try (Connection c = server.rootConnection(); Statement s = c.createStatement()) {
      for (String one : sql) {
        s.execute(one);
      }
    }
  }
}
