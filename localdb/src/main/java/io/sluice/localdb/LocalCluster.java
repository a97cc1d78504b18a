package io.sluice.localdb;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replicated MariaDB cluster on this machine: one primary and N GTID replicas, each a
 * {@link LocalServer} of its own (data directory, port on 127.0.0.1) started with
 * {@link LocalServer.Replication} settings (server_id 1, 2, 3, ... in start order, binary log,
 * {@code log_slave_updates}, {@code gtid_strict_mode}, the replication account
 * {@link LocalServer.Replication#DEFAULT_USER}). Replicas are attached with {@code CHANGE MASTER TO
 * ... MASTER_USE_GTID=slave_pos} and run with {@code read_only=ON}. What {@code sluice demo
 * --replicas} runs, and what testkit's TestCluster builds its role changes on.
 *
 * <p>{@link #primary()} and {@link #replicas()} are the roles at start; whoever changes roles
 * afterwards ({@link #attach} again, {@code RESET SLAVE ALL}) keeps track of them. The static helpers
 * read and wait for replication state on any server. MariaDB only (a MySQL binary is refused at
 * start). Waits give up with an {@link IllegalStateException} that carries the replica's
 * {@code SHOW SLAVE STATUS} errors. Thread-safe; {@link #close()} stops every server.
 */
public final class LocalCluster implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LocalCluster.class);

  /** How long {@link #start} waits for each replica to replicate. */
  public static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final List<LocalServer> servers;
  private final String replicationUser = LocalServer.Replication.DEFAULT_USER;
  private final String replicationPassword = LocalServer.Replication.DEFAULT_PASSWORD;

  private LocalCluster(List<LocalServer> servers) {
    this.servers = List.copyOf(servers);
  }

  /**
   * Starts a primary and {@code replicas} replicas side by side (in parallel), attaches each replica
   * to the primary and returns once every replica's IO and SQL threads run. {@code options} apply to
   * every server (binary, max_connections, server options, root password, directory prefix); the
   * replication settings are the cluster's. The caller closes the cluster.
   *
   * @throws IllegalArgumentException if {@code replicas} is negative or {@code options} already name
   *     replication settings
   * @throws IllegalStateException if a server does not start or a replica does not replicate; the
   *     servers started so far are stopped
   */
  public static LocalCluster start(int replicas, LocalServer.Options options) {
    if (replicas < 0) {
      throw new IllegalArgumentException("replicas must be 0 or more, got " + replicas);
    }
    if (options.replication().isPresent()) {
      throw new IllegalArgumentException("LocalCluster gives each server its replication settings; "
          + "pass options without withReplication");
    }
    long started = System.nanoTime();
    List<LocalServer> servers = new ArrayList<>();
    List<Future<LocalServer>> starting = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(replicas + 1, r -> {
      Thread thread = new Thread(r, "sluice-localcluster-start");
      thread.setDaemon(true);
      return thread;
    });
    RuntimeException failure = null;
    try {
      for (int i = 0; i <= replicas; i++) {
        LocalServer.Options serverOptions = options.withReplication(LocalServer.Replication.of(i + 1));
        starting.add(pool.submit(() -> LocalServer.start(serverOptions)));
      }
      for (Future<LocalServer> future : starting) {
        try {
          servers.add(future.get());
        } catch (ExecutionException e) {
          if (failure == null) {
            failure = e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure = new IllegalStateException("Interrupted while starting a local cluster", e);
      starting.forEach(future -> future.cancel(true));
    } finally {
      pool.shutdown();
    }
    if (failure != null) {
      servers.forEach(LocalServer::close);
      throw failure;
    }
    LocalCluster cluster = new LocalCluster(servers);
    try {
      for (LocalServer replica : cluster.replicas()) {
        cluster.attach(replica, cluster.primary());
      }
      for (LocalServer replica : cluster.replicas()) {
        awaitReplicating(replica, TIMEOUT);
      }
    } catch (RuntimeException | Error e) {
      cluster.close();
      throw e;
    }
    log.info("Started local cluster {} in {} ms", cluster,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    return cluster;
  }

  // ---------------------------------------------------------------- who is who

  /** The primary at start: the first server (server_id 1). */
  public LocalServer primary() {
    return servers.get(0);
  }

  /** The replicas at start, attached to {@link #primary()}: server_id 2, 3, ... */
  public List<LocalServer> replicas() {
    return servers.subList(1, servers.size());
  }

  /** Every server in start order: the primary, then the replicas. */
  public List<LocalServer> servers() {
    return servers;
  }

  /** The server's {@code server_id}: its place in {@link #servers()}, from 1. */
  public long serverId(LocalServer server) {
    int index = servers.indexOf(server);
    if (index < 0) {
      throw new IllegalArgumentException(server + " is not in this cluster");
    }
    return index + 1L;
  }

  /** The account replicas log in to their primary with; it exists on every server, REPLICATION SLAVE only. */
  public String replicationUser() {
    return replicationUser;
  }

  public String replicationPassword() {
    return replicationPassword;
  }

  // ---------------------------------------------------------------- replication

  /**
   * Makes {@code replica} replicate from {@code source} (both of this cluster): {@code read_only=ON},
   * {@code CHANGE MASTER TO} the source's port with the replication account,
   * {@code MASTER_USE_GTID=slave_pos}, reconnecting every second, and {@code START SLAVE}. Returns
   * without waiting; {@link #awaitReplicating} waits until it runs. A replica attached before must be
   * stopped first ({@code STOP SLAVE}).
   */
  public void attach(LocalServer replica, LocalServer source) {
    serverId(replica);
    serverId(source);
    execute(replica,
        "SET GLOBAL read_only = ON",
        "CHANGE MASTER TO MASTER_HOST = '" + LocalServer.sqlString(source.host()) + "', MASTER_PORT = " + source.port()
            + ", MASTER_USER = '" + LocalServer.sqlString(replicationUser) + "', MASTER_PASSWORD = '"
            + LocalServer.sqlString(replicationPassword) + "', MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1",
        "START SLAVE");
  }

  /**
   * Waits until every replica of {@link #replicas()} has applied everything in the primary's binary
   * log now ({@code MASTER_GTID_WAIT} on each), e.g. after a write on the primary.
   *
   * @throws IllegalStateException after {@code timeout} (for all replicas together), naming the
   *     replica, its position and its replication errors
   */
  public void awaitReplicated(Duration timeout) {
    String position = gtidBinlogPos(primary());
    long deadline = System.nanoTime() + timeout.toNanos();
    for (LocalServer replica : replicas()) {
      awaitPosition(replica, position, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
    }
  }

  /**
   * Waits until {@code replica}'s {@code Slave_IO_Running} and {@code Slave_SQL_Running} are both
   * {@code Yes}.
   *
   * @throws IllegalStateException after {@code timeout}, with the last IO and SQL errors
   */
  public static void awaitReplicating(LocalServer replica, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Map<String, String> status;
    while (true) {
      status = replicaStatus(replica);
      if ("Yes".equals(status.get("Slave_IO_Running")) && "Yes".equals(status.get("Slave_SQL_Running"))) {
        return;
      }
      if (System.nanoTime() - deadline > 0) {
        break;
      }
      sleep(20);
    }
    throw new IllegalStateException("Replica " + replica + " is not replicating after " + timeout.toMillis()
        + " ms: Slave_IO_Running " + status.get("Slave_IO_Running") + ", Slave_SQL_Running "
        + status.get("Slave_SQL_Running") + ", Last_IO_Error " + status.get("Last_IO_Error")
        + ", Last_SQL_Error " + status.get("Last_SQL_Error"));
  }

  /**
   * Waits until {@code replica} has applied GTID {@code position} ({@code MASTER_GTID_WAIT}).
   *
   * @throws IllegalStateException after {@code timeout}, naming its position and replication errors
   */
  public static void awaitPosition(LocalServer replica, String position, Duration timeout) {
    String seconds = String.format(Locale.ROOT, "%.3f", timeout.toMillis() / 1000.0);
    String result = queryString(replica, "SELECT MASTER_GTID_WAIT('" + LocalServer.sqlString(position) + "', " + seconds + ")");
    if (!"0".equals(result)) {
      Map<String, String> status = replicaStatus(replica);
      throw new IllegalStateException("Replica " + replica + " has not applied " + position + " within "
          + timeout.toMillis() + " ms: gtid_slave_pos " + gtidSlavePos(replica) + ", Slave_SQL_Running "
          + status.get("Slave_SQL_Running") + ", Last_IO_Error " + status.get("Last_IO_Error")
          + ", Last_SQL_Error " + status.get("Last_SQL_Error"));
    }
  }

  /** {@code @@gtid_binlog_pos} of {@code server}: the last transaction in its binary log per domain. */
  public static String gtidBinlogPos(LocalServer server) {
    return queryString(server, "SELECT @@gtid_binlog_pos");
  }

  /** {@code @@gtid_slave_pos} of {@code server}: the last transaction its replication applied per domain. */
  public static String gtidSlavePos(LocalServer server) {
    return queryString(server, "SELECT @@gtid_slave_pos");
  }

  /**
   * {@code SHOW SLAVE STATUS} of {@code server} as column name to value (e.g. {@code Slave_IO_Running},
   * {@code Master_Port}, {@code Last_SQL_Error}); empty if it is no replica.
   */
  public static Map<String, String> replicaStatus(LocalServer server) {
    try (Connection connection = server.rootConnection();
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery("SHOW SLAVE STATUS")) {
      Map<String, String> status = new LinkedHashMap<>();
      if (rs.next()) {
        ResultSetMetaData meta = rs.getMetaData();
        for (int i = 1; i <= meta.getColumnCount(); i++) {
          status.put(meta.getColumnLabel(i), rs.getString(i));
        }
      }
      return status;
    } catch (SQLException e) {
      throw new IllegalStateException("Cannot read SHOW SLAVE STATUS on " + server, e);
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /** Stops every server (in parallel), deleting their directories. Idempotent; never throws. */
  @Override
  public void close() {
    List<Thread> stopping = new ArrayList<>();
    for (LocalServer server : servers) {
      Thread thread = new Thread(server::close, "sluice-localcluster-stop");
      thread.setDaemon(true);
      thread.start();
      stopping.add(thread);
    }
    for (Thread thread : stopping) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return; // localdb's shutdown hook stops what is left
      }
    }
  }

  @Override
  public String toString() {
    StringBuilder text = new StringBuilder("primary 127.0.0.1:" + primary().port() + ", replicas");
    replicas().forEach(replica -> text.append(" 127.0.0.1:").append(replica.port()));
    return text.toString();
  }

  // ---------------------------------------------------------------- helpers

  /** Runs statements as root on {@code server}, in order, on one connection. */
  private static void execute(LocalServer server, String... sql) {
    String current = null;
    try (Connection connection = server.rootConnection(); Statement statement = connection.createStatement()) {
      for (String s : sql) {
        current = s;
        statement.execute(s);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("SQL failed on " + server + ": " + current, e);
    }
  }

  private static String queryString(LocalServer server, String sql) {
    try (Connection connection = server.rootConnection();
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    } catch (SQLException e) {
      throw new IllegalStateException("SQL failed on " + server + ": " + sql, e);
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
