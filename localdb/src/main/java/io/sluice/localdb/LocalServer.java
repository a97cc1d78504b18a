package io.sluice.localdb;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A throwaway MariaDB or MySQL server started from the binaries installed on this machine, in a
 * fresh directory under {@code java.io.tmpdir}:
 *
 * <pre>
 * PREFIX-NNN/        PREFIX from {@link Options#dirPrefix()}, e.g. sluice-testserver-, sluice-demo-
 *   owner.pid      pid of the JVM that owns it (lets a later run delete it if that JVM died)
 *   data/          the data directory: a copy of a template that mariadb-install-db or
 *                  mysqld --initialize-insecure made once per JVM and binary (PREFIX-template-NNN)
 *   tmp/           the server's tmpdir
 *   s.sock, server.pid, init.sql (root's password), run-server.sh (the watchdog wrapper)
 *   install.log, server.log   output of initialisation and of the server
 * </pre>
 *
 * <p>The server runs under {@code run-server.sh}, which kills it when the JVM's end of its stdin
 * pipe closes: the server cannot outlive the JVM, even one killed with SIGKILL. A JVM that exits
 * normally or on a signal it handles (Ctrl-C, TERM) also stops every server it started and deletes
 * every directory it made, from a shutdown hook.
 *
 * <p>Startup is tuned for small machines: 32 MiB buffer pool, 8 MiB redo log, no binary log (unless
 * {@link Options#replication()} asks for one), no
 * doublewrite, no fsync per commit, synchronous I/O. Durability does not matter: the data is thrown
 * away. Root logs in over TCP on 127.0.0.1 with mysql_native_password and
 * {@link Options#rootPassword()}.
 *
 * <p>Thread-safe; {@link #start} blocks until root can log in.
 */
public final class LocalServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LocalServer.class);

  public static final String ROOT_USER = "root";
  private static final List<String> SERVER_NAMES = List.of("mariadbd", "mysqld");
  private static final List<String> INSTALL_DB_NAMES = List.of("mariadb-install-db", "mysql_install_db");
  /** Where packages put the server outside PATH (Debian: /usr/sbin/mariadbd). */
  private static final List<Path> EXTRA_DIRS = List.of(
      Path.of("/usr/sbin"), Path.of("/usr/local/bin"), Path.of("/usr/libexec"),
      Path.of("/usr/local/sbin"), Path.of("/usr/bin"));
  private static final long STARTUP_TIMEOUT_MILLIS = 60_000;
  private static final long INSTALL_TIMEOUT_MILLIS = 120_000;
  private static final long STOP_GRACE_MILLIS = 10_000;
  private static final int BIND_ATTEMPTS = 3;
  private static final boolean RUNNING_AS_ROOT = "root".equals(System.getProperty("user.name"));

  /** Options used both to initialise and to run, so that InnoDB finds the files it expects. */
  private static final List<String> INNODB_OPTIONS = List.of(
      "--innodb-buffer-pool-size=32M",
      "--innodb-log-file-size=8M",
      "--innodb-doublewrite=0",
      "--innodb-flush-log-at-trx-commit=0",
      "--innodb-use-native-aio=0"); // io_uring/libaio setup can fail in containers; sync I/O is plenty

  /** Initialised data directories by server binary and prefix; see {@link #template}. Guarded by the class. */
  private static final Map<String, Path> templates = new HashMap<>();
  /** Whether each server binary is MariaDB (else MySQL), from its --version. */
  private static final Map<Path, Boolean> flavours = new ConcurrentHashMap<>();
  /** Directory prefixes whose stale directories this JVM has already looked for. */
  private static final Set<String> reaped = ConcurrentHashMap.newKeySet();
  /** Servers launched and not yet stopped. */
  private static final Set<LocalServer> live = ConcurrentHashMap.newKeySet();
  /** Directories this JVM made and has not deleted yet: templates, servers, half-made servers. */
  private static final Set<Path> ownedDirs = ConcurrentHashMap.newKeySet();
  /** Initialisations in progress (they run without the watchdog wrapper). */
  private static final Set<Process> initialising = ConcurrentHashMap.newKeySet();

  static {
    // Covers every way out of a JVM that runs hooks (end of main, System.exit, Ctrl-C, TERM), also
    // while a server is still starting; the watchdog covers the rest.
    Runtime.getRuntime().addShutdownHook(new Thread(LocalServer::cleanUpAtExit, "sluice-localdb-cleanup"));
  }

  /**
   * How to start a server.
   *
   * @param maxConnections the server's {@code max_connections}
   * @param serverArgs     extra {@code --key=value} server options, applied after (so overriding) the defaults
   * @param binary         the server binary; empty = {@link #findServerBinary()}
   * @param rootPassword   the password root gets (mysql_native_password)
   * @param dirPrefix      name prefix of the temporary directories, so that a user can tell whose they are
   * @param replication    empty (the default): no binary log, the fastest start; else the server can
   *                       be a replication primary or replica ({@link Replication})
   */
  public record Options(int maxConnections, List<String> serverArgs, Optional<Path> binary, String rootPassword,
      String dirPrefix, Optional<Replication> replication) {

    public Options {
      serverArgs = checked(maxConnections, serverArgs);
      Objects.requireNonNull(binary, "binary");
      Objects.requireNonNull(rootPassword, "rootPassword");
      if (dirPrefix.isEmpty() || dirPrefix.contains("/") || dirPrefix.contains(File.separator)) {
        throw new IllegalArgumentException("dirPrefix must be a plain, non-empty file name prefix, got " + dirPrefix);
      }
      Objects.requireNonNull(replication, "replication");
    }

    /**
     * Checks what any server start takes (this one, or testkit's container): max_connections at
     * least 1 and options of the form {@code --key=value}; returns an unmodifiable copy of the options.
     */
    public static List<String> checked(int maxConnections, List<String> serverArgs) {
      if (maxConnections < 1) {
        throw new IllegalArgumentException("maxConnections must be at least 1, got " + maxConnections);
      }
      for (String arg : serverArgs) {
        if (!arg.startsWith("--")) {
          throw new IllegalArgumentException("server option must look like --key=value, got " + arg);
        }
      }
      return List.copyOf(serverArgs);
    }

    /** max_connections 200, no extra options, the binary found on this machine, prefix {@code sluice-localdb-}. */
    public static Options defaults() {
      return new Options(200, List.of(), Optional.empty(), "sluice-localdb-root", "sluice-localdb-", Optional.empty());
    }

    public Options withMaxConnections(int maxConnections) {
      return new Options(maxConnections, serverArgs, binary, rootPassword, dirPrefix, replication);
    }

    /** Adds server options such as {@code --wait-timeout=5}. */
    public Options withServerArgs(String... args) {
      List<String> all = new ArrayList<>(serverArgs);
      all.addAll(List.of(args));
      return new Options(maxConnections, all, binary, rootPassword, dirPrefix, replication);
    }

    public Options withBinary(Path binary) {
      return new Options(maxConnections, serverArgs, Optional.of(binary), rootPassword, dirPrefix, replication);
    }

    public Options withRootPassword(String rootPassword) {
      return new Options(maxConnections, serverArgs, binary, rootPassword, dirPrefix, replication);
    }

    public Options withDirPrefix(String dirPrefix) {
      return new Options(maxConnections, serverArgs, binary, rootPassword, dirPrefix, replication);
    }

    /** {@link Replication#of(int)}: binary log on, this server_id, the default replication account. */
    public Options withReplication(int serverId) {
      return withReplication(Replication.of(serverId));
    }

    public Options withReplication(Replication replication) {
      return new Options(maxConnections, serverArgs, binary, rootPassword, dirPrefix,
          Optional.of(replication));
    }
  }

  /**
   * What a server needs to take part in MariaDB GTID replication, as primary or replica (MariaDB
   * only: {@link #start} refuses it for MySQL). The server runs with {@code --server-id=serverId},
   * the binary log on ({@code log_bin} in the data directory, {@code binlog_format=ROW},
   * {@code log_slave_updates=ON}, so a replica can become a primary), {@code gtid_strict_mode=ON},
   * and fixed relay log names; a replica that was attached replicates again after
   * {@link #restart}/{@link #crash}, as a real one does. GTID domain 0 for all servers. At every start the init file creates
   * {@code user} with {@code REPLICATION SLAVE} and the binary log off for those statements, so every
   * server has the account and no server has transactions of its own before the first write: copies
   * of one template data directory start with empty binary logs and an empty {@code gtid_slave_pos},
   * and MariaDB has no per-server UUID, so only server_id has to differ.
   *
   * @param serverId the server's {@code server_id}, 1 to 4294967295, unique among the servers that replicate together
   * @param user     the replication account ({@code 'user'@'127.0.0.1'} and {@code 'user'@'%'}, mysql_native_password)
   * @param password its password
   */
  public record Replication(long serverId, String user, String password) {

    public static final String DEFAULT_USER = "sluice_repl";
    public static final String DEFAULT_PASSWORD = "sluice-repl";

    public Replication {
      if (serverId < 1 || serverId > 4_294_967_295L) {
        throw new IllegalArgumentException("serverId must be 1 to 4294967295, got " + serverId);
      }
      if (!user.matches("[A-Za-z0-9_]{1,32}")) {
        throw new IllegalArgumentException("replication user must be 1 to 32 letters, digits or _, got " + user);
      }
      Objects.requireNonNull(password, "password");
    }

    /** {@code serverId} with {@link #DEFAULT_USER} / {@link #DEFAULT_PASSWORD}. */
    public static Replication of(long serverId) {
      return new Replication(serverId, DEFAULT_USER, DEFAULT_PASSWORD);
    }

    /** The server options that turn replication on; they come before {@link Options#serverArgs()}. */
    List<String> serverArgs() {
      return List.of(
          "--server-id=" + serverId,
          "--log-bin=binlog",
          "--log-bin-index=binlog.index",
          "--relay-log=relay-bin",
          "--relay-log-index=relay-bin.index",
          "--binlog-format=ROW",
          "--log-slave-updates=ON",
          "--gtid-strict-mode=ON");
    }
  }

  private final Path baseDir;
  private final Path dataDir;
  private final Path binary;
  private final boolean mariaDb;
  private final String rootPassword;
  private final Options options;
  /** The wrapper (or server) process; replaced by {@link #restart}. */
  private volatile Process process;
  private final int port;
  private final AtomicBoolean stopped = new AtomicBoolean();

  private LocalServer(Path baseDir, Path binary, boolean mariaDb, Options options, Process process, int port) {
    this.baseDir = baseDir;
    this.dataDir = baseDir.resolve("data");
    this.binary = binary;
    this.mariaDb = mariaDb;
    this.options = options;
    this.rootPassword = options.rootPassword();
    this.process = process;
    this.port = port;
    live.add(this);
  }

  private static void cleanUpAtExit() {
    initialising.forEach(Process::destroyForcibly);
    List.copyOf(live).forEach(LocalServer::stop);
    ownedDirs.forEach(LocalServer::deleteRecursively);
  }

  /**
   * The first {@code mariadbd}, else the first {@code mysqld}, on PATH or in the places packages put
   * them ({@link #searchedPlaces()}).
   */
  public static Optional<Path> findServerBinary() {
    return findExecutable(SERVER_NAMES, searchDirs());
  }

  /** Where {@link #findServerBinary()} looks, for messages that say what is missing. */
  public static String searchedPlaces() {
    return "PATH and " + EXTRA_DIRS.stream().map(Path::toString).reduce((a, b) -> a + ", " + b).orElse("");
  }

  /**
   * Starts a new server and waits (up to 60 s) until root can log in. The caller stops it with
   * {@link #close()}; the JVM's exit stops it otherwise.
   *
   * @throws IllegalStateException if no server can be started; the message says why and ends with
   *     the last lines of the initialisation or server log
   */
  public static LocalServer start(Options options) {
    Path binary = options.binary().or(LocalServer::findServerBinary).orElseThrow(() -> new IllegalStateException(
        "No mariadbd or mysqld on " + searchedPlaces() + ". Install MariaDB or MySQL, or name the binary"));
    if (!Files.isRegularFile(binary) || !Files.isExecutable(binary)) {
      throw new IllegalStateException(binary + " is not an executable file");
    }
    boolean mariaDb = flavours.computeIfAbsent(binary, LocalServer::isMariaDb);
    if (options.replication().isPresent() && !mariaDb) {
      throw new IllegalStateException("Options.replication is for MariaDB GTID replication; " + binary
          + " is MySQL. Install MariaDB or name its mariadbd");
    }
    if (reaped.add(options.dirPrefix())) {
      reapStaleDirs(options.dirPrefix());
    }
    Path baseDir;
    try {
      baseDir = Files.createTempDirectory(tempRoot(), options.dirPrefix());
      ownedDirs.add(baseDir);
      Files.writeString(baseDir.resolve("owner.pid"), Long.toString(ProcessHandle.current().pid()));
      Files.createDirectories(baseDir.resolve("tmp"));
      Files.write(baseDir.resolve("init.sql"), initSql(mariaDb, options), StandardCharsets.UTF_8);
      try (InputStream script = LocalServer.class.getResourceAsStream("run-server.sh")) {
        Files.copy(Objects.requireNonNull(script, "run-server.sh missing from the localdb jar"),
            baseDir.resolve("run-server.sh"));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot prepare a directory for a throwaway server", e);
    }
    try {
      long started = System.nanoTime();
      copyDirectory(template(binary, mariaDb, options.dirPrefix()).resolve("data"), baseDir.resolve("data"));
      long initialised = System.nanoTime();
      for (int attempt = 1; ; attempt++) {
        int port = freePort();
        Process process = launch(binary, mariaDb, baseDir, port, options);
        LocalServer server = new LocalServer(baseDir, binary, mariaDb, options, process, port);
        if (server.awaitReady(attempt < BIND_ATTEMPTS)) {
          log.debug("{}: data directory ready after {} ms, root logged in {} ms later", server,
              (initialised - started) / 1_000_000, (System.nanoTime() - initialised) / 1_000_000);
          return server;
        }
        live.remove(server); // exited without binding: nothing to stop
        log.info("Port {} was taken before the throwaway server could bind it; retrying", port);
      }
    } catch (RuntimeException | Error e) {
      deleteRecursively(baseDir);
      ownedDirs.remove(baseDir);
      throw e;
    }
  }

  /**
   * The directory holding a freshly initialised data directory for {@code binary}, made on first
   * use and deleted when the JVM exits. Servers start from copies: copying takes tens of
   * milliseconds, initialising half a second to several seconds on a busy machine.
   */
  private static synchronized Path template(Path binary, boolean mariaDb, String dirPrefix) {
    String key = dirPrefix + "\u0000" + binary;
    Path template = templates.get(key);
    if (template != null) {
      return template;
    }
    long started = System.nanoTime();
    try {
      template = Files.createTempDirectory(tempRoot(), dirPrefix + "template-");
      ownedDirs.add(template);
      Files.writeString(template.resolve("owner.pid"), Long.toString(ProcessHandle.current().pid()));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot prepare a directory for a throwaway server template", e);
    }
    try {
      initialise(binary, mariaDb, template);
    } catch (RuntimeException | Error e) {
      deleteRecursively(template);
      ownedDirs.remove(template);
      throw e;
    }
    templates.put(key, template); // deleted at exit (ownedDirs)
    log.debug("Initialised template data directory {} with {} in {} ms", template, binary,
        (System.nanoTime() - started) / 1_000_000);
    return template;
  }

  private static void initialise(Path binary, boolean mariaDb, Path baseDir) {
    Path dataDir = baseDir.resolve("data");
    List<String> command = new ArrayList<>();
    if (mariaDb) {
      Path installDb = findInstallDb(binary).orElseThrow(() -> new IllegalStateException(
          "Found " + binary + " but no mariadb-install-db next to it, on PATH or in " + EXTRA_DIRS));
      command.addAll(List.of(installDb.toString(), "--no-defaults", "--datadir=" + dataDir,
          "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve",
          "--skip-log-bin"));
      basedirOf(binary).ifPresent(dir -> command.add("--basedir=" + dir));
    } else {
      command.addAll(List.of(binary.toString(), "--no-defaults", "--initialize-insecure",
          "--datadir=" + dataDir, "--skip-log-bin"));
    }
    if (RUNNING_AS_ROOT) {
      command.add("--user=root");
    }
    command.addAll(INNODB_OPTIONS);
    Path installLog = baseDir.resolve("install.log");
    try {
      Process process = new ProcessBuilder(command)
          .directory(baseDir.toFile())
          .redirectErrorStream(true)
          .redirectOutput(installLog.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(nullDevice()))
          .start();
      initialising.add(process);
      boolean exited;
      try {
        exited = process.waitFor(INSTALL_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
      } finally {
        initialising.remove(process);
      }
      if (!exited) {
        process.destroyForcibly();
        throw new IllegalStateException("Initialising " + dataDir + " took over "
            + INSTALL_TIMEOUT_MILLIS / 1000 + " s: " + String.join(" ", command) + tail(installLog));
      }
      if (process.exitValue() != 0) {
        throw new IllegalStateException("Initialising " + dataDir + " failed with exit code "
            + process.exitValue() + ": " + String.join(" ", command) + tail(installLog));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot run " + command.get(0), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while initialising " + dataDir, e);
    }
  }

  private static Process launch(Path binary, boolean mariaDb, Path baseDir, int port, Options options) {
    List<String> command = new ArrayList<>();
    Path wrapper = baseDir.resolve("run-server.sh");
    if (Files.isExecutable(Path.of("/bin/sh"))) {
      command.addAll(List.of("/bin/sh", wrapper.toString()));
    }
    command.addAll(List.of(
        binary.toString(),
        "--no-defaults", // must come first
        "--datadir=" + baseDir.resolve("data"),
        "--socket=" + socketIn(baseDir),
        "--port=" + port,
        "--bind-address=127.0.0.1",
        "--max-connections=" + options.maxConnections(),
        "--skip-name-resolve",
        "--skip-log-bin",
        "--pid-file=" + baseDir.resolve("server.pid"),
        "--tmpdir=" + baseDir.resolve("tmp"),
        "--secure-file-priv=",
        "--local-infile=1",
        "--init-file=" + baseDir.resolve("init.sql"),
        // Same defaults as the MySQL 8.4 container of the testkit, so tests see one behaviour in both modes.
        "--max-allowed-packet=64M",
        "--character-set-server=utf8mb4"));
    command.addAll(INNODB_OPTIONS);
    options.replication().ifPresent(replication -> command.addAll(replication.serverArgs())); // after --skip-log-bin
    if (!mariaDb) {
      command.add("--mysqlx=OFF"); // else a second server fails on X Protocol's fixed port 33060
    }
    if (RUNNING_AS_ROOT) {
      command.add("--user=root");
    }
    command.addAll(options.serverArgs()); // last, so they override the defaults above
    try {
      return new ProcessBuilder(command)
          .directory(baseDir.toFile())
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(baseDir.resolve("server.log").toFile()))
          .start(); // stdin stays a pipe: closing it stops the server (run-server.sh)
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot start " + binary, e);
    }
  }

  /**
   * Waits until root can log in over TCP. Returns false if the port turned out to be taken and
   * {@code mayRetry}; throws with the log's tail on any other failure or after the timeout.
   */
  private boolean awaitReady(boolean mayRetry) {
    String url = "jdbc:mysql://127.0.0.1:" + port
        + "/?useSSL=false&allowPublicKeyRetrieval=true&connectTimeout=2000";
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(STARTUP_TIMEOUT_MILLIS);
    SQLException last = null;
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        String tail = tail(baseDir.resolve("server.log"));
        if (mayRetry && (tail.contains("Address already in use") || tail.contains("Bind on TCP/IP port"))) {
          return false;
        }
        stop();
        throw new IllegalStateException("Throwaway server exited with code " + process.exitValue()
            + " during startup (log: " + baseDir.resolve("server.log") + ")" + tail);
      }
      try (Connection ignored = DriverManager.getConnection(url, rootUser(), rootPassword())) {
        return true;
      } catch (SQLException e) {
        last = e;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        stop();
        throw new IllegalStateException("Interrupted while waiting for the throwaway server", e);
      }
    }
    String tail = tail(baseDir.resolve("server.log"));
    stop();
    throw new IllegalStateException("Throwaway server at 127.0.0.1:" + port + " did not accept root within "
        + STARTUP_TIMEOUT_MILLIS / 1000 + " s; last error: " + last + tail, last);
  }

  /** Always {@code 127.0.0.1}: the server binds only loopback. */
  public String host() {
    return "127.0.0.1";
  }

  public int port() {
    return port;
  }

  public String rootUser() {
    return ROOT_USER;
  }

  public String rootPassword() {
    return rootPassword;
  }

  /** A new connection as root over TCP, no default database; the caller closes it. */
  public Connection rootConnection() throws SQLException {
    return DriverManager.getConnection("jdbc:mysql://127.0.0.1:" + port
        + "/?useSSL=false&allowPublicKeyRetrieval=true&connectTimeout=5000", ROOT_USER, rootPassword);
  }

  /** The binary that runs this server. */
  public Path binary() {
    return binary;
  }

  /** Whether the binary is MariaDB's (else MySQL's), from its {@code --version}. */
  public boolean isMariaDb() {
    return mariaDb;
  }

  /** The directory holding everything of this server; deleted by {@link #stop()}. */
  public Path baseDir() {
    return baseDir;
  }

  /** The server's Unix socket, inside {@link #baseDir()}. */
  public Path socket() {
    return socketIn(baseDir);
  }

  private static Path socketIn(Path baseDir) {
    return baseDir.resolve("s.sock");
  }

  /** The data directory, inside {@link #baseDir()}. */
  public Path dataDir() {
    return dataDir;
  }

  /** The server process (not its wrapper), while its pid file exists. */
  public Optional<ProcessHandle> process() {
    try {
      long pid = Long.parseLong(Files.readString(baseDir.resolve("server.pid")).trim());
      return ProcessHandle.of(pid);
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /**
   * Stops the server as {@link #stop()} does (TERM: InnoDB shuts down cleanly, committed data
   * stays) but keeps its directory, leaves it down for {@code down}, and starts it again on the same
   * port and data: what an operator's restart looks like to clients. Waits until root can log in.
   */
  public synchronized void restart(java.time.Duration down) {
    if (stopped.get()) {
      throw new IllegalStateException(this + " is stopped");
    }
    Process old = process;
    try {
      old.getOutputStream().close();
      if (!old.waitFor(STOP_GRACE_MILLIS, TimeUnit.MILLISECONDS)) {
        old.descendants().forEach(ProcessHandle::destroyForcibly);
        old.destroyForcibly();
        old.waitFor(5, TimeUnit.SECONDS);
      }
      Thread.sleep(down.toMillis());
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot signal the server to stop", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while restarting " + this, e);
    }
    process = launch(binary, mariaDb, baseDir, port, options);
    if (!awaitReady(false)) {
      throw new IllegalStateException(this + " did not come back on port " + port);
    }
  }

  /**
   * Kills the server outright (SIGKILL: no clean InnoDB shutdown, connections vanish without a
   * goodbye, as in a crash or an OOM kill), leaves it down for {@code down}, and starts it again
   * on the same port and data; InnoDB recovers committed transactions on start. Waits until root
   * can log in.
   */
  public synchronized void crash(java.time.Duration down) {
    if (stopped.get()) {
      throw new IllegalStateException(this + " is stopped");
    }
    Process old = process;
    try {
      old.descendants().forEach(ProcessHandle::destroyForcibly);
      old.destroyForcibly();
      old.waitFor(5, TimeUnit.SECONDS);
      Thread.sleep(down.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while crashing " + this, e);
    }
    process = launch(binary, mariaDb, baseDir, port, options);
    if (!awaitReady(false)) {
      throw new IllegalStateException(this + " did not come back on port " + port + " after a crash");
    }
  }

  /**
   * Kills the server outright (SIGKILL, as {@link #crash} does) and leaves it down: a primary that
   * is gone for good until {@link #crash}{@code (Duration.ZERO)} starts it again on the same data, or
   * {@link #stop()} deletes it. Returns at once if it is down already.
   */
  public synchronized void kill() {
    if (stopped.get()) {
      throw new IllegalStateException(this + " is stopped");
    }
    Process old = process;
    try {
      // The server first, so that the wrapper reaps it (no zombie left to init) and exits by itself.
      old.children().forEach(ProcessHandle::destroyForcibly);
      if (!old.waitFor(5, TimeUnit.SECONDS)) {
        old.descendants().forEach(ProcessHandle::destroyForcibly);
        old.destroyForcibly();
        old.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while killing " + this, e);
    }
  }

  /** Whether {@link #stop()} has run (or started). */
  public boolean isStopped() {
    return stopped.get();
  }

  /**
   * Closes the wrapper's stdin, which makes it TERM the server; after a grace period kills the
   * server and wrapper outright. Then deletes the whole directory. Idempotent; never throws.
   */
  public void stop() {
    if (!stopped.compareAndSet(false, true)) {
      return;
    }
    long started = System.nanoTime();
    try {
      process.getOutputStream().close();
    } catch (IOException ignored) {
      // the wrapper is gone already: nothing to signal
    }
    if (!Files.isExecutable(Path.of("/bin/sh"))) {
      process.destroy(); // started without the wrapper
    }
    try {
      if (!process.waitFor(STOP_GRACE_MILLIS, TimeUnit.MILLISECONDS)) {
        log.warn("Throwaway server at 127.0.0.1:{} did not stop within {} s; killing it", port, STOP_GRACE_MILLIS / 1000);
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
    }
    live.remove(this);
    deleteRecursively(baseDir);
    ownedDirs.remove(baseDir);
    log.debug("{}: stopped in {} ms", this, (System.nanoTime() - started) / 1_000_000);
  }

  /** Same as {@link #stop()}, for try-with-resources. */
  @Override
  public void close() {
    stop();
  }

  @Override
  public String toString() {
    return "127.0.0.1:" + port + " (" + baseDir + ")";
  }

  /** Escapes {@code value} for a single-quoted SQL string literal. */
  public static String sqlString(String value) {
    return value.replace("\\", "\\\\").replace("'", "''");
  }

  /** The last 40 lines of a log, prefixed for an exception message. */
  public static String tail(Path logFile) {
    try {
      // Lenient decoding: a server log is not guaranteed to be valid UTF-8.
      List<String> lines = new String(Files.readAllBytes(logFile), StandardCharsets.UTF_8).lines().toList();
      List<String> last = lines.subList(Math.max(0, lines.size() - 40), lines.size());
      return "\n--- last lines of " + logFile + " ---\n" + String.join("\n", last);
    } catch (IOException | UncheckedIOException e) {
      return "\n(no log at " + logFile + ": " + e + ")";
    }
  }

  // ---------------------------------------------------------------- helpers

  private static boolean isMariaDb(Path binary) {
    try {
      Process process = new ProcessBuilder(binary.toString(), "--no-defaults", "--version")
          .redirectErrorStream(true)
          .redirectInput(ProcessBuilder.Redirect.from(nullDevice()))
          .start();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      process.waitFor(10, TimeUnit.SECONDS);
      return output.contains("MariaDB");
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot run " + binary + " --version", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted running " + binary + " --version", e);
    }
  }

  /**
   * Statements run by the server at every start (--init-file): root gets a password and
   * mysql_native_password, as in the MySQL container, and an account for 127.0.0.1, where TCP
   * logins come from under --skip-name-resolve; with replication, the replication account, all
   * outside the binary log. One statement per line, as init files require.
   */
  private static List<String> initSql(boolean mariaDb, Options options) {
    String password = sqlString(options.rootPassword());
    List<String> sql = new ArrayList<>();
    if (options.replication().isPresent()) {
      // Not in the binary log: else every replica would have transactions of its own (errant GTIDs).
      sql.add("SET SESSION sql_log_bin = 0;");
    }
    for (String host : List.of("localhost", "127.0.0.1", "::1")) {
      String account = "'root'@'" + host + "'";
      String auth = mariaDb
          ? "IDENTIFIED VIA mysql_native_password USING PASSWORD('" + password + "')"
          : "IDENTIFIED BY '" + password + "'";
      sql.add("CREATE USER IF NOT EXISTS " + account + " " + auth + ";");
      sql.add("ALTER USER " + account + " " + auth + ";");
      sql.add("GRANT ALL PRIVILEGES ON *.* TO " + account + " WITH GRANT OPTION;");
    }
    options.replication().ifPresent(replication -> {
      for (String host : List.of("127.0.0.1", "%")) {
        String account = "'" + replication.user() + "'@'" + host + "'";
        String auth = "IDENTIFIED VIA mysql_native_password USING PASSWORD('" + sqlString(replication.password()) + "')";
        sql.add("CREATE USER IF NOT EXISTS " + account + " " + auth + ";");
        sql.add("ALTER USER " + account + " " + auth + ";");
        sql.add("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO " + account + ";");
      }
    });
    return sql;
  }

  private static Optional<Path> findInstallDb(Path binary) {
    List<Path> dirs = new ArrayList<>();
    Path binDir = binary.toAbsolutePath().getParent();
    dirs.add(binDir);
    if (binDir.getParent() != null) {
      dirs.add(binDir.getParent().resolve("bin"));
      dirs.add(binDir.getParent().resolve("scripts"));
    }
    dirs.addAll(searchDirs());
    return findExecutable(INSTALL_DB_NAMES, dirs);
  }

  /** {@code /usr} for {@code /usr/sbin/mariadbd}: where install-db finds its SQL scripts. */
  private static Optional<Path> basedirOf(Path binary) {
    Path binDir = binary.toAbsolutePath().getParent();
    String name = binDir.getFileName() == null ? "" : binDir.getFileName().toString();
    if (List.of("bin", "sbin", "libexec").contains(name) && binDir.getParent() != null) {
      return Optional.of(binDir.getParent());
    }
    return Optional.empty();
  }

  private static List<Path> searchDirs() {
    List<Path> dirs = new ArrayList<>();
    String path = System.getenv("PATH");
    if (path != null) {
      Arrays.stream(path.split(File.pathSeparator)).filter(s -> !s.isEmpty()).map(Path::of).forEach(dirs::add);
    }
    dirs.addAll(EXTRA_DIRS);
    return dirs;
  }

  /** The first of {@code names} (in order of preference) found in any of {@code dirs}. */
  private static Optional<Path> findExecutable(List<String> names, List<Path> dirs) {
    for (String name : names) {
      for (Path dir : dirs) {
        Path candidate = dir.resolve(name);
        if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
          return Optional.of(candidate);
        }
      }
    }
    return Optional.empty();
  }

  /**
   * A port free on 127.0.0.1 a moment ago; {@link #start} retries when the server loses the race.
   * Another process may take it before the caller binds it.
   */
  public static int freePort() {
    try (ServerSocket socket = new ServerSocket()) {
      // No SO_REUSEADDR: a port still in TIME_WAIT would be handed out and then fail to bind.
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), 0), 1);
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free TCP port on 127.0.0.1", e);
    }
  }

  private static Path tempRoot() {
    Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
    // A Unix socket path must fit in 107 bytes; some tmpdirs (macOS) are too long for that.
    return tmp.toString().length() > 60 && Files.isDirectory(Path.of("/tmp")) ? Path.of("/tmp") : tmp;
  }

  /**
   * Deletes directories with {@code prefix} left behind by JVMs that died before their shutdown
   * hook ran. Only directories whose owner JVM is gone and whose server is not running are touched.
   */
  private static void reapStaleDirs(String prefix) {
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(tempRoot(), prefix + "*")) {
      for (Path dir : dirs) {
        if (!isAlive(dir.resolve("owner.pid")).orElse(true) && !isAlive(dir.resolve("server.pid")).orElse(false)) {
          log.info("Deleting {} left behind by a JVM that exited without cleaning up", dir);
          deleteRecursively(dir);
        }
      }
    } catch (IOException | RuntimeException e) {
      log.debug("Cannot look for stale throwaway server directories", e);
    }
  }

  /** Whether the process whose pid is in {@code pidFile} is alive; empty if the file is missing or bad. */
  private static Optional<Boolean> isAlive(Path pidFile) {
    try {
      long pid = Long.parseLong(Files.readString(pidFile).trim());
      return Optional.of(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  private static void copyDirectory(Path from, Path to) {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path source : (Iterable<Path>) paths::iterator) {
        Files.copy(source, to.resolve(from.relativize(source).toString()));
      }
    } catch (IOException | UncheckedIOException e) {
      throw new IllegalStateException("Cannot copy the template data directory " + from + " to " + to, e);
    }
  }

  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> {
        try {
          Files.deleteIfExists(path);
        } catch (IOException e) {
          log.debug("Cannot delete {}: {}", path, e.toString());
        }
      });
    } catch (IOException | UncheckedIOException e) {
      log.warn("Cannot delete throwaway server directory {}: {}", dir, e.toString());
    }
  }

  private static File nullDevice() {
    return new File(System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows") ? "NUL" : "/dev/null");
  }
}
