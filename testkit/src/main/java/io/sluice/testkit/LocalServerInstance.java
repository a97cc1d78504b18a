package io.sluice.testkit;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
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
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A MariaDB or MySQL server started from the binaries installed on this machine, in a fresh
 * directory under {@code java.io.tmpdir}:
 *
 * <pre>
 * sluice-testserver-NNN/
 *   owner.pid      pid of the JVM that owns it (lets a later run delete it if that JVM died)
 *   data/          the data directory: a copy of a template that mariadb-install-db or
 *                  mysqld --initialize-insecure made once per JVM (sluice-testserver-template-NNN)
 *   tmp/           the server's tmpdir
 *   s.sock, server.pid, init.sql (root's password), run-server.sh (the watchdog wrapper)
 *   install.log, server.log   output of initialisation and of the server
 * </pre>
 *
 * <p>The server runs under {@code run-server.sh}, which kills it when the JVM's end of its stdin
 * pipe closes: the server cannot outlive the JVM, even one killed with SIGKILL.
 *
 * <p>Startup is tuned for small CI machines: 32 MiB buffer pool, 8 MiB redo log, no binary log,
 * no doublewrite, no fsync per commit, synchronous I/O. Durability does not matter: the data is
 * thrown away.
 */
final class LocalServerInstance implements ServerInstance {

  private static final Logger log = LoggerFactory.getLogger(LocalServerInstance.class);

  /** Server binary to use instead of searching; e.g. {@code -Dsluice.test.mysqld=/opt/mysql/bin/mysqld}. */
  static final String BINARY_PROPERTY = "sluice.test.mysqld";
  private static final List<String> SERVER_NAMES = List.of("mariadbd", "mysqld");
  private static final List<String> INSTALL_DB_NAMES = List.of("mariadb-install-db", "mysql_install_db");
  private static final List<Path> EXTRA_DIRS = List.of(
      Path.of("/usr/sbin"), Path.of("/usr/local/bin"), Path.of("/usr/libexec"),
      Path.of("/usr/local/sbin"), Path.of("/usr/bin"));
  private static final String DIR_PREFIX = "sluice-testserver-";
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

  /** Initialised data directories by server binary; see {@link #template}. Guarded by the class. */
  private static final Map<Path, Path> templates = new HashMap<>();
  /** Whether each server binary is MariaDB (else MySQL), from its --version. */
  private static final Map<Path, Boolean> flavours = new ConcurrentHashMap<>();
  private static final AtomicBoolean reaped = new AtomicBoolean();
  /** Servers launched and not yet stopped. */
  private static final Set<LocalServerInstance> live = ConcurrentHashMap.newKeySet();
  /** Directories this JVM made and has not deleted yet: templates, servers, half-made servers. */
  private static final Set<Path> ownedDirs = ConcurrentHashMap.newKeySet();
  /** Initialisations in progress (they run without the watchdog wrapper). */
  private static final Set<Process> initialising = ConcurrentHashMap.newKeySet();

  static {
    // Also covers a JVM that exits while a server is still starting (TestServer's hook only knows
    // servers that finished starting).
    Runtime.getRuntime().addShutdownHook(new Thread(LocalServerInstance::cleanUpAtExit, "sluice-testserver-cleanup"));
  }

  private final Path baseDir;
  private final Path dataDir;
  private final Process process;
  private final int port;
  private final AtomicBoolean stopped = new AtomicBoolean();

  private LocalServerInstance(Path baseDir, Process process, int port) {
    this.baseDir = baseDir;
    this.dataDir = baseDir.resolve("data");
    this.process = process;
    this.port = port;
    live.add(this);
  }

  private static void cleanUpAtExit() {
    initialising.forEach(Process::destroyForcibly);
    List.copyOf(live).forEach(LocalServerInstance::stop);
    ownedDirs.forEach(LocalServerInstance::deleteRecursively);
  }

  /** The server binary this machine offers, if any (see {@link #BINARY_PROPERTY}). */
  static Optional<Path> findServerBinary() {
    String configured = System.getProperty(BINARY_PROPERTY);
    if (configured != null && !configured.isBlank()) {
      return Optional.of(Path.of(configured));
    }
    return findExecutable(SERVER_NAMES, searchDirs());
  }

  static LocalServerInstance start(TestServer.Options options) {
    Path binary = findServerBinary().orElseThrow(() -> new IllegalStateException(
        "No mariadbd or mysqld on PATH or in " + EXTRA_DIRS + ". Install MariaDB or MySQL, set -D"
            + BINARY_PROPERTY + "=/path/to/mysqld, or use -Dsluice.test.server=docker"));
    boolean mariaDb = flavours.computeIfAbsent(binary, LocalServerInstance::isMariaDb);
    if (reaped.compareAndSet(false, true)) {
      reapStaleDirs();
    }
    Path baseDir;
    try {
      baseDir = Files.createTempDirectory(tempRoot(), DIR_PREFIX);
      ownedDirs.add(baseDir);
      Files.writeString(baseDir.resolve("owner.pid"), Long.toString(ProcessHandle.current().pid()));
      Files.createDirectories(baseDir.resolve("tmp"));
      Files.write(baseDir.resolve("init.sql"), rootPasswordSql(mariaDb), StandardCharsets.UTF_8);
      try (InputStream script = LocalServerInstance.class.getResourceAsStream("run-server.sh")) {
        Files.copy(script, baseDir.resolve("run-server.sh"));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot prepare a directory for a test server", e);
    }
    try {
      long started = System.nanoTime();
      copyDirectory(template(binary, mariaDb).resolve("data"), baseDir.resolve("data"));
      long initialised = System.nanoTime();
      for (int attempt = 1; ; attempt++) {
        int port = FreePort.find();
        Process process = launch(binary, mariaDb, baseDir, port, options);
        LocalServerInstance instance = new LocalServerInstance(baseDir, process, port);
        if (instance.awaitReady(attempt < BIND_ATTEMPTS)) {
          log.debug("{}: data directory ready after {} ms, root logged in {} ms later", instance,
              (initialised - started) / 1_000_000, (System.nanoTime() - initialised) / 1_000_000);
          return instance;
        }
        live.remove(instance); // exited without binding: nothing to stop
        log.info("Port {} was taken before the test server could bind it; retrying", port);
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
   * milliseconds, initialising half a second to several seconds on a busy CI machine.
   */
  private static synchronized Path template(Path binary, boolean mariaDb) {
    Path template = templates.get(binary);
    if (template != null) {
      return template;
    }
    long started = System.nanoTime();
    try {
      template = Files.createTempDirectory(tempRoot(), DIR_PREFIX + "template-");
      ownedDirs.add(template);
      Files.writeString(template.resolve("owner.pid"), Long.toString(ProcessHandle.current().pid()));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot prepare a directory for a test server template", e);
    }
    try {
      initialise(binary, mariaDb, template);
    } catch (RuntimeException | Error e) {
      deleteRecursively(template);
      ownedDirs.remove(template);
      throw e;
    }
    templates.put(binary, template); // deleted at exit (ownedDirs)
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

  private static Process launch(Path binary, boolean mariaDb, Path baseDir, int port, TestServer.Options options) {
    List<String> command = new ArrayList<>();
    Path wrapper = baseDir.resolve("run-server.sh");
    if (Files.isExecutable(Path.of("/bin/sh"))) {
      command.addAll(List.of("/bin/sh", wrapper.toString()));
    }
    command.addAll(List.of(
        binary.toString(),
        "--no-defaults", // must come first
        "--datadir=" + baseDir.resolve("data"),
        "--socket=" + baseDir.resolve("s.sock"),
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
        // Same defaults as the MySQL 8.4 container, so tests see one behaviour in both modes.
        "--max-allowed-packet=64M",
        "--character-set-server=utf8mb4"));
    command.addAll(INNODB_OPTIONS);
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
        throw new IllegalStateException("Test server exited with code " + process.exitValue()
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
        throw new IllegalStateException("Interrupted while waiting for the test server", e);
      }
    }
    String tail = tail(baseDir.resolve("server.log"));
    stop();
    throw new IllegalStateException("Test server at 127.0.0.1:" + port + " did not accept root within "
        + STARTUP_TIMEOUT_MILLIS / 1000 + " s; last error: " + last + tail, last);
  }

  @Override
  public String host() {
    return "127.0.0.1";
  }

  @Override
  public int port() {
    return port;
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
    return TestServer.Kind.LOCAL;
  }

  @Override
  public Path dataDir() {
    return dataDir;
  }

  @Override
  public Optional<ProcessHandle> process() {
    try {
      long pid = Long.parseLong(Files.readString(baseDir.resolve("server.pid")).trim());
      return ProcessHandle.of(pid);
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /**
   * Closes the wrapper's stdin, which makes it TERM the server; after a grace period kills the
   * server and wrapper outright. Then deletes the whole directory.
   */
  @Override
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
        log.warn("Test server at 127.0.0.1:{} did not stop within {} s; killing it", port, STOP_GRACE_MILLIS / 1000);
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

  @Override
  public String toString() {
    return "127.0.0.1:" + port + " (" + baseDir + ")";
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
   * mysql_native_password, as in the container, and an account for 127.0.0.1, where TCP logins
   * come from under --skip-name-resolve. One statement per line, as init files require.
   */
  private static List<String> rootPasswordSql(boolean mariaDb) {
    String password = TestServer.sqlString(TestServer.ROOT_PASSWORD);
    List<String> sql = new ArrayList<>();
    for (String host : List.of("localhost", "127.0.0.1", "::1")) {
      String account = "'root'@'" + host + "'";
      String auth = mariaDb
          ? "IDENTIFIED VIA mysql_native_password USING PASSWORD('" + password + "')"
          : "IDENTIFIED BY '" + password + "'";
      sql.add("CREATE USER IF NOT EXISTS " + account + " " + auth + ";");
      sql.add("ALTER USER " + account + " " + auth + ";");
      sql.add("GRANT ALL PRIVILEGES ON *.* TO " + account + " WITH GRANT OPTION;");
    }
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

  private static Path tempRoot() {
    Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
    // A Unix socket path must fit in 107 bytes; some tmpdirs (macOS) are too long for that.
    return tmp.toString().length() > 60 && Files.isDirectory(Path.of("/tmp")) ? Path.of("/tmp") : tmp;
  }

  /**
   * Deletes directories left behind by JVMs that died before their shutdown hook ran. Only
   * directories whose owner JVM is gone and whose server is not running are touched.
   */
  private static void reapStaleDirs() {
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(tempRoot(), DIR_PREFIX + "*")) {
      for (Path dir : dirs) {
        if (!isAlive(dir.resolve("owner.pid")).orElse(true) && !isAlive(dir.resolve("server.pid")).orElse(false)) {
          log.info("Deleting {} left behind by a JVM that exited without cleaning up", dir);
          deleteRecursively(dir);
        }
      }
    } catch (IOException | RuntimeException e) {
      log.debug("Cannot look for stale test server directories", e);
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

  static void deleteRecursively(Path dir) {
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
      log.warn("Cannot delete test server directory {}: {}", dir, e.toString());
    }
  }

  /** The last 40 lines of a log, prefixed for an exception message. */
  static String tail(Path logFile) {
    try {
      // Lenient decoding: a server log is not guaranteed to be valid UTF-8.
      List<String> lines = new String(Files.readAllBytes(logFile), StandardCharsets.UTF_8).lines().toList();
      List<String> last = lines.subList(Math.max(0, lines.size() - 40), lines.size());
      return "\n--- last lines of " + logFile + " ---\n" + String.join("\n", last);
    } catch (IOException | UncheckedIOException e) {
      return "\n(no log at " + logFile + ": " + e + ")";
    }
  }

  private static File nullDevice() {
    return new File(System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows") ? "NUL" : "/dev/null");
  }
}
