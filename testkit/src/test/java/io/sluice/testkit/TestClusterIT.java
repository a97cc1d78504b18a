package io.sluice.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real primary and two GTID replicas: replication, a replica held behind, a relay in front of a
 * replica (one cluster shared by these, each test on its own table), then a switchover, and a crash
 * with a failover (each on a cluster of its own: role changes leave a cluster changed).
 */
class TestClusterIT {

  private static final Duration WAIT = Duration.ofSeconds(20);

  /** For the tests that change no roles. */
  private static TestCluster shared;
  /** For a test that changes roles; closed after it. */
  private TestCluster own;

  @BeforeAll
  static void startSharedCluster() {
    assumeTrue(LocalServerInstance.findServerBinary().isPresent(), "no mariadbd or mysqld on this machine");
    shared = TestCluster.start();
    shared.primary().execute("CREATE DATABASE app");
  }

  @AfterAll
  static void stopSharedCluster() {
    if (shared != null) {
      shared.close();
    }
  }

  @AfterEach
  void stopOwnCluster() {
    if (own != null) {
      own.close();
    }
    if (shared != null) { // a failed test must not leave a replica held behind for the next
      shared.replicas().forEach(replica -> replica.execute("START SLAVE SQL_THREAD"));
    }
  }

  private TestCluster ownCluster() {
    own = TestCluster.start();
    own.primary().execute("CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20))");
    return own;
  }

  @Test
  void writesOnThePrimaryReachEveryReplica() {
    TestCluster cluster = shared;
    cluster.primary().execute("CREATE TABLE app.t_writes (id INT PRIMARY KEY, v VARCHAR(20))");
    assertEquals(3, cluster.servers().size());
    assertEquals(List.of(cluster.servers().get(1), cluster.servers().get(2)), cluster.replicas());
    for (TestServer replica : cluster.replicas()) {
      Map<String, String> status = TestCluster.replicaStatus(replica);
      assertEquals("Yes", status.get("Slave_IO_Running"), replica.toString());
      assertEquals("Yes", status.get("Slave_SQL_Running"), replica.toString());
      assertEquals("Slave_Pos", status.get("Using_Gtid"), replica.toString());
      assertEquals(String.valueOf(cluster.primary().port()), status.get("Master_Port"));
      assertEquals("1", replica.queryString("SELECT @@read_only"), "replicas start read-only");
    }
    assertEquals("0", cluster.primary().queryString("SELECT @@read_only"));
    assertEquals(List.of("1", "2", "3"),
        cluster.servers().stream().map(s -> s.queryString("SELECT @@server_id")).toList());

    cluster.primary().execute("INSERT INTO app.t_writes VALUES (1, 'one'), (2, 'two')");
    cluster.awaitReplicated(WAIT);
    String position = TestCluster.gtidBinlogPos(cluster.primary());
    assertTrue(position.startsWith("0-1-"), position);
    for (TestServer replica : cluster.replicas()) {
      assertEquals("2", replica.queryString("SELECT COUNT(*) FROM app.t_writes"), replica.toString());
      assertEquals(position, TestCluster.gtidSlavePos(replica), replica.toString());
    }
  }

  @Test
  void aReplicaWithItsSqlThreadStoppedLagsAndCatchesUp() {
    TestCluster cluster = shared;
    cluster.primary().execute("CREATE TABLE app.t_lag (id INT PRIMARY KEY, v VARCHAR(20))");
    TestServer held = cluster.replica(0);
    TestServer other = cluster.replica(1);
    cluster.awaitReplicated(WAIT);
    String before = TestCluster.gtidSlavePos(held);
    cluster.stopReplicaSql(held);
    cluster.primary().execute("INSERT INTO app.t_lag VALUES (1, 'one')", "INSERT INTO app.t_lag VALUES (2, 'two')");
    cluster.awaitReplicated(other, WAIT);
    assertEquals("2", other.queryString("SELECT COUNT(*) FROM app.t_lag"));
    assertEquals(before, TestCluster.gtidSlavePos(held), "the held replica applies nothing");
    assertEquals("0", held.queryString("SELECT COUNT(*) FROM app.t_lag"));
    assertFalse(TestCluster.covers(TestCluster.gtidSlavePos(held), TestCluster.gtidBinlogPos(cluster.primary())));
    IllegalStateException timedOut = assertThrows(IllegalStateException.class,
        () -> cluster.awaitReplicated(Duration.ofMillis(300)));
    assertTrue(timedOut.getMessage().contains("Slave_SQL_Running No"), timedOut.getMessage());

    cluster.startReplicaSql(held);
    cluster.awaitReplicated(WAIT);
    assertEquals("2", held.queryString("SELECT COUNT(*) FROM app.t_lag"));
    assertEquals(TestCluster.gtidBinlogPos(cluster.primary()), TestCluster.gtidSlavePos(held));
  }

