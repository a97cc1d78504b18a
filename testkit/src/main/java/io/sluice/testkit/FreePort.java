package io.sluice.testkit;

/**
 * Finds a TCP port on 127.0.0.1 that is free right now. Another process may take it before the
 * caller binds it, so callers that can should bind port 0 themselves (as {@link TcpRelay} does) or
 * retry on "address in use" (as {@link TestServer} does).
 */
public final class FreePort {

  private FreePort() {}

  /** Returns a port that was free on 127.0.0.1 a moment ago. */
  public static int find() {
    return io.sluice.localdb.LocalServer.freePort();
  }
}
