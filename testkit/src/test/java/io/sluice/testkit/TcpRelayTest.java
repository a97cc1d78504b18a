package io.sluice.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TcpRelayTest {

  private EchoServer echo;
  private TcpRelay relay;

  @BeforeEach
  void setUp() throws IOException {
    echo = new EchoServer();
    relay = TcpRelay.start("127.0.0.1", echo.port());
  }

  @AfterEach
  void tearDown() {
    relay.close();
    echo.close();
  }

  @Test
  void relaysBothWaysAndCountsConnections() throws Exception {
    try (Socket first = connect(); Socket second = connect()) {
      assertEquals("hello", roundTrip(first, "hello"));
      assertEquals("world", roundTrip(second, "world"));
      assertEquals(2, relay.activeConnections());
      assertEquals(2, echo.open.get());
    }
    awaitValue(0, relay::activeConnections);
    awaitValue(0, echo.open::get);
  }

  @Test
  void relaysLargeTransfersIntact() throws Exception {
    byte[] payload = new byte[1 << 20];
    for (int i = 0; i < payload.length; i++) {
      payload[i] = (byte) (i * 31);
    }
    try (Socket client = connect()) {
      Thread writer = new Thread(() -> {
        try {
          client.getOutputStream().write(payload);
        } catch (IOException ignored) {
          // the assertion below reports the short read
        }
      });
      writer.start();
      byte[] received = client.getInputStream().readNBytes(payload.length);
      writer.join();
      assertArrayEquals(payload, received);
    }
  }

  @Test
  void halfCloseIsForwarded() throws Exception {
    try (Socket client = connect()) {
      assertEquals("ping", roundTrip(client, "ping"));
      client.shutdownOutput(); // the echo server sees EOF and closes its side
      assertEquals(-1, client.getInputStream().read());
    }
    awaitValue(0, relay::activeConnections);
  }

  @Test
  void cutAllResetsBothSides() throws Exception {
    try (Socket client = connect()) {
      assertEquals("before", roundTrip(client, "before"));
      relay.cutAll();
      client.setSoTimeout(2_000);
      assertThrows(IOException.class, () -> {
        int b = client.getInputStream().read();
        if (b == -1) {
          throw new AssertionError("expected a reset, got a clean EOF");
        }
      });
      awaitValue(0, relay::activeConnections);
      awaitValue(0, echo.open::get);
      assertTrue(echo.resets.get() >= 1, "the server side saw a reset, not a FIN");
    }
    try (Socket again = connect()) {
      assertEquals("after", roundTrip(again, "after"));
    }
  }

  @Test
  void pauseHoldsBytesUntilResume() throws Exception {
    try (Socket client = connect()) {
      assertEquals("a", roundTrip(client, "a"));
      relay.pause();
      client.getOutputStream().write('b');
      client.setSoTimeout(300);
      assertThrows(SocketTimeoutException.class, () -> client.getInputStream().read());
      relay.resume();
      client.setSoTimeout(2_000);
      assertEquals('b', client.getInputStream().read());
      assertEquals(1, relay.activeConnections());
    }
  }

  @Test
  void refuseNewRefusesConnectionsButKeepsOpenOnes() throws Exception {
    try (Socket open = connect()) {
      // Until the relay accepts it, a connection sits in the listen backlog and would be reset.
      assertEquals("first", roundTrip(open, "first"));
      relay.refuseNew(true);
      assertThrows(ConnectException.class, this::connect);
      assertEquals("still", roundTrip(open, "still"));
      relay.refuseNew(false);
      try (Socket fresh = connect()) {
        assertEquals("fresh", roundTrip(fresh, "fresh"));
      }
    }
  }

  @Test
  void connectionToDeadTargetIsReset() throws Exception {
    try (TcpRelay nowhere = TcpRelay.start("127.0.0.1", FreePort.find());
        Socket client = new Socket(nowhere.host(), nowhere.port())) {
      client.setSoTimeout(5_000);
      assertThrows(IOException.class, () -> {
        if (client.getInputStream().read() == -1) {
          throw new AssertionError("expected a reset, got a clean EOF");
        }
      });
      assertEquals(0, nowhere.activeConnections());
    }
  }

  @Test
  void freePortIsBindable() throws IOException {
    int port = FreePort.find();
    try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
      assertEquals(port, socket.getLocalPort());
    }
  }

  private Socket connect() throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress(relay.host(), relay.port()), 2_000);
    socket.setSoTimeout(5_000);
    return socket;
  }

  private static String roundTrip(Socket socket, String text) throws IOException {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    socket.getOutputStream().write(bytes);
    return new String(socket.getInputStream().readNBytes(bytes.length), StandardCharsets.UTF_8);
  }

  /** Connections are counted asynchronously (accept, then connect to the target); poll briefly. */
  private static void awaitValue(int expected, IntSupplier actual) throws InterruptedException {
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (actual.getAsInt() != expected && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(expected, actual.getAsInt());
  }

  /** Echoes every byte back; counts open connections and the ones that ended with a reset. */
  private static final class EchoServer implements AutoCloseable {
    final ServerSocket socket;
    final ExecutorService threads = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "echo-server");
      t.setDaemon(true);
      return t;
    });
    final AtomicInteger open = new AtomicInteger();
    final AtomicInteger resets = new AtomicInteger();

    EchoServer() throws IOException {
      socket = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
      threads.execute(this::acceptLoop);
    }

    int port() {
      return socket.getLocalPort();
    }

    private void acceptLoop() {
      while (!socket.isClosed()) {
        try {
          Socket connection = socket.accept();
          open.incrementAndGet();
          threads.execute(() -> echo(connection));
        } catch (IOException e) {
          return;
        }
      }
    }

    private void echo(Socket connection) {
      try (connection) {
        InputStream in = connection.getInputStream();
        OutputStream out = connection.getOutputStream();
        byte[] buffer = new byte[8192];
        for (int n; (n = in.read(buffer)) >= 0; ) {
          out.write(buffer, 0, n);
        }
      } catch (IOException e) {
        resets.incrementAndGet();
      } finally {
        open.decrementAndGet();
      }
    }

    @Override
    public void close() {
      try {
        socket.close();
      } catch (IOException ignored) {
        // test cleanup
      }
      threads.shutdownNow();
    }
  }
}
