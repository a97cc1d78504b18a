package io.sluice.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * Finds a TCP port on 127.0.0.1 that is free right now. Another process may take it before the
 * caller binds it, so callers that can should bind port 0 themselves (as {@link TcpRelay} does) or
 * retry on "address in use" (as {@link TestServer} does).
 */
public final class FreePort {

  private FreePort() {}

  /** Returns a port that was free on 127.0.0.1 a moment ago. */
  public static int find() {
    try (ServerSocket socket = new ServerSocket()) {
      // No SO_REUSEADDR: a port still in TIME_WAIT would be handed out and then fail to bind.
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), 0), 1);
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free TCP port on 127.0.0.1", e);
    }
  }
}
