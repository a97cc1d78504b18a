package io.sluice.testkit;

import java.time.Duration;

/**
 * Waiting in a test for what Sluice or the server makes true on another thread: a pool's idle count
 * after a client leaves, a counter, a queued waiter. A test that sleeps a fixed time instead, or
 * asserts right after observing something else, fails when the machine is slow (CI) or when
 * production makes the two visible in the other order.
 */
public final class Eventually {
  /** Long enough for a loaded CI machine; a passing test waits only as long as it must. */
  public static final Duration TIMEOUT = Duration.ofSeconds(15);

  /** A condition polled every 20 ms; it may throw (a JDBC query, an HTTP call). */
  @FunctionalInterface
  public interface Condition {
    boolean holds() throws Exception;
  }

  private Eventually() {
  }

  /** Polls {@code condition} until it holds; fails naming {@code what} after {@link #TIMEOUT}. */
  public static void until(String what, Condition condition) throws Exception {
    until(what, TIMEOUT, condition);
  }

  /** Polls {@code condition} until it holds; fails naming {@code what} after {@code timeout}. */
  public static void until(String what, Duration timeout, Condition condition) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.holds()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting until " + what);
      }
      Thread.sleep(20);
    }
  }
}
