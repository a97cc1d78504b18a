package io.sluice.testkit;

import io.sluice.localdb.LocalCluster;
import io.sluice.localdb.LocalServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replicated MariaDB cluster on this machine for tests: one primary and N GTID replicas (default
 * 2), formed by localdb's {@link LocalCluster} (each server its own data directory and port on
 * 127.0.0.1, copied from the same template; see {@link LocalServer.Replication} for the settings:
 * server_id 1, 2, 3, ... in start order, binary log, {@code log_slave_updates},
 * {@code gtid_strict_mode}) and each seen as a local {@link TestServer}. Replicas are attached with
 * {@code CHANGE MASTER TO ... MASTER_USE_GTID=slave_pos} as the replication account every server
 * has ({@link #replicationUser()}) and run with {@code read_only=ON}. This class adds what tests
 * need on top: role changes, replicas held back, relays, waits on the current roles.
 *
 * <p>Roles change: {@link #switchover} (planned) and {@link #crashPrimary()} + {@link #failover}
 * (unplanned) make another server the primary, as an operator or MaxScale's mariadbmon would.
 * {@link #primary()} and {@link #replicas()} always say who is what now; {@link #servers()} keeps the
 * start order. The servers are {@link TestServer}s, so every root helper ({@code execute},
 * {@code createUser}, {@code queryString}, {@code rootConnection}, ...) works on each; the
 * primary's writes (users, databases, rows) reach the replicas, a replica's own writes do not
 * (and would break replication: write on the primary).
 *
 * <p>MariaDB only (a MySQL binary is refused at start). Waits give up after {@link #TIMEOUT} with an
 * {@link IllegalStateException} that carries the replica's {@code SHOW SLAVE STATUS} errors. Role
 * changes are not meant to run concurrently with each other; the other methods are thread-safe.
 * {@link #close()} stops every server and relay.
 */
public final class TestCluster implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(TestCluster.class);

  /** How long role changes and {@link #awaitReplicating} wait for replication. */
  public static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final LocalCluster local;
  private final List<TestServer> servers;
  private volatile TestServer primary;
  private final List<TestServer> replicas = new CopyOnWriteArrayList<>();
  private final Set<TestServer> down = ConcurrentHashMap.newKeySet();
  private final Map<TestServer, TcpRelay> relays = new ConcurrentHashMap<>();

  private TestCluster(LocalCluster local, List<TestServer> servers) {
    this.local = local;
    this.servers = List.copyOf(servers);
    this.primary = servers.get(0);
    this.replicas.addAll(servers.subList(1, servers.size()));
  }

  /** A primary and two replicas, replicating; see {@link #start(int, TestServer.Options)}. */
  public static TestCluster start() {
    return start(2);
  }

  /** A primary and {@code replicas} replicas with default server options, replicating. */
  public static TestCluster start(int replicas) {
    return start(replicas, TestServer.Options.defaults());
  }

  /**
   * Starts a primary and {@code replicas} replicas side by side (in parallel), attaches each
   * replica to the primary and returns once every replica's IO and SQL threads run. {@code options}
   * apply to every server ({@code maxConnections}, {@code serverArgs}; the kind is always local).
   * The caller closes the cluster.
   *
   * @throws IllegalStateException if a server does not start or a replica does not replicate; the
   *     servers started so far are stopped
   */
  public static TestCluster start(int replicas, TestServer.Options options) {
    LocalCluster local = LocalCluster.start(replicas, LocalServerInstance.localOptions(options));
    List<TestServer> servers = new ArrayList<>();
    try {
      for (LocalServer server : local.servers()) {
        servers.add(TestServer.adopt(server, options));
      }
    } catch (RuntimeException | Error e) {
      local.close();
      servers.forEach(TestServer::close);
      throw e;
    }
    TestCluster cluster = new TestCluster(local, servers);
    log.info("Test cluster {}", cluster);
    return cluster;
  }

  // ---------------------------------------------------------------- who is who

  /**
   * The primary now: the first server at start, then whichever {@link #switchover} or
   * {@link #failover} promoted. After {@link #crashPrimary()} and before {@link #failover}, the
   * crashed (down) server.
   */
  public TestServer primary() {
    return primary;
  }

  /** The replicas now, attached to {@link #primary()}: neither the primary nor a crashed server. */
  public List<TestServer> replicas() {
    return List.copyOf(replicas);
  }

  /** Replica {@code index} of {@link #replicas()} (0-based). */
  public TestServer replica(int index) {
    return replicas.get(index);
  }

  /** Every server in start order (server_id 1, 2, ...), whatever its role now, crashed ones too. */
  public List<TestServer> servers() {
    return servers;
  }

  /** The server's {@code server_id} (1 for the first primary, then 2, 3, ... in start order). */
  public long serverId(TestServer server) {
    if (!servers.contains(server)) {
      throw new IllegalArgumentException(server + " is not in this cluster");
    }
    return local.serverId(local(server));
  }

  /** Whether {@code server} was crashed by {@link #crashPrimary()} (it stays down). */
  public boolean isDown(TestServer server) {
    return down.contains(server);
  }

  /** The account replicas log in to their primary with; it exists on every server, REPLICATION SLAVE only. */
  public String replicationUser() {
    return local.replicationUser();
  }

  public String replicationPassword() {
    return local.replicationPassword();
  }

  // ---------------------------------------------------------------- replication state

  /** {@code @@gtid_binlog_pos} of {@code server}: the last transaction in its binary log per domain. */
  public static String gtidBinlogPos(TestServer server) {
    return LocalCluster.gtidBinlogPos(local(server));
  }

  /** {@code @@gtid_slave_pos} of {@code server}: the last transaction its replication applied per domain. */
  public static String gtidSlavePos(TestServer server) {
    return LocalCluster.gtidSlavePos(local(server));
  }

  /**
   * {@code SHOW SLAVE STATUS} of {@code server} as column name to value (e.g. {@code Slave_IO_Running},
   * {@code Seconds_Behind_Master}, {@code Last_SQL_Error}); empty if it is no replica.
   */
  public static Map<String, String> replicaStatus(TestServer server) {
    return LocalCluster.replicaStatus(local(server));
  }

  /**
   * Waits until every replica has applied everything in the primary's binary log now (its
   * {@code gtid_binlog_pos}, through {@code MASTER_GTID_WAIT} on each replica). A replica whose
   * SQL thread is stopped ({@link #stopReplicaSql}) does not catch up: this then times out.
   *
   * @throws IllegalStateException after {@code timeout} (for all replicas together), naming the
   *     replica, its position and its replication errors
   */
  public void awaitReplicated(Duration timeout) {
    String position = gtidBinlogPos(primary);
    long deadline = System.nanoTime() + timeout.toNanos();
    for (TestServer replica : replicas) {
      awaitPosition(replica, position, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
    }
  }

  /** {@link #awaitReplicated(Duration)} for one replica only (others may be held behind). */
  public void awaitReplicated(TestServer replica, Duration timeout) {
    awaitPosition(replica, gtidBinlogPos(primary), timeout);
  }

  /** Waits until {@code replica} has applied {@code position} (MASTER_GTID_WAIT); throws after {@code timeout}. */
  private void awaitPosition(TestServer replica, String position, Duration timeout) {
    LocalCluster.awaitPosition(local(replica), position, timeout);
  }

  /**
   * Waits until {@code replica}'s {@code Slave_IO_Running} and {@code Slave_SQL_Running} are both
   * {@code Yes}.
   *
   * @throws IllegalStateException after {@code timeout}, with the last IO and SQL errors
   */
  public void awaitReplicating(TestServer replica, Duration timeout) {
    LocalCluster.awaitReplicating(local(replica), timeout);
  }

  // ---------------------------------------------------------------- holding replicas back

  /**
   * Stops {@code replica}'s SQL thread ({@code STOP SLAVE SQL_THREAD}): it keeps receiving the
   * primary's binary log but applies nothing, so it falls behind ({@code gtid_slave_pos} stays,
   * {@code Seconds_Behind_Master} grows) until {@link #startReplicaSql}.
   */
  public void stopReplicaSql(TestServer replica) {
    requireReplica(replica);
    replica.execute("STOP SLAVE SQL_THREAD");
  }

  /** Starts {@code replica}'s SQL thread again and waits until it runs; it then catches up. */
  public void startReplicaSql(TestServer replica) {
    requireReplica(replica);
    replica.execute("START SLAVE SQL_THREAD");
    awaitReplicating(replica, TIMEOUT);
  }

  /**
   * {@code SET GLOBAL read_only = ON|OFF} on {@code server}: users without the READ_ONLY ADMIN
   * (or SUPER) privilege then get error 1290 on writes; replication still applies. Replicas start
   * with ON, the primary with OFF. A global setting: lost when a server restarts.
   */
  public void setReadOnly(TestServer server, boolean readOnly) {
    server.execute("SET GLOBAL read_only = " + (readOnly ? "ON" : "OFF"));
  }

  /**
   * {@code read_only=ON} under load, as a careful operator sets it: each try waits at most a second
   * for the global read lock and is repeated. A try that waits longer can close a circle the server
   * does not see: the pending global lock holds back a transaction's COMMIT, another transaction's
   * statement waits for that transaction's row lock, and the global lock waits for that statement,
   * until innodb_lock_wait_timeout (50 s) answers the statement 1205.
   */
  private void readOnlyForSwitchover(TestServer server) {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (true) {
      try {
        server.execute("SET SESSION lock_wait_timeout = 1", "SET GLOBAL read_only = ON");
        return;
      } catch (IllegalStateException e) {
        boolean lockWait = e.getCause() instanceof SQLException se && se.getErrorCode() == 1205;
        if (!lockWait || System.nanoTime() - deadline > 0) {
          throw e;
        }
        log.info("read_only=ON on {} waited over a second for the global read lock: trying again", server);
      }
    }
  }

  /**
   * A TCP relay in front of {@code server} (made on first call, closed with the cluster): point
   * Sluice at {@code relay(server).port()} instead of {@code server.port()} and the test can
   * {@link TcpRelay#pause() freeze}, {@link TcpRelay#cutAll() cut} or {@link TcpRelay#refuseNew
   * refuse} Sluice's connections to that server while replication, which connects directly, goes on.
   */
  public TcpRelay relay(TestServer server) {
    serverId(server); // must be ours
    return relays.computeIfAbsent(server, s -> {
      try {
        return TcpRelay.start(s.host(), s.port());
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot start a relay to " + s, e);
      }
    });
  }

  /** Shorthand for {@code relay(server).port()}. */
  public int relayPort(TestServer server) {
    return relay(server).port();
  }

  // ---------------------------------------------------------------- role changes

  /**
   * A planned switchover to {@code newPrimary} (one of {@link #replicas()}), as an operator or
   * mariadbmon does it: the old primary gets {@code read_only=ON}; {@code newPrimary} applies
   * everything the old primary wrote; on {@code newPrimary} {@code STOP SLAVE}, {@code RESET SLAVE
   * ALL}, {@code read_only=OFF}; the old primary ({@code gtid_slave_pos} set to its own
   * {@code gtid_binlog_pos}) and the other replicas are pointed at {@code newPrimary} with
   * {@code MASTER_USE_GTID=slave_pos} and started. Returns once they all replicate. No write is
   * lost; a write on the old primary by a user without READ_ONLY ADMIN fails with 1290 from the
   * first step on. A replica held back with {@link #stopReplicaSql} is started again.
   *
   * @throws IllegalArgumentException if {@code newPrimary} is not a replica now
   * @throws IllegalStateException if the primary is down (use {@link #failover}) or a wait times out
   */
  public synchronized void switchover(TestServer newPrimary) {
    requireReplica(newPrimary);
    TestServer old = primary;
    if (down.contains(old)) {
      throw new IllegalStateException("The primary " + old + " is down: use failover, not switchover");
    }
    long started = System.nanoTime();
    readOnlyForSwitchover(old);
    String position = gtidBinlogPos(old);
    newPrimary.execute("START SLAVE SQL_THREAD"); // in case a test held it back; a note if it runs
    awaitPosition(newPrimary, position, TIMEOUT);
    promote(newPrimary);
    old.execute("SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos"); // its own writes count as applied
    List<TestServer> followers = new ArrayList<>(replicas);
    followers.remove(newPrimary);
    followers.add(old);
    repoint(newPrimary, followers);
    log.info("Switched over from {} to {} in {} ms", old, newPrimary,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
  }

  /**
   * Crashes the primary: SIGKILL (no clean shutdown; clients and replicas lose their connections
   * at once) and it stays down. {@link #primary()} still names it until {@link #failover}; the
   * replicas keep trying to reconnect (every second) meanwhile. Returns the crashed server.
   */
  public synchronized TestServer crashPrimary() {
    TestServer crashed = primary;
    if (!down.add(crashed)) {
      throw new IllegalStateException("The primary " + crashed + " is down already");
    }
    crashed.kill();
    log.info("Crashed the primary {}", crashed);
    return crashed;
  }

  /**
   * After {@link #crashPrimary()}: promotes the most advanced replica (the one that applied the
   * most of the crashed primary's transactions; the first in {@link #replicas()} on a tie) and
   * returns it. See {@link #failover(TestServer)}.
   */
  public synchronized TestServer failover() {
    requirePrimaryDown();
    drainRelayLogs();
    TestServer best = replicas.get(0);
    for (TestServer replica : replicas) {
      if (!covers(gtidSlavePos(best), gtidSlavePos(replica))) {
        best = replica;
      }
    }
    failover(best);
    return best;
  }

  /**
   * After {@link #crashPrimary()}: makes {@code newPrimary} the primary as an operator or mariadbmon
   * does it after a crash. Every replica first applies what it had received ({@code START SLAVE
   * SQL_THREAD}, relay log drained); {@code newPrimary} must then have applied at least what every
   * other replica did. On {@code newPrimary} {@code STOP SLAVE}, {@code RESET SLAVE ALL},
   * {@code read_only=OFF}; the other replicas are pointed at it ({@code MASTER_USE_GTID=slave_pos})
   * and started. Returns once they replicate. The crashed server stays down and out of
   * {@link #replicas()}; transactions it committed but no replica received are lost, as in real life.
   *
   * @throws IllegalArgumentException if {@code newPrimary} is not a replica, or another replica is
   *     ahead of it (promoting it would lose transactions that replica has: choose that one)
   * @throws IllegalStateException if the primary is not down (use {@link #switchover}) or a wait times out
   */
  public synchronized void failover(TestServer newPrimary) {
    requireReplica(newPrimary);
    requirePrimaryDown();
    long started = System.nanoTime();
    drainRelayLogs();
    String position = gtidSlavePos(newPrimary);
    for (TestServer replica : replicas) {
      String theirs = gtidSlavePos(replica);
      if (!covers(position, theirs)) {
        throw new IllegalArgumentException(newPrimary + " (gtid_slave_pos " + position + ") is behind "
            + replica + " (" + theirs + "); promote the most advanced replica, e.g. with failover()");
      }
    }
    TestServer old = primary;
    promote(newPrimary);
    List<TestServer> followers = new ArrayList<>(replicas);
    followers.remove(newPrimary);
    repoint(newPrimary, followers);
    log.info("Failed over from crashed {} to {} in {} ms", old, newPrimary,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
  }

  // ---------------------------------------------------------------- lifecycle

  /** Closes every relay and stops every server (in parallel), deleting their directories. Idempotent. */
  @Override
  public void close() {
    relays.values().forEach(TcpRelay::close);
    relays.clear();
    local.close();
    servers.forEach(TestServer::close); // stopped already: only forgets them
  }

  @Override
  public String toString() {
    StringBuilder text = new StringBuilder("primary 127.0.0.1:" + primary.port() + ", replicas");
    replicas.forEach(replica -> text.append(" 127.0.0.1:").append(replica.port()));
    return text.toString();
  }

  // ---------------------------------------------------------------- helpers

  private void attach(TestServer replica, TestServer source) {
    local.attach(local(replica), local(source));
  }

  /** The localdb server under one of this cluster's test servers (all are local). */
  private static LocalServer local(TestServer server) {
    return server.localServer().orElseThrow(() -> new IllegalArgumentException(server + " is no local server"));
  }

  /** Ends {@code server}'s life as a replica and lets it take writes. */
  private void promote(TestServer server) {
    server.execute("STOP SLAVE", "RESET SLAVE ALL", "SET GLOBAL read_only = OFF");
    replicas.remove(server);
    primary = server;
  }

  /** Points {@code followers} at {@code source}, starts them and waits until they replicate. */
  private void repoint(TestServer source, List<TestServer> followers) {
    for (TestServer follower : followers) {
      follower.execute("STOP SLAVE");
      attach(follower, source);
    }
    replicas.clear();
    replicas.addAll(followers);
    for (TestServer follower : followers) {
      awaitReplicating(follower, TIMEOUT);
    }
  }

  /** Lets every replica apply what it received from the crashed primary. */
  private void drainRelayLogs() {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    for (TestServer replica : replicas) {
      replica.execute("START SLAVE SQL_THREAD");
      while (true) {
        Map<String, String> status = replicaStatus(replica);
        if (status.isEmpty() || (Objects.equals(status.get("Master_Log_File"), status.get("Relay_Master_Log_File"))
            && Objects.equals(status.get("Read_Master_Log_Pos"), status.get("Exec_Master_Log_Pos")))) {
          break;
        }
        if (System.nanoTime() - deadline > 0) {
          throw new IllegalStateException("Replica " + replica + " did not apply its relay log within "
              + TIMEOUT.toMillis() + " ms: " + status);
        }
        sleep(20);
      }
    }
  }

  /** Whether GTID position {@code a} includes {@code b}: in every domain of b, a's sequence number is at least b's. */
  static boolean covers(String a, String b) {
    Map<Long, Long> mine = sequences(a);
    for (Map.Entry<Long, Long> theirs : sequences(b).entrySet()) {
      if (mine.getOrDefault(theirs.getKey(), -1L) < theirs.getValue()) {
        return false;
      }
    }
    return true;
  }

  /** "0-1-5,1-2-3" to {0=5, 1=3}: domain to sequence number. */
  private static Map<Long, Long> sequences(String position) {
    Map<Long, Long> sequences = new HashMap<>();
    if (position == null || position.isBlank()) {
      return sequences;
    }
    for (String gtid : position.split(",")) {
      String[] parts = gtid.trim().split("-");
      if (parts.length != 3) {
        throw new IllegalArgumentException("not a GTID position: " + position);
      }
      sequences.put(Long.parseLong(parts[0]), Long.parseLong(parts[2]));
    }
    return sequences;
  }

  private void requireReplica(TestServer server) {
    if (!replicas.contains(server)) {
      throw new IllegalArgumentException(server + " is not a replica of this cluster now; replicas: " + replicas);
    }
  }

  private void requirePrimaryDown() {
    if (!down.contains(primary)) {
      throw new IllegalStateException("The primary " + primary + " is up: use switchover, or crashPrimary() first");
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while waiting for replication", e);
    }
  }
}
