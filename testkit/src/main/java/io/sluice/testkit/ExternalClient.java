package io.sluice.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Real client programs and libraries run as child processes, for conformance tests: the
 * {@code mariadb} CLI, Python (PyMySQL, mysqlclient), Perl (DBD::MariaDB, DBD::mysql), PHP (mysqli,
 * PDO), Ruby (mysql2) and Node.js ({@code mariadb}, {@code mysql}, {@code mysql2}).
 *
 * <p>{@code .ci/run} installs every one of them (Debian packages, and {@code npm ci} in
 * {@code testkit/clients/node}). A test asks for its client with {@link #require}: when the client is
 * missing, the test is skipped on a developer's machine (with the command that installs it) and fails
 * under {@code CI=true}, so a broken install step cannot hide a regression as a skip.
 *
 * <p>Scripts get their connection parameters from the environment ({@code SLUICE_HOST},
 * {@code SLUICE_PORT}, ...) rather than the command line, so passwords stay out of process lists.
 * Thread-safe; every call starts its own process and waits for it, killing it at the timeout.
 */
public final class ExternalClient {
  /** How long one client run may take before it is killed and the test fails. */
  public static final Duration TIMEOUT = Duration.ofSeconds(60);
  /** The exit code {@link #runFor} reports for a run it killed at its timeout. */
  public static final int KILLED = -1;
  /** Debian's interpreter: its dist-packages hold python3-pymysql and python3-mysqldb (a pyenv shim would not). */
  public static final String PYTHON = "/usr/bin/python3";

  private ExternalClient() {
  }

  /** What a client run printed and how it ended. */
  public record Result(int exit, String stdout, String stderr) {
    /** Standard output without the trailing newline, for one-line answers. */
    public String out() {
      return stdout.strip();
    }

    /** Fails with both streams in the message unless the client exited 0. */
    public Result ok() {
      if (exit != 0) {
        throw new AssertionError("client exited " + exit + "\nstdout: " + stdout + "\nstderr: " + stderr);
      }
      return this;
    }
  }

  /**
   * Skips the calling test when {@code present} is false, or fails it under {@code CI=true};
   * {@code install} says what provides the client (e.g. {@code apt-get install python3-pymysql}).
   */
  public static void require(String client, boolean present, String install) {
    if (present) {
      return;
    }
    String why = client + " is not installed here (" + install + "; .ci/run installs it)";
    if ("true".equals(System.getenv("CI"))) {
      throw new AssertionError(why);
    }
    Assumptions.abort(why);
  }

  /** Skips (or, in CI, fails) unless {@code program} is on the PATH or an absolute path that exists. */
  public static void requireProgram(String program, String install) {
    require(program, findProgram(program) != null, install);
  }

  /** Skips (or, in CI, fails) unless Debian's python3 can import {@code module}. */
  public static void requirePython(String module, String install) {
    require("python3 module " + module, Files.isExecutable(Path.of(PYTHON))
        && quietly(PYTHON, "-c", "import " + module), install);
  }

  /** Skips (or, in CI, fails) unless perl can load {@code module} (e.g. DBD::MariaDB). */
  public static void requirePerl(String module, String install) {
    require("perl module " + module, findProgram("perl") != null
        && quietly("perl", "-M" + module, "-e", "1"), install);
  }

  /** Skips (or, in CI, fails) unless php has {@code extension} (e.g. mysqli, pdo_mysql). */
  public static void requirePhp(String extension, String install) {
    require("php extension " + extension, findProgram("php") != null
        && quietly("php", "-r", "exit(extension_loaded('" + extension + "') ? 0 : 1);"), install);
  }

  /** Skips (or, in CI, fails) unless ruby can require {@code library} (e.g. mysql2). */
  public static void requireRuby(String library, String install) {
    require("ruby library " + library, findProgram("ruby") != null
        && quietly("ruby", "-e", "require '" + library + "'"), install);
  }

  /** Skips (or, in CI, fails) unless node can load npm {@code module} from {@link #nodeModules()}. */
  public static void requireNode(String module) {
    require("npm module " + module, findProgram("node") != null
        && Files.isDirectory(nodeModules().resolve(module)),
        "cd testkit/clients/node && npm ci");
  }

  /** {@code testkit/clients/node/node_modules} of this checkout, where {@code npm ci} installs the Node drivers. */
  public static Path nodeModules() {
    return repoRoot().resolve("testkit/clients/node/node_modules");
  }

  /** Runs a Python script with Debian's python3; {@code env} adds to the environment. */
  public static Result python(String script, Map<String, String> env) {
    return run(env, PYTHON, "-c", script);
  }

  /** Runs a Perl script. */
  public static Result perl(String script, Map<String, String> env) {
    return run(env, "perl", "-e", script);
  }

  /** Runs a PHP script (without the {@code <?php} tag). */
  public static Result php(String script, Map<String, String> env) {
    return run(env, "php", "-r", script);
  }

  /** Runs a Ruby script. */
  public static Result ruby(String script, Map<String, String> env) {
    return run(env, "ruby", "-e", script);
  }

  /** Runs a Node.js script that can {@code require} the drivers in {@link #nodeModules()}. */
  public static Result node(String script, Map<String, String> env) {
    Map<String, String> withPath = new java.util.HashMap<>(env);
    withPath.put("NODE_PATH", nodeModules().toString());
    return run(withPath, "node", "-e", script);
  }

  /** Runs {@code command}, waits at most {@link #TIMEOUT}; {@code env} adds to the environment. */
  public static Result run(Map<String, String> env, String... command) {
    return runWithInput(env, null, command);
  }

  /**
   * As {@link #run(Map, String...)}, with {@code stdin} written to the process's standard input; a
   * run that overstays {@link #TIMEOUT} fails the test with what it printed.
   */
  public static Result runWithInput(Map<String, String> env, String stdin, String... command) {
    Result r = runFor(TIMEOUT, env, stdin, command);
    if (r.exit() == KILLED) {
      throw new AssertionError(command[0] + " did not finish within " + TIMEOUT.toSeconds() + " s\nstdout: "
          + r.stdout() + "\nstderr: " + r.stderr());
    }
    return r;
  }

  /**
   * Runs {@code command} for at most {@code timeout}; {@code env} adds to the environment and
   * {@code stdin} (or null) is written to its standard input. Unlike {@link #runWithInput}, a run
   * that overstays is killed and returned, not thrown: exit code {@link #KILLED}, with what it printed until then
   * and a last stderr line saying so, so a conformance test can tell at which step a client hung.
   */
  public static Result runFor(Duration timeout, Map<String, String> env, String stdin, String... command) {
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().putAll(env);
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new AssertionError("cannot run " + String.join(" ", command) + ": " + e.getMessage(), e);
    }
    CompletableFuture<String> out = drain(p.getInputStream());
    CompletableFuture<String> err = drain(p.getErrorStream());
    try (var in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      // the process may have exited without reading its input; its exit code tells
    }
    try {
      if (p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        return new Result(p.exitValue(), out.join(), err.join());
      }
      p.destroyForcibly();
      p.waitFor(5, TimeUnit.SECONDS);
      String killed = "\n[killed by the test after " + timeout.toMillis() + " ms]\n";
      return new Result(KILLED, out.get(5, TimeUnit.SECONDS), err.get(5, TimeUnit.SECONDS) + killed);
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while waiting for " + command[0], e);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new AssertionError("cannot read the output of " + command[0] + " after killing it", e);
    }
  }

  /** Environment for a client script: where Sluice (or the server) listens and who logs in. */
  public static Map<String, String> env(int port, String user, String password) {
    return Map.of("SLUICE_HOST", "127.0.0.1", "SLUICE_PORT", String.valueOf(port), "SLUICE_USER", user,
        "SLUICE_PASSWORD", password, "MYSQL_PWD", password);
  }

  private static CompletableFuture<String> drain(InputStream in) {
    return CompletableFuture.supplyAsync(() -> {
      try (in) {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return "";
      }
    });
  }

  private static boolean quietly(String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** {@code program} when it is an executable path, else its first match on the PATH; null when none. */
  public static Path findProgram(String program) {
    if (program.contains("/")) {
      Path p = Path.of(program);
      return Files.isExecutable(p) ? p : null;
    }
    List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
    dirs.addAll(List.of("/usr/bin", "/usr/sbin", "/usr/local/bin"));
    for (String dir : dirs) {
      if (dir.isEmpty()) {
        continue;
      }
      Path p = Path.of(dir, program);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }

  /** The checkout's root: the first directory upwards from the working directory that holds {@code .ci}. */
  public static Path repoRoot() {
    Path dir = Path.of("").toAbsolutePath();
    for (Path d = dir; d != null; d = d.getParent()) {
      if (Files.isDirectory(d.resolve(".ci"))) {
        return d;
      }
    }
    throw new IllegalStateException("no .ci directory above " + dir);
  }
}
