package io.sluice.testkit;

import io.sluice.localdb.LocalServer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A throwaway MySQL-compatible server for tests: MySQL 8 in a container when Docker is available,
 * else MariaDB (or MySQL) from this machine's binaries in a temporary directory. System property
 * {@code sluice.test.server} = {@code auto} (default) | {@code local} | {@code docker} chooses.
 *
 * <p>Most tests use {@link #shared()}: one server per JVM, started on first use and stopped by a
 * shutdown hook. Tests that need their own settings (a small {@code max_connections}, say) call
 * {@link #start(Options)} and close the server themselves. Every server is stopped when the JVM
 * exits; a local server is also killed by its watchdog if the JVM dies without running hooks.
 *
 * <p>Root logs in with {@link #rootUser()}/{@link #rootPassword()} using mysql_native_password in
 * both modes. Helpers run SQL as root on a fresh connection each time, so they never hold a
 * connection slot; they throw {@link IllegalStateException} when SQL fails. Thread-safe.
 */
public final class TestServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(TestServer.class);

  /** System property choosing the kind of server: auto, local or docker. */
  public static final String KIND_PROPERTY = "sluice.test.server";
  static final String ROOT_USER = "root";
  static final String ROOT_PASSWORD = "sluice-root";
  private static final Pattern USER_NAME = Pattern.compile("[A-Za-z0-9_.$-]{1,80}");
  private static final Pattern DATABASE_NAME = Pattern.compile("[A-Za-z0-9_$]{1,64}");

  /** Every server not yet stopped; the shutdown hook stops them. */
  private static final Set<TestServer> running = ConcurrentHashMap.newKeySet();
  private static final AtomicBoolean hookInstalled = new AtomicBoolean();
  private static final Object sharedLock = new Object();
  private static TestServer shared;
  private static RuntimeException sharedFailure;

  private final ServerInstance instance;
  private final Options options;
  private final boolean isShared;
  private final String version;
  private final AtomicBoolean stopped = new AtomicBoolean();

  /** Where the server comes from. */
  public enum Kind {
    /** Docker when a Docker engine answers, else local. */
    AUTO,
    /** Binaries installed on this machine ({@code mariadbd} or {@code mysqld}). */
    LOCAL,
    /** Testcontainers' MySQL module ({@code mysql:8.4}, or {@code -Dsluice.test.docker.image}). */
    DOCKER;

    /** The kind named by {@value #KIND_PROPERTY}, {@link #AUTO} when unset. */
    public static Kind fromSystemProperty() {
      String value = System.getProperty(KIND_PROPERTY, "auto").trim();
      try {
        return valueOf(value.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("-D" + KIND_PROPERTY + "=" + value
            + " is not one of auto, local, docker", e);
      }
    }
  }

  /**
   * How to start a server. {@code serverArgs} are extra {@code --key=value} server options, applied
   * after (so overriding) the testkit's own.
   */
  public record Options(int maxConnections, List<String> serverArgs, Kind kind) {

    public Options {
      serverArgs = LocalServer.Options.checked(maxConnections, serverArgs);
      Objects.requireNonNull(kind, "kind");
    }

    /** max_connections 200, no extra options, kind from {@value TestServer#KIND_PROPERTY}. */
    public static Options defaults() {
      return new Options(200, List.of(), Kind.fromSystemProperty());
    }

    public Options withMaxConnections(int maxConnections) {
      return new Options(maxConnections, serverArgs, kind);
    }

    /** Adds server options such as {@code --wait-timeout=5}. */
    public Options withServerArgs(String... args) {
      List<String> all = new ArrayList<>(serverArgs);
      all.addAll(List.of(args));
      return new Options(maxConnections, all, kind);
    }

    public Options withKind(Kind kind) {
      return new Options(maxConnections, serverArgs, kind);
    }
  }

  private TestServer(ServerInstance instance, Options options, boolean isShared) {
    this.instance = instance;
    this.options = options;
    this.isShared = isShared;
    this.version = queryVersion();
  }

  /**
   * Starts a new server and waits (up to 60 s) until root can log in. The caller stops it with
   * {@link #close()}; the JVM's exit stops it otherwise.
   *
   * @throws IllegalStateException if no server can be started; the message says why and, for a
   *     local server, ends with the server log's last lines
   */
  public static TestServer start(Options options) {
    return start(options, false);
  }

  /**
   * The JVM's shared server (default {@link Options}), started on first call. Do not close it: a
   * shutdown hook does. If it failed to start, every later call fails at once with the same cause
   * rather than trying again.
   */
  public static TestServer shared() {
    synchronized (sharedLock) {
      if (shared != null) {
        return shared;
      }
      if (sharedFailure != null) {
        throw new IllegalStateException("The shared test server failed to start earlier", sharedFailure);
      }
      try {
        shared = start(Options.defaults(), true);
        return shared;
      } catch (RuntimeException e) {
        sharedFailure = e;
        throw e;
      }
    }
  }

  private static TestServer start(Options options, boolean isShared) {
    installShutdownHook();
    long started = System.nanoTime();
    Kind kind = resolve(options.kind());
    ServerInstance instance = kind == Kind.DOCKER
        ? DockerServerInstance.start(options)
        : LocalServerInstance.start(options);
    TestServer server = register(instance, options, isShared);
    log.info("Started {}test server {} in {} ms", isShared ? "shared " : "", server,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    return server;
  }

  /**
   * A test server over a local server started elsewhere with {@link LocalServerInstance#localOptions}
   * (one of {@link TestCluster}'s, which localdb's LocalCluster started); closing it stops that server.
   */
  static TestServer adopt(LocalServer server, Options options) {
    installShutdownHook();
    return register(LocalServerInstance.of(server), options.withKind(Kind.LOCAL), false);
  }

  private static TestServer register(ServerInstance instance, Options options, boolean isShared) {
    TestServer server;
    try {
      server = new TestServer(instance, options, isShared);
    } catch (RuntimeException e) {
      instance.stop();
      throw e;
    }
    running.add(server);
    return server;
  }

  private static Kind resolve(Kind requested) {
    switch (requested) {
      case LOCAL:
        return Kind.LOCAL;
      case DOCKER:
        if (!DockerProbe.available(false)) {
          throw new IllegalStateException("-D" + KIND_PROPERTY + "=docker, but Testcontainers finds no "
              + "Docker engine; start one or use -D" + KIND_PROPERTY + "=local");
        }
        return Kind.DOCKER;
      case AUTO:
        if (DockerProbe.available(true)) {
          return Kind.DOCKER;
        }
        log.debug("No Docker engine; using a local server");
        return Kind.LOCAL;
      default:
        throw new IllegalArgumentException("unknown kind " + requested);
    }
  }

  private static void installShutdownHook() {
    if (hookInstalled.compareAndSet(false, true)) {
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        for (TestServer server : List.copyOf(running)) {
          server.stopNow();
        }
      }, "sluice-testserver-shutdown"));
    }
  }

  // ---------------------------------------------------------------- connection details

  /** Host to connect to ({@code 127.0.0.1} for a local server). */
  public String host() {
    return instance.host();
  }

  public int port() {
    return instance.port();
  }

  /** The server's Unix socket, when it runs on this machine (not in a container). */
  public Optional<Path> socket() {
    return instance.socket();
  }

  public String rootUser() {
    return instance.rootUser();
  }

  public String rootPassword() {
    return instance.rootPassword();
  }

  /** {@link Kind#LOCAL} or {@link Kind#DOCKER}: what actually started. */
  public Kind kind() {
    return instance.kind();
  }

  /** The options this server was started with. */
  public Options options() {
    return options;
  }

  /**
   * A Connector/J URL for {@code database} (null or empty for none):
   * {@code jdbc:mysql://host:port/db?useSSL=false&allowPublicKeyRetrieval=true}.
   */
  public String jdbcUrl(String database) {
    return "jdbc:mysql://" + host() + ":" + port() + "/" + (database == null ? "" : database)
        + "?useSSL=false&allowPublicKeyRetrieval=true";
  }

  /** A new connection as root with no default database; the caller closes it. */
  public Connection rootConnection() throws SQLException {
    return DriverManager.getConnection(jdbcUrl("") + "&connectTimeout=5000", rootUser(), rootPassword());
  }

  /** The server's {@code VERSION()}, e.g. {@code 10.11.19-MariaDB-0+deb12u1} or {@code 8.4.6}. */
  public String version() {
    return version;
  }

  public boolean isMariaDb() {
    return version.contains("MariaDB");
  }

  // ---------------------------------------------------------------- SQL helpers

  /** Runs statements as root, in order, on one connection. */
  public void execute(String... sql) {
    String current = null;
    try (Connection connection = rootConnection(); Statement statement = connection.createStatement()) {
      for (String s : sql) {
        current = s;
        statement.execute(s);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("SQL failed on test server " + this + ": " + current, e);
    }
  }

  /**
   * Runs {@code sql} as root and returns the first column of its first row as a string (null for
   * SQL NULL or no row), e.g. {@code queryString("SELECT @@gtid_binlog_pos")}.
   */
  public String queryString(String sql) {
    try (Connection connection = rootConnection();
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    } catch (SQLException e) {
      throw new IllegalStateException("SQL failed on test server " + this + ": " + sql, e);
    }
  }

  /**
   * (Re)creates {@code 'user'@'%'} and {@code 'user'@'localhost'} with mysql_native_password and
   * {@code password}. Without {@code grants}, grants ALL PRIVILEGES ON *.* to both. Each grant is
   * either a whole statement starting with {@code GRANT} (run as is) or {@code "<privileges> ON
   * <object>"}, e.g. {@code "SELECT, INSERT ON app.*"}, granted to both accounts.
   */
  public void createUser(String user, String password, String... grants) {
    if (!USER_NAME.matcher(user).matches()) {
      throw new IllegalArgumentException("unsupported user name for tests: " + user);
    }
    List<String> accounts = List.of("'" + user + "'@'%'", "'" + user + "'@'localhost'");
    String literal = "'" + sqlString(password) + "'";
    List<String> sql = new ArrayList<>();
    sql.add("DROP USER IF EXISTS " + String.join(", ", accounts));
    for (String account : accounts) {
      sql.add(isMariaDb()
          ? "CREATE USER " + account + " IDENTIFIED BY " + literal // MariaDB's default is native
          : "CREATE USER " + account + " IDENTIFIED WITH mysql_native_password BY " + literal);
    }
    List<String> privileges = grants.length == 0 ? List.of("ALL PRIVILEGES ON *.*") : List.of(grants);
    for (String grant : privileges) {
      if (grant.stripLeading().regionMatches(true, 0, "GRANT ", 0, 6)) {
        sql.add(grant);
      } else {
        for (String account : accounts) {
          sql.add("GRANT " + grant + " TO " + account);
        }
      }
    }
    execute(sql.toArray(String[]::new));
  }

  /** Creates {@code database} unless it exists (the shared server outlives test classes). */
  public void createDatabase(String database) {
    if (!DATABASE_NAME.matcher(database).matches()) {
      throw new IllegalArgumentException("unsupported database name for tests: " + database);
    }
    execute("CREATE DATABASE IF NOT EXISTS `" + database + "`");
  }

  /**
   * Connections the server has for {@code user} right now, from information_schema.PROCESSLIST
   * (not counting the connection that asks). The server's view of what Sluice holds open.
   */
  public int connectionCount(String user) {
    try (Connection connection = rootConnection()) {
      return connectionCount(connection, user);
    } catch (SQLException e) {
      throw new IllegalStateException("Cannot count connections of " + user + " on " + this, e);
    }
  }

  /**
   * Polls {@link #connectionCount(String)} until it equals {@code expected} or {@code timeout}
   * passes (a server notices closed connections asynchronously). Returns the last count seen, so
   * callers assert on it: {@code assertEquals(2, server.awaitConnectionCount("app", 2, ofSeconds(5)))}.
   */
  public int awaitConnectionCount(String user, int expected, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    try (Connection connection = rootConnection()) {
      while (true) {
        int count = connectionCount(connection, user);
        if (count == expected || System.nanoTime() - deadline >= 0) {
          return count;
        }
        Thread.sleep(20);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("Cannot count connections of " + user + " on " + this, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while counting connections of " + user, e);
    }
  }

  /** The server's Threads_connected status, not counting the connection that asks. */
  public long threadsConnected() {
    try (Connection connection = rootConnection();
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery("SHOW GLOBAL STATUS LIKE 'Threads_connected'")) {
      if (!rs.next()) {
        throw new IllegalStateException("No Threads_connected status on " + this);
      }
      return rs.getLong(2) - 1;
    } catch (SQLException e) {
      throw new IllegalStateException("Cannot read Threads_connected on " + this, e);
    }
  }

  /**
   * Whether the server is running a statement whose text starts with {@code statementStart} now
   * (information_schema.PROCESSLIST). Tests that cancel or kill a statement wait for this first:
   * a KILL QUERY that arrives before the statement does has nothing to stop.
   */
  public boolean isRunning(String statementStart) {
    try (Connection connection = rootConnection();
        PreparedStatement statement = connection.prepareStatement(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE LOCATE(?, INFO) = 1 AND ID <> CONNECTION_ID()")) {
      statement.setString(1, statementStart);
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return rs.getInt(1) > 0;
      }
    } catch (SQLException e) {
      throw new IllegalStateException("Cannot read the processlist of " + this, e);
    }
  }

  private static int connectionCount(Connection connection, String user) throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()")) {
      statement.setString(1, user);
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  private String queryVersion() {
    try (Connection connection = rootConnection();
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery("SELECT VERSION()")) {
      rs.next();
      return rs.getString(1);
    } catch (SQLException e) {
      throw new IllegalStateException("Cannot read VERSION() from test server " + instance, e);
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Stops the server (TERM, then KILL after a grace period) and deletes its data directory.
   * Idempotent.
   *
   * @throws IllegalStateException on the {@link #shared()} server, which other tests still use
   */
  public void stop() {
    if (isShared) {
      throw new IllegalStateException("The shared test server is stopped by a shutdown hook; "
          + "start your own with TestServer.start(...) if you need to stop one");
    }
    stopNow();
  }

  /**
   * Restarts the server: a clean shutdown (committed data stays, every connection is cut), down for
   * {@code down}, then up again on the same port. Local servers only ({@link #canRestart()}).
   *
   * @throws IllegalStateException on the {@link #shared()} server, which other tests still use
   */
  public void restart(java.time.Duration down) {
    if (isShared) {
      throw new IllegalStateException("The shared test server cannot be restarted; start your own");
    }
    instance.restart(down);
  }

  /**
   * Crashes the server: SIGKILL (every connection vanishes, InnoDB recovers on start), down for
   * {@code down}, then up again on the same port. Local servers only ({@link #canRestart()}).
   *
   * @throws IllegalStateException on the {@link #shared()} server, which other tests still use
   */
  public void crash(java.time.Duration down) {
    if (isShared) {
      throw new IllegalStateException("The shared test server cannot be crashed; start your own");
    }
    instance.crash(down);
  }

  /**
   * Kills the server (SIGKILL) and leaves it down, data kept, until {@link #close()}; {@link #crash}
   * with {@code Duration.ZERO} starts it again. Local servers only; what {@link TestCluster#crashPrimary()} does.
   *
   * @throws IllegalStateException on the {@link #shared()} server, which other tests still use
   */
  public void kill() {
    if (isShared) {
      throw new IllegalStateException("The shared test server cannot be killed; start your own");
    }
    instance.kill();
  }

  /** Whether {@link #restart} and {@link #crash} work for this kind of server (local ones). */
  public boolean canRestart() {
    return instance.kind() == Kind.LOCAL;
  }

  /** Same as {@link #stop()}, for try-with-resources. */
  @Override
  public void close() {
    stop();
  }

  private void stopNow() {
    if (stopped.compareAndSet(false, true)) {
      running.remove(this);
      instance.stop();
      log.debug("Stopped test server {}", this);
    }
  }

  /** The data directory of a local server (null in a container); for the testkit's own tests. */
  Path dataDir() {
    return instance.dataDir();
  }

  /** The localdb server under a local test server; empty in a container. */
  Optional<LocalServer> localServer() {
    return instance instanceof LocalServerInstance local ? Optional.of(local.server()) : Optional.empty();
  }

  /** The local server's process, for the testkit's own tests. */
  Optional<ProcessHandle> serverProcess() {
    return instance.process();
  }

  @Override
  public String toString() {
    return instance.kind().name().toLowerCase(Locale.ROOT) + " " + version + " at " + instance;
  }

  /** Escapes {@code value} for a single-quoted SQL string literal. */
  static String sqlString(String value) {
    return value.replace("\\", "\\\\").replace("'", "''");
  }
}
