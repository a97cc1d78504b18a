import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Load clients for the Sluice benchmark harness (bench/harness.py), speaking the MySQL protocol
 * directly over a socket: a JDBC driver would spend the two shared cores on its own connection
 * set-up queries, and would send those queries through Sluice (holding a backend just to log in).
 * Only what the harness needs: HandshakeV10 / HandshakeResponse41 with mysql_native_password
 * (including an AuthSwitchRequest to it), COM_QUERY with text result sets (no CLIENT_DEPRECATE_EOF),
 * COM_QUIT. Every run is bounded in time; every socket has connect and read timeouts.
 *
 * <p>Modes (one JSON object on stdout at the end, progress on stderr):
 * <pre>
 *   storm HOST PORT USER PASS THREADS SECONDS TABLES TABLE_SIZE
 *       each thread keeps one connection and runs read-only transactions (BEGIN, 10 point
 *       selects, COMMIT) until the deadline; a failed connect or transaction is counted by error
 *       code, the connection dropped, and the thread retries after 100 ms, as an application would.
 *   churn HOST PORT USER PASS THREADS SECONDS TABLES TABLE_SIZE
 *       each thread loops: connect, log in, one point select, COM_QUIT, close; an error is counted
 *       by code and retried after 50 ms.
 *   idle HOST PORT USER PASS [TABLES TABLE_SIZE]
 *       reads commands from stdin: "open N" logs N more clients in (8 threads) and keeps them
 *       open and silent, answering "opened TOTAL failed F ms T"; "work SECONDS QPS" has the open
 *       clients, picked at random, run point selects at QPS in total for SECONDS (8 threads, each
 *       with its share of the clients) and answers with one JSON line; "quit" or EOF closes all.
 *       Exits by itself after 15 minutes.
 *   probe HOST PORT USER PASS
 *       checks whether transaction pooling is in effect on a Sluice started with a pool of 2:
 *       4 clients stay connected and each runs autocommit statements in turn; then one client
 *       holds a transaction open while the others keep working.
 * </pre>
 * Run with {@code java bench/java/LoadClient.java MODE ...} or compiled with javac; no dependencies.
 */
public final class LoadClient {
    static final int CLIENT_LONG_PASSWORD = 1;
    static final int CLIENT_PROTOCOL_41 = 1 << 9;
    static final int CLIENT_TRANSACTIONS = 1 << 13;
    static final int CLIENT_SECURE_CONNECTION = 1 << 15;
    static final int CLIENT_MULTI_RESULTS = 1 << 17;
    static final int CLIENT_PLUGIN_AUTH = 1 << 19;
    static final int CONNECT_TIMEOUT_MS = 5_000;
    static final int READ_TIMEOUT_MS = 30_000;

    /** A server ERR packet, or a protocol surprise (code -1). */
    static final class ServerError extends Exception {
        final int code;

        ServerError(int code, String message) {
            super(code + ": " + message);
            this.code = code;
        }
    }

    /** One client connection. Not thread-safe: owned by the thread that opened it. */
    static final class Conn implements AutoCloseable {
        final Socket socket;
        final InputStream in;
        final OutputStream out;
        byte[] buf = new byte[256];
        int len;
        int seq;

        private Conn(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new BufferedInputStream(socket.getInputStream(), 8192);
            this.out = socket.getOutputStream();
        }

        static Conn open(String host, int port, String user, String password) throws IOException, ServerError {
            Socket s = new Socket();
            try {
                s.setTcpNoDelay(true);
                s.setSoTimeout(READ_TIMEOUT_MS);
                s.connect(new InetSocketAddress(host, port), CONNECT_TIMEOUT_MS);
                Conn c = new Conn(s);
                c.login(user, password);
                return c;
            } catch (IOException | ServerError | RuntimeException e) {
                s.close();
                throw e;
            }
        }