  @Test
  void switchoverMovesWritesToTheNewPrimaryAndTheOldOneBecomesAReadOnlyReplica() throws SQLException {
    TestCluster cluster = ownCluster();
    TestServer oldPrimary = cluster.primary();
    TestServer newPrimary = cluster.replica(0);
    TestServer other = cluster.replica(1);
    oldPrimary.createUser("app", "app-pw", "SELECT, INSERT, UPDATE, DELETE ON app.*"); // no READ_ONLY ADMIN
    oldPrimary.execute("INSERT INTO app.t VALUES (1, 'before')");

    cluster.switchover(newPrimary);

    assertEquals(newPrimary, cluster.primary());
    assertEquals(List.of(other, oldPrimary), cluster.replicas());
    assertEquals("0", newPrimary.queryString("SELECT @@read_only"));
    assertEquals("1", oldPrimary.queryString("SELECT @@read_only"));
    assertTrue(TestCluster.replicaStatus(newPrimary).isEmpty(), "RESET SLAVE ALL on the new primary");
    for (TestServer replica : cluster.replicas()) {
      assertEquals(String.valueOf(newPrimary.port()), TestCluster.replicaStatus(replica).get("Master_Port"));
    }

    try (Connection app = DriverManager.getConnection(newPrimary.jdbcUrl("app"), "app", "app-pw");
        Statement statement = app.createStatement()) {
      statement.execute("INSERT INTO app.t VALUES (2, 'after')");
    }
    cluster.awaitReplicated(WAIT);
    String position = TestCluster.gtidBinlogPos(newPrimary);
    assertTrue(position.startsWith("0-2-"), "written by server 2 now: " + position);
    for (TestServer replica : List.of(oldPrimary, other)) {
      assertEquals("before,after", replica.queryString("SELECT GROUP_CONCAT(v ORDER BY id) FROM app.t"), replica.toString());
    }

    try (Connection app = DriverManager.getConnection(oldPrimary.jdbcUrl("app"), "app", "app-pw");
        Statement statement = app.createStatement()) {
      SQLException refused = assertThrows(SQLException.class, () -> statement.execute("INSERT INTO app.t VALUES (3, 'x')"));
      assertEquals(1290, refused.getErrorCode(), refused.getMessage());
    }
    assertEquals("2", oldPrimary.queryString("SELECT COUNT(*) FROM app.t"));
  }

  @Test
  void afterACrashFailoverPromotesTheMostAdvancedReplicaAndWritesReachTheOther() {
    TestCluster cluster = ownCluster();
    TestServer ahead = cluster.replica(0);
    TestServer behind = cluster.replica(1);
    cluster.primary().execute("INSERT INTO app.t VALUES (1, 'before')");
    cluster.awaitReplicated(WAIT);
    behind.execute("STOP SLAVE IO_THREAD"); // receives nothing more from this primary
    cluster.primary().execute("INSERT INTO app.t VALUES (2, 'late')");
    cluster.awaitReplicated(ahead, WAIT);
    TestServer crashed = cluster.crashPrimary();
    assertTrue(cluster.isDown(crashed));
    assertThrows(SQLException.class, () -> crashed.rootConnection().close());
    assertThrows(IllegalStateException.class, () -> cluster.switchover(ahead));
    IllegalArgumentException wouldLose = assertThrows(IllegalArgumentException.class, () -> cluster.failover(behind));
    assertTrue(wouldLose.getMessage().contains("is behind"), wouldLose.getMessage());

    assertEquals(ahead, cluster.failover());

    assertEquals(ahead, cluster.primary());
    assertEquals(List.of(behind), cluster.replicas());
    assertEquals("0", ahead.queryString("SELECT @@read_only"));
    assertEquals("1", behind.queryString("SELECT @@read_only"));
    assertEquals(String.valueOf(ahead.port()), TestCluster.replicaStatus(behind).get("Master_Port"));
    ahead.execute("INSERT INTO app.t VALUES (3, 'after')");
    cluster.awaitReplicated(WAIT);
    assertEquals("before,late,after", behind.queryString("SELECT GROUP_CONCAT(v ORDER BY id) FROM app.t"),
        "the promoted replica's binary log has what the lagging one missed");
    assertTrue(TestCluster.gtidBinlogPos(ahead).startsWith("0-2-"), TestCluster.gtidBinlogPos(ahead));
  }

  @Test
  void aRelayInFrontOfAReplicaCanCutItOffWhileReplicationGoesOn() throws Exception {
    TestCluster cluster = shared;
    cluster.primary().execute("CREATE TABLE app.t_relay (id INT PRIMARY KEY, v VARCHAR(20))");
    TestServer replica = cluster.replica(1);
    TcpRelay relay = cluster.relay(replica);
    assertEquals(relay.port(), cluster.relayPort(replica));
    String url = "jdbc:mysql://127.0.0.1:" + relay.port() + "/?useSSL=false&allowPublicKeyRetrieval=true&connectTimeout=2000";
    try (Connection through = DriverManager.getConnection(url, replica.rootUser(), replica.rootPassword())) {
      assertEquals(String.valueOf(replica.port()), queryString(through, "SELECT @@port"));
      relay.cutAll();
      assertThrows(SQLException.class, () -> queryString(through, "SELECT 1"));
    }
    relay.refuseNew(true);
    assertThrows(SQLException.class, () -> DriverManager.getConnection(url, replica.rootUser(), replica.rootPassword()));
    cluster.primary().execute("INSERT INTO app.t_relay VALUES (1, 'one')");
    cluster.awaitReplicated(WAIT);
    assertEquals("1", replica.queryString("SELECT COUNT(*) FROM app.t_relay"), "replication does not go through the relay");
    relay.refuseNew(false);
    try (Connection through = DriverManager.getConnection(url, replica.rootUser(), replica.rootPassword())) {
      assertEquals("1", queryString(through, "SELECT COUNT(*) FROM app.t_relay"));
    }
  }

  private static String queryString(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement(); var rs = statement.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }
}
