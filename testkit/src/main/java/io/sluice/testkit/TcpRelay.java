package io.sluice.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP relay on 127.0.0.1 that a test puts between a client (or Sluice) and a server to inject
 * faults: cut every connection, stop forwarding bytes, refuse new connections. Modelled on the
 * {@code Proxy} of PgBouncer's test suite ({@code test/utils.py}).
 *
 * <p>Blocking sockets: one accept thread, and per relayed connection two pump threads (one per
 * direction) from a cached daemon pool. All public methods are thread-safe and may be called from
 * any thread. A half-close (FIN) is forwarded as a half-close; a reset or error on either side
 * resets both.
 */
public final class TcpRelay implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(TcpRelay.class);
  private static final InetAddress LOOPBACK = loopback();
  private static final int CONNECT_TIMEOUT_MILLIS = 5_000;
  private static final AtomicInteger RELAY_IDS = new AtomicInteger();

  private final String targetHost;
  private final int targetPort;
  private final int port;
  private final String name;
  private final ExecutorService threads;
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private final AtomicInteger linkIds = new AtomicInteger();
  /** Guards {@link #listener}, {@link #paused}, {@link #closed}; pumps wait on it while paused. */
  private final Object lock = new Object();
  /** Null while new connections are refused (the port is then closed: clients get ECONNREFUSED). */
  private ServerSocket listener;
  /**
   * The listener the accept thread is blocked on, null between accepts. Closing a ServerSocket
   * while a thread is in accept() only signals that thread; the kernel socket keeps listening
   * until the thread wakes up, so refuseNew(true) waits for this to change.
   */
  private ServerSocket accepting;
  private boolean paused;
  private boolean closed;

  private TcpRelay(String targetHost, int targetPort) throws IOException {
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    this.listener = bind(0);
    this.port = listener.getLocalPort();
    this.name = "tcp-relay-" + RELAY_IDS.incrementAndGet() + "-" + port;
    this.threads = Executors.newCachedThreadPool(daemonThreads(name));
    threads.execute(this::acceptLoop);
  }

  /**
   * Starts a relay listening on 127.0.0.1 at an ephemeral port and forwarding every accepted
   * connection to {@code host:port}.
   */
  public static TcpRelay start(String host, int port) throws IOException {
    return new TcpRelay(host, port);
  }

  /** The host clients connect to: always {@code 127.0.0.1}. */
  public String host() {
    return LOOPBACK.getHostAddress();
  }

  /** The port clients connect to; stays the same across {@link #refuseNew(boolean)}. */
  public int port() {
    return port;
  }

  /** Relayed connections currently open (both sides connected, not yet closed). */
  public int activeConnections() {
    return links.size();
  }

  /**
   * Closes every relayed connection abruptly on both sides: each socket is closed with
   * SO_LINGER 0, so both peers see a reset (not a clean FIN). Bytes the relay still held are
   * dropped. New connections are accepted as before.
   */
  public void cutAll() {
    for (Link link : List.copyOf(links)) {
      link.reset("cutAll");
    }
  }

  /**
   * Stops forwarding bytes in both directions on every connection, current and future; the
   * sockets stay open. The relay stops reading, so senders fill the socket buffers and then block,
   * as with a stalled network path. At most one chunk per direction already read is held until
   * {@link #resume()}.
   */
  public void pause() {
    synchronized (lock) {
      paused = true;
    }
  }

  /** Resumes forwarding after {@link #pause()}, delivering any held bytes first. */
  public void resume() {
    synchronized (lock) {
      paused = false;
      lock.notifyAll();
    }
  }

  /**
   * With {@code true}, closes the listening socket so that new connections fail with "connection
   * refused", as when the server is down; relayed connections are left alone, but connections the
   * kernel completed and the relay has not accepted yet are reset. With {@code false}, listens
   * again on the same port.
   *
   * @throws UncheckedIOException if the port was taken by someone else in between
   */
  public void refuseNew(boolean refuse) {
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException(name + " is closed");
      }
      if (refuse && listener != null) {
        ServerSocket closing = listener;
        closeQuietly(closing);
        listener = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (accepting == closing && System.nanoTime() < deadline) {
          try {
            lock.wait(100);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            break;
          }
        }
      } else if (!refuse && listener == null) {
        try {
          listener = bind(port);
        } catch (IOException e) {
          throw new UncheckedIOException(name + ": cannot listen again on port " + port, e);
        }
        lock.notifyAll();
      }
    }
  }

  /** Stops listening, resets every relayed connection and stops the threads. Idempotent. */
  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      if (listener != null) {
        closeQuietly(listener);
        listener = null;
      }
      lock.notifyAll();
    }
    cutAll();
    threads.shutdownNow();
  }

  @Override
  public String toString() {
    return name + " -> " + targetHost + ":" + targetPort;
  }

  private void acceptLoop() {
    while (true) {
      ServerSocket current;
      synchronized (lock) {
        while (!closed && listener == null) {
          if (!awaitQuietly()) {
            return;
          }
        }
        if (closed) {
          return;
        }
        current = listener;
        accepting = current;
      }
      Socket client;
      try {
        client = current.accept();
      } catch (IOException e) {
        leftAccept();
        if (!current.isClosed()) {
          log.warn("{}: accept failed, stop accepting", name, e);
          return;
        }
        continue; // closed by refuseNew(true) or close()
      }
      leftAccept();
      threads.execute(() -> connect(client));
    }
  }

  private void leftAccept() {
    synchronized (lock) {
      accepting = null;
      lock.notifyAll();
    }
  }

  private void connect(Socket client) {
    Socket server = new Socket();
    try {
      server.connect(new InetSocketAddress(targetHost, targetPort), CONNECT_TIMEOUT_MILLIS);
      client.setTcpNoDelay(true);
      server.setTcpNoDelay(true);
    } catch (IOException e) {
      log.info("{}: cannot reach {}:{} ({}), resetting the client", name, targetHost, targetPort, e.toString());
      resetQuietly(client);
      resetQuietly(server);
      return;
    }
    Link link = new Link(linkIds.incrementAndGet(), client, server);
    links.add(link);
    synchronized (lock) {
      if (closed) {
        link.reset("relay closed");
        return;
      }
    }
    threads.execute(() -> pump(link, client, server, "client->server"));
    threads.execute(() -> pump(link, server, client, "server->client"));
  }

  /** Copies {@code from} to {@code to} until EOF (forwarded as a half-close) or an error (reset both). */
  private void pump(Link link, Socket from, Socket to, String direction) {
    Thread.currentThread().setName(name + "-" + link.id + "-" + direction);
    byte[] buffer = new byte[16 * 1024];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      while (true) {
        if (!awaitNotPaused()) {
          return;
        }
        int n = in.read(buffer);
        if (n < 0) {
          to.shutdownOutput();
          link.directionDone();
          return;
        }
        if (!awaitNotPaused()) {
          return;
        }
        out.write(buffer, 0, n);
      }
    } catch (IOException e) {
      link.reset(direction + ": " + e.getMessage());
    }
  }

  /** Blocks while paused; false if the relay closed or the thread was interrupted. */
  private boolean awaitNotPaused() {
    synchronized (lock) {
      while (paused && !closed) {
        if (!awaitQuietly()) {
          return false;
        }
      }
      return !closed;
    }
  }

  /** Waits on {@link #lock} (caller holds it); false when interrupted, i.e. on shutdown. */
  private boolean awaitQuietly() {
    try {
      lock.wait();
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static ServerSocket bind(int port) throws IOException {
    ServerSocket socket = new ServerSocket();
    // Needed to listen on the same port again after refuseNew(true) while old connections linger.
    socket.setReuseAddress(true);
    socket.bind(new InetSocketAddress(LOOPBACK, port), 128);
    return socket;
  }

  private static void resetQuietly(Socket socket) {
    try {
      if (!socket.isClosed() && socket.isConnected()) {
        socket.setSoLinger(true, 0); // close() then sends RST instead of FIN
      }
    } catch (SocketException ignored) {
      // already broken: close() below is all that is left to do
    }
    closeQuietly(socket);
  }

  private static void closeQuietly(AutoCloseable closeable) {
    try {
      closeable.close();
    } catch (Exception ignored) {
      // closing for cleanup; nothing useful to do with the error
    }
  }

  private static InetAddress loopback() {
    try {
      return InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
    } catch (IOException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private static ThreadFactory daemonThreads(String name) {
    AtomicInteger n = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, name + "-" + n.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  /** One relayed connection: the accepted client socket and the socket to the target. */
  private final class Link {
    final int id;
    final Socket client;
    final Socket server;
    /** Directions that reached EOF; at two the link is finished. */
    private final AtomicInteger doneDirections = new AtomicInteger();

    Link(int id, Socket client, Socket server) {
      this.id = id;
      this.client = client;
      this.server = server;
    }

    void directionDone() {
      if (doneDirections.incrementAndGet() == 2) {
        closeQuietly(client);
        closeQuietly(server);
        links.remove(this);
      }
    }

    void reset(String reason) {
      if (links.remove(this)) {
        log.debug("{}: connection {} reset: {}", name, id, reason);
      }
      resetQuietly(client);
      resetQuietly(server);
    }
  }
}