        private void login(String user, String password) throws IOException, ServerError {
            read();
            if ((buf[0] & 0xff) == 0xff) {
                throw err();
            }
            if (buf[0] != 10) {
                throw new ServerError(-1, "not a HandshakeV10: protocol " + buf[0]);
            }
            int p = 1;
            while (buf[p] != 0) {
                p++;
            }
            p += 1 + 4; // NUL, connection id
            byte[] nonce = new byte[20];
            System.arraycopy(buf, p, nonce, 0, 8);
            p += 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10; // part 1, filler, caps low, charset, status, caps high, len, reserved
            System.arraycopy(buf, p, nonce, 8, 12);
            int caps = CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION
                    | CLIENT_MULTI_RESULTS | CLIENT_PLUGIN_AUTH;
            byte[] u = user.getBytes(StandardCharsets.UTF_8);
            byte[] scramble = nativeScramble(password, nonce);
            byte[] plugin = "mysql_native_password".getBytes(StandardCharsets.US_ASCII);
            byte[] pkt = new byte[4 + 4 + 1 + 23 + u.length + 1 + 1 + scramble.length + plugin.length + 1];
            int i = 0;
            i = int4(pkt, i, caps);
            i = int4(pkt, i, 1 << 24);
            pkt[i++] = 45; // utf8mb4_general_ci
            i += 23;
            System.arraycopy(u, 0, pkt, i, u.length);
            i += u.length + 1;
            pkt[i++] = (byte) scramble.length;
            System.arraycopy(scramble, 0, pkt, i, scramble.length);
            i += scramble.length;
            System.arraycopy(plugin, 0, pkt, i, plugin.length);
            write(pkt, seq + 1);
            while (true) {
                read();
                int h = buf[0] & 0xff;
                if (h == 0x00) {
                    return;
                }
                if (h == 0xff) {
                    throw err();
                }
                if (h == 0xfe && len > 1) { // AuthSwitchRequest: plugin NUL, nonce
                    int q = 1;
                    while (buf[q] != 0) {
                        q++;
                    }
                    String name = new String(buf, 1, q - 1, StandardCharsets.US_ASCII);
                    if (!name.equals("mysql_native_password")) {
                        throw new ServerError(-1, "unsupported auth plugin " + name);
                    }
                    byte[] n = Arrays.copyOfRange(buf, q + 1, q + 21);
                    write(nativeScramble(password, n), seq + 1);
                    continue;
                }
                throw new ServerError(-1, "unexpected login reply 0x" + Integer.toHexString(h));
            }
        }

        /** Runs one statement and reads its whole response; returns the number of rows. */
        int query(String sql) throws IOException, ServerError {
            byte[] s = sql.getBytes(StandardCharsets.UTF_8);
            byte[] pkt = new byte[1 + s.length];
            pkt[0] = 0x03;
            System.arraycopy(s, 0, pkt, 1, s.length);
            write(pkt, 0);
            int rows = 0;
            boolean more = true;
            while (more) {
                read();
                int h = buf[0] & 0xff;
                if (h == 0xff) {
                    throw err();
                }
                if (h == 0x00) {
                    more = (status(okStatusOffset()) & 0x0008) != 0;
                    continue;
                }
                long columns = lenenc(0);
                for (long c = 0; c < columns; c++) {
                    read();
                }
                read(); // EOF after column definitions
                while (true) {
                    read();
                    h = buf[0] & 0xff;
                    if (h == 0xff) {
                        throw err();
                    }
                    if (h == 0xfe && len < 9) {
                        more = (status(3) & 0x0008) != 0;
                        break;
                    }
                    rows++;
                }
            }
            return rows;
        }

        void quit() throws IOException {
            write(new byte[] {0x01}, 0);
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing: nothing left to do
            }
        }

        private int okStatusOffset() {
            int p = 1;
            p += lenencSize(buf[p] & 0xff);
            p += lenencSize(buf[p] & 0xff);
            return p;
        }

        private int status(int off) {
            return off + 1 < len ? (buf[off] & 0xff) | (buf[off + 1] & 0xff) << 8 : 0;
        }

        private long lenenc(int p) {
            int f = buf[p] & 0xff;
            if (f < 0xfb) {
                return f;
            }
            if (f == 0xfc) {
                return (buf[p + 1] & 0xff) | (buf[p + 2] & 0xff) << 8;
            }
            if (f == 0xfd) {
                return (buf[p + 1] & 0xff) | (buf[p + 2] & 0xff) << 8 | (buf[p + 3] & 0xff) << 16;
            }
            long v = 0;
            for (int k = 8; k >= 1; k--) {
                v = v << 8 | (buf[p + k] & 0xff);
            }
            return v;
        }

        private static int lenencSize(int f) {
            return f < 0xfb ? 1 : f == 0xfc ? 3 : f == 0xfd ? 4 : f == 0xfe ? 9 : 1;
        }

        private ServerError err() {
            int code = (buf[0 + 1] & 0xff) | (buf[2] & 0xff) << 8;
            int start = len > 3 && buf[3] == '#' ? 9 : 3;
            return new ServerError(code, new String(buf, start, Math.max(0, len - start), StandardCharsets.UTF_8));
        }

        /** Reads one packet's payload into buf/len; packets over 16 MiB are not expected here. */
        private void read() throws IOException {
            int b0 = in.read();
            int b1 = in.read();
            int b2 = in.read();
            int s = in.read();
            if ((b0 | b1 | b2 | s) < 0) {
                throw new EOFException("connection closed by peer");
            }
            len = b0 | b1 << 8 | b2 << 16;
            seq = s;
            if (buf.length < len) {
                buf = new byte[Math.max(len, buf.length * 2)];
            }
            int off = 0;
            while (off < len) {
                int n = in.read(buf, off, len - off);
                if (n < 0) {
                    throw new EOFException("connection closed by peer mid-packet");
                }
                off += n;
            }
        }

        private void write(byte[] payload, int sequence) throws IOException {
            byte[] pkt = new byte[4 + payload.length];
            pkt[0] = (byte) payload.length;
            pkt[1] = (byte) (payload.length >> 8);
            pkt[2] = (byte) (payload.length >> 16);
            pkt[3] = (byte) sequence;
            System.arraycopy(payload, 0, pkt, 4, payload.length);
            out.write(pkt);
            out.flush();
            seq = sequence;
        }

        private static int int4(byte[] b, int i, int v) {
            b[i] = (byte) v;
            b[i + 1] = (byte) (v >> 8);
            b[i + 2] = (byte) (v >> 16);
            b[i + 3] = (byte) (v >> 24);
            return i + 4;
        }
    }

    /** SHA1(password) XOR SHA1(nonce + SHA1(SHA1(password))). */
    static byte[] nativeScramble(String password, byte[] nonce) {
        if (password.isEmpty()) {
            return new byte[0];
        }
        try {
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            byte[] stage1 = sha1.digest(password.getBytes(StandardCharsets.UTF_8));
            byte[] stage2 = sha1.digest(stage1);
            sha1.update(nonce, 0, 20);
            sha1.update(stage2);
            byte[] x = sha1.digest();
            for (int i = 0; i < x.length; i++) {
                x[i] ^= stage1[i];
            }
            return x;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------ counting

    /** Error counts by code: server codes, -1 protocol surprise, -2 I/O error or timeout. */
    static final class Errors {
        final Map<Integer, AtomicLong> byCode = new ConcurrentHashMap<>();
        final AtomicReference<String> firstIo = new AtomicReference<>();
        final Map<Integer, String> sample = new ConcurrentHashMap<>();

        void add(Exception e) {
            int code = e instanceof ServerError se ? se.code : -2;
            byCode.computeIfAbsent(code, k -> new AtomicLong()).incrementAndGet();
            sample.putIfAbsent(code, String.valueOf(e.getMessage()));
        }

        long total() {
            return byCode.values().stream().mapToLong(AtomicLong::get).sum();
        }

        String json() {
            StringBuilder sb = new StringBuilder("{");
            new TreeMap<>(byCode).forEach((k, v) -> sb.append(sb.length() > 1 ? "," : "").append('"').append(k).append("\":").append(v.get()));
            sb.append('}');
            return sb.toString();
        }

        String samplesJson() {
            StringBuilder sb = new StringBuilder("{");
            new TreeMap<>(sample).forEach((k, v) -> sb.append(sb.length() > 1 ? "," : "").append('"').append(k).append("\":\"")
                    .append(v.replace("\\", "\\\\").replace("\"", "'")).append('"'));
            sb.append('}');
            return sb.toString();
        }
    }

    /** Log-scale latency histogram (2% buckets from 1 us); one per thread, merged at the end. */
    static final class Histogram {
        static final double BASE = Math.log(1.02);
        final long[] counts = new long[1200];

        void record(long nanos) {
            double us = Math.max(1.0, nanos / 1000.0);
            int i = (int) (Math.log(us) / BASE);
            counts[Math.min(i, counts.length - 1)]++;
        }

        void merge(Histogram o) {
            for (int i = 0; i < counts.length; i++) {
                counts[i] += o.counts[i];
            }
        }

        /** One histogram of every thread's. */
        static Histogram merged(Histogram[] hs) {
            Histogram all = new Histogram();
            for (Histogram h : hs) {
                all.merge(h);
            }
            return all;
        }

        double percentileMs(double p) {
            long total = Arrays.stream(counts).sum();
            if (total == 0) {
                return 0;
            }
            long want = (long) Math.ceil(total * p);
            long seen = 0;
            for (int i = 0; i < counts.length; i++) {
                seen += counts[i];
                if (seen >= want) {
                    return Math.exp((i + 1) * BASE) / 1000.0;
                }
            }
            return Math.exp(counts.length * BASE) / 1000.0;
        }
    }

    static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String pointSelect(int tables, int tableSize) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return "SELECT c FROM sbtest.sbtest" + (1 + r.nextInt(tables)) + " WHERE id=" + (1 + r.nextInt(tableSize));
    }

    // ------------------------------------------------------------------ modes

    public static void main(String[] a) throws Exception {
        if (a.length < 5) {
            System.err.println("usage: LoadClient storm|churn|idle|probe HOST PORT USER PASS [THREADS SECONDS TABLES TABLE_SIZE]");
            System.exit(2);
        }
        String host = a[1];
        int port = Integer.parseInt(a[2]);
        String user = a[3];
        String pass = a[4];
        switch (a[0]) {
            case "storm" -> storm(host, port, user, pass, Integer.parseInt(a[5]), Integer.parseInt(a[6]),
                    Integer.parseInt(a[7]), Integer.parseInt(a[8]));
            case "churn" -> churn(host, port, user, pass, Integer.parseInt(a[5]), Integer.parseInt(a[6]),
                    Integer.parseInt(a[7]), Integer.parseInt(a[8]));
            case "idle" -> idle(host, port, user, pass, a.length > 6 ? Integer.parseInt(a[5]) : 1,
                    a.length > 6 ? Integer.parseInt(a[6]) : 1);
            case "probe" -> probe(host, port, user, pass);
            default -> {
                System.err.println("unknown mode " + a[0]);
                System.exit(2);
            }
        }
        System.exit(0);
    }

    static void storm(String host, int port, String user, String pass, int threads, int seconds, int tables, int size)
            throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        AtomicLong transactions = new AtomicLong();
        AtomicLong connects = new AtomicLong();
        AtomicLong maxConnected = new AtomicLong();
        AtomicLong connected = new AtomicLong();
        Errors connectErrors = new Errors();
        Errors txErrors = new Errors();
        Histogram[] hs = new Histogram[threads];
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Histogram h = hs[t] = new Histogram();
            Thread th = new Thread(() -> {
                Conn c = null;
                while (System.nanoTime() < deadline) {
                    if (c == null) {
                        try {
                            c = Conn.open(host, port, user, pass);
                            connects.incrementAndGet();
                            maxConnected.accumulateAndGet(connected.incrementAndGet(), Math::max);
                        } catch (Exception e) {
                            if (System.nanoTime() < deadline) {
                                connectErrors.add(e);
                                sleepMs(100);
                            }
                            continue;
                        }
                    }
                    long start = System.nanoTime();
                    try {
                        c.query("BEGIN");
                        for (int i = 0; i < 10; i++) {
                            c.query(pointSelect(tables, size));
                        }
                        c.query("COMMIT");
                        if (System.nanoTime() <= deadline + 1_000_000_000L) {
                            transactions.incrementAndGet();
                            h.record(System.nanoTime() - start);
                        }
                    } catch (Exception e) {
                        txErrors.add(e);
                        c.close();
                        c = null;
                        connected.decrementAndGet();
                        sleepMs(100);
                    }
                }
                if (c != null) {
                    try {
                        c.quit();
                    } catch (IOException ignored) {
                        // leaving anyway
                    }
                    c.close();
                }
            }, "storm-" + t);
            th.setDaemon(true);
            ts.add(th);
        }
        double elapsed = runAll(ts, deadline);
        Histogram all = Histogram.merged(hs);
        System.out.printf("{\"threads\":%d,\"seconds\":%.2f,\"transactions\":%d,\"tps\":%.1f,\"connects\":%d,"
                        + "\"max_connected\":%d,\"connect_errors\":%s,\"tx_errors\":%s,\"errors\":%d,\"p95_ms\":%.3f,"
                        + "\"p99_ms\":%.3f,\"error_samples\":%s}%n",
                threads, elapsed, transactions.get(), transactions.get() / (double) seconds, connects.get(),
                maxConnected.get(), connectErrors.json(), txErrors.json(), connectErrors.total() + txErrors.total(),
                all.percentileMs(0.95), all.percentileMs(0.99), mergeSamples(connectErrors, txErrors));
    }

    /** Starts the threads, waits for them (up to 40 s past the deadline), returns the seconds elapsed. */
    static double runAll(List<Thread> ts, long deadline) throws InterruptedException {
        long t0 = System.nanoTime();
        for (Thread th : ts) {
            th.start();
        }
        for (Thread th : ts) {
            th.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000 + 40_000));
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    static String mergeSamples(Errors a, Errors b) {
        Errors m = new Errors();
        m.sample.putAll(b.sample);
        m.sample.putAll(a.sample);
        return m.samplesJson();
    }

    static void churn(String host, int port, String user, String pass, int threads, int seconds, int tables, int size)
            throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        AtomicLong done = new AtomicLong();
        Errors errors = new Errors();
        Histogram[] hs = new Histogram[threads];
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Histogram h = hs[t] = new Histogram();
            Thread th = new Thread(() -> {
                while (System.nanoTime() < deadline) {
                    long start = System.nanoTime();
                    try (Conn c = Conn.open(host, port, user, pass)) {
                        c.query(pointSelect(tables, size));
                        c.quit();
                        if (System.nanoTime() <= deadline + 1_000_000_000L) {
                            done.incrementAndGet();
                            h.record(System.nanoTime() - start);
                        }
                    } catch (Exception e) {
                        if (System.nanoTime() < deadline) {
                            errors.add(e);
                            sleepMs(50);
                        }
                    }
                }
            }, "churn-" + t);
            th.setDaemon(true);
            ts.add(th);
        }
        double elapsed = runAll(ts, deadline);
        Histogram all = Histogram.merged(hs);
        System.out.printf("{\"threads\":%d,\"seconds\":%.2f,\"connections\":%d,\"per_sec\":%.1f,\"errors\":%d,"
                        + "\"by_code\":%s,\"p95_ms\":%.3f,\"p99_ms\":%.3f,\"error_samples\":%s}%n",
                threads, elapsed, done.get(), done.get() / (double) seconds, errors.total(), errors.json(),
                all.percentileMs(0.95), all.percentileMs(0.99), errors.samplesJson());
    }

    static void idle(String host, int port, String user, String pass, int tables, int tableSize) throws Exception {
        List<Conn> open = new ArrayList<>();
        Errors errors = new Errors();
        Thread watchdog = new Thread(() -> {
            sleepMs(15 * 60 * 1000L);
            System.err.println("idle: 15 minute limit reached, exiting");
            System.exit(3);
        }, "watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = stdin.readLine()) != null) {
            String[] w = line.trim().split("\\s+");
            if (w[0].equals("open")) {
                int n = Integer.parseInt(w[1]);
                long t0 = System.nanoTime();
                int workers = 8;
                List<List<Conn>> got = new ArrayList<>();
                List<Thread> ts = new ArrayList<>();
                for (int k = 0; k < workers; k++) {
                    List<Conn> mine = new ArrayList<>();
                    got.add(mine);
                    int count = n / workers + (k < n % workers ? 1 : 0);
                    Thread th = new Thread(() -> {
                        for (int i = 0; i < count; i++) {
                            try {
                                mine.add(Conn.open(host, port, user, pass));
                            } catch (Exception e) {
                                errors.add(e);
                            }
                        }
                    });
                    ts.add(th);
                    th.start();
                }
                for (Thread th : ts) {
                    th.join();
                }
                for (List<Conn> l : got) {
                    open.addAll(l);
                }
                System.out.printf("opened %d failed %d ms %d errors %s%n", open.size(), errors.total(),
                        (System.nanoTime() - t0) / 1_000_000, errors.json());
                System.out.flush();
            } else if (w[0].equals("work")) {
                work(open, Integer.parseInt(w[1]), Integer.parseInt(w[2]), tables, tableSize);
            } else if (w[0].equals("quit")) {
                break;
            }
        }
        for (Conn c : open) {
            c.close();
        }
    }

    /**
     * Mostly idle clients at work: 8 threads, each owning every 8th open client, run point selects
     * on clients picked at random at {@code qps} in total for {@code seconds}; a client that fails
     * is dropped from the rotation (its error counted).
     */
    static void work(List<Conn> open, int seconds, int qps, int tables, int tableSize) throws InterruptedException {
        int workers = 8;
        Errors errors = new Errors();
        Histogram[] hs = new Histogram[workers];
        AtomicLong done = new AtomicLong();
        java.util.Set<Conn> used = ConcurrentHashMap.newKeySet();
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        long intervalNanos = 1_000_000_000L * workers / Math.max(1, qps);
        List<Thread> ts = new ArrayList<>();
        for (int k = 0; k < workers; k++) {
            List<Conn> mine = new ArrayList<>();
            for (int i = k; i < open.size(); i += workers) {
                mine.add(open.get(i));
            }
            Histogram h = hs[k] = new Histogram();
            Thread t = new Thread(() -> {
                long next = System.nanoTime();
                ThreadLocalRandom r = ThreadLocalRandom.current();
                while (!mine.isEmpty() && System.nanoTime() < end) {
                    long wait = next - System.nanoTime();
                    if (wait > 0) {
                        sleepMs(wait / 1_000_000);
                    }
                    next += intervalNanos;
                    Conn c = mine.get(r.nextInt(mine.size()));
                    long t0 = System.nanoTime();
                    try {
                        c.query(pointSelect(tables, tableSize));
                        h.record(System.nanoTime() - t0);
                        done.incrementAndGet();
                        used.add(c);
                    } catch (Exception e) {
                        errors.add(e);
                        mine.remove(c);
                    }
                }
            });
            ts.add(t);
            t.start();
        }
        for (Thread t : ts) {
            t.join();
        }
        Histogram all = Histogram.merged(hs);
        System.out.printf("{\"seconds\":%d,\"queries\":%d,\"per_sec\":%.1f,\"clients_used\":%d,\"errors\":%d,\"by_code\":%s,"
                        + "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"error_samples\":%s}%n", seconds, done.get(), done.get() / (double) seconds,
                used.size(), errors.total(), errors.json(), all.percentileMs(0.5), all.percentileMs(0.99), errors.samplesJson());
        System.out.flush();
    }

    static void probe(String host, int port, String user, String pass) {
        List<Conn> cs = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                cs.add(Conn.open(host, port, user, pass));
            }
            for (int round = 0; round < 3; round++) {
                for (Conn c : cs) {
                    c.query("SELECT 1");
                }
            }
            cs.get(0).query("BEGIN");
            cs.get(0).query("SELECT 1");
            for (int round = 0; round < 3; round++) {
                for (int i = 1; i < 4; i++) {
                    cs.get(i).query("SELECT 1");
                }
            }
            cs.get(0).query("COMMIT");
            System.out.println("{\"transaction_pooling\":true}");
        } catch (Exception e) {
            System.out.println("{\"transaction_pooling\":false,\"error\":\"" + String.valueOf(e.getMessage()).replace("\"", "'") + "\"}");
        } finally {
            for (Conn c : cs) {
                c.close();
            }
        }
    }
}
