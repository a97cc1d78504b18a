package io.sluice.proxy;

import io.sluice.proxy.protocol.Capabilities;
import io.sluice.proxy.protocol.auth.NativePassword;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A deliberately simple blocking MySQL client for tests that need exact control over the bytes:
 * malformed packets, wrong sequence ids, commands JDBC drivers never send, or an ERR that a JDBC
 * driver would swallow. Not a client library. Shared with other modules' tests (proxy's test-jar).
 */
public final class RawClient implements AutoCloseable {
    public static final int CAPS = Capabilities.CLIENT_LONG_PASSWORD | Capabilities.CLIENT_PROTOCOL_41
            | Capabilities.CLIENT_SECURE_CONNECTION | Capabilities.CLIENT_PLUGIN_AUTH | Capabilities.CLIENT_TRANSACTIONS
            | Capabilities.CLIENT_MULTI_RESULTS | Capabilities.CLIENT_DEPRECATE_EOF;

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    public int lastSeq;
    byte[] nonce;
    public long connectionId;
    /** Sent as the program_name connect attribute when set (CLIENT_CONNECT_ATTRS). */
    private String programName;

    private final int caps;

    public RawClient(int port) throws IOException {
        this(port, CAPS);
    }

    /** A client that negotiates {@code caps} (plus CLIENT_CONNECT_WITH_DB when logging in with a schema). */
    public RawClient(int port, int caps) throws IOException {
        this.caps = caps;
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(10_000);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    /** Reads the server greeting and keeps its nonce and connection id. */
    public byte[] readHandshake() throws IOException {
        byte[] p = read();
        int i = 1;
        while (p[i] != 0) {
            i++;
        }
        i++;
        connectionId = (p[i] & 0xffL) | (p[i + 1] & 0xffL) << 8 | (p[i + 2] & 0xffL) << 16 | (p[i + 3] & 0xffL) << 24;
        i += 4;
        byte[] n = new byte[20];
        System.arraycopy(p, i, n, 0, 8);
        int part2 = i + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10;
        System.arraycopy(p, part2, n, 8, 12);
        nonce = n;
        return p;
    }

    /** Logs in with mysql_native_password, sending {@code programName} as a connect attribute. */
    public byte[] login(String user, String password, String db, String programName) throws IOException {
        this.programName = programName;
        return login(user, password, db);
    }

    /** Logs in with mysql_native_password; returns the server's reply payload (OK or ERR). */
    public byte[] login(String user, String password, String db) throws IOException {
        readHandshake();
        int caps = this.caps | (db == null ? 0 : Capabilities.CLIENT_CONNECT_WITH_DB)
                | (programName == null ? 0 : Capabilities.CLIENT_CONNECT_ATTRS);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        le(b, caps, 4);
        le(b, 1 << 24, 4);
        b.write(45);
        b.write(new byte[23]);
        b.write(user.getBytes(StandardCharsets.UTF_8));
        b.write(0);
        byte[] auth = NativePassword.scramble(password.getBytes(StandardCharsets.UTF_8), nonce);
        b.write(auth.length);
        b.write(auth);
        if (db != null) {
            b.write(db.getBytes(StandardCharsets.UTF_8));
            b.write(0);
        }
        b.write("mysql_native_password".getBytes(StandardCharsets.US_ASCII));
        b.write(0);
        if (programName != null) {
            byte[] key = "program_name".getBytes(StandardCharsets.UTF_8);
            byte[] value = programName.getBytes(StandardCharsets.UTF_8);
            b.write(2 + key.length + value.length); // short attributes: one-byte lengths
            b.write(key.length);
            b.write(key);
            b.write(value.length);
            b.write(value);
        }
        send(1, b.toByteArray());
        return read();
    }

    /** Sends {@code sql} as COM_QUERY and returns the answer, which must be one OK or ERR packet. */
    public byte[] execute(String sql) throws IOException {
        query(sql);
        byte[] reply = read();
        if (!isOk(reply) && !isErr(reply)) {
            throw new IOException("expected OK or ERR for " + sql + ", got a result set");
        }
        return reply;
    }

    /** Sends one packet with the given sequence id. */
    public void send(int seq, byte[] payload) throws IOException {
        writePacket(out, seq, payload);
    }

    /** Writes one packet (header with {@code seq}, then {@code payload}) to any stream, e.g. one over TLS. */
    static void writePacket(OutputStream out, int seq, byte[] payload) throws IOException {
        byte[] frame = new byte[4 + payload.length];
        frame[0] = (byte) payload.length;
        frame[1] = (byte) (payload.length >> 8);
        frame[2] = (byte) (payload.length >> 16);
        frame[3] = (byte) seq;
        System.arraycopy(payload, 0, frame, 4, payload.length);
        out.write(frame);
        out.flush();
    }

    public void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** A command packet (sequence id 0). */
    public void command(int cmd, byte[] arg) throws IOException {
        byte[] p = new byte[1 + arg.length];
        p[0] = (byte) cmd;
        System.arraycopy(arg, 0, p, 1, arg.length);
        send(0, p);
    }

    public void query(String sql) throws IOException {
        command(0x03, sql.getBytes(StandardCharsets.UTF_8));
    }

    /** Reads one packet's payload; throws EOFException when the peer closed. */
    public byte[] read() throws IOException {
        int len = in.readUnsignedByte() | in.readUnsignedByte() << 8 | in.readUnsignedByte() << 16;
        lastSeq = in.readUnsignedByte();
        return readPayload(in, len);
    }

    /** Reads one packet's payload from any stream, e.g. one over TLS; its sequence id is dropped. */
    static byte[] readPacket(DataInputStream in) throws IOException {
        int len = in.readUnsignedByte() | in.readUnsignedByte() << 8 | in.readUnsignedByte() << 16;
        in.readUnsignedByte();
        return readPayload(in, len);
    }

    private static byte[] readPayload(DataInputStream in, int len) throws IOException {
        byte[] p = new byte[len];
        in.readFully(p);
        return p;
    }

    /** Reads one whole text-protocol response (CLIENT_DEPRECATE_EOF on); returns its last packet. */
    public byte[] readResponse() throws IOException {
        byte[] first = read();
        if (isOk(first) || isErr(first)) {
            return first;
        }
        int columns = first[0] & 0xff;
        for (int i = 0; i < columns; i++) {
            read();
        }
        while (true) {
            byte[] p = read();
            if (isErr(p) || (p[0] & 0xff) == 0xfe && p.length < 0xffffff) {
                return p;
            }
        }
    }

    /** Reads packets until the peer closes; true if it closed within the socket timeout. */
    public boolean closedByPeer() throws IOException {
        try {
            while (true) {
                read();
            }
        } catch (EOFException | java.net.SocketException e) {
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        }
    }

    public void timeout(int millis) throws IOException {
        socket.setSoTimeout(millis);
    }

    public static boolean isOk(byte[] p) {
        return p.length > 0 && p[0] == 0;
    }

    public static boolean isErr(byte[] p) {
        return p.length > 0 && (p[0] & 0xff) == 0xff;
    }

    public static int errCode(byte[] p) {
        return (p[1] & 0xff) | (p[2] & 0xff) << 8;
    }

    public static String sqlState(byte[] p) {
        return p.length > 3 && p[3] == '#' ? new String(p, 4, 5, StandardCharsets.US_ASCII) : "";
    }

    public static String errMessage(byte[] p) {
        int start = p.length > 3 && p[3] == '#' ? 9 : 3;
        return new String(Arrays.copyOfRange(p, start, p.length), StandardCharsets.UTF_8);
    }

    private static void le(ByteArrayOutputStream b, long v, int n) {
        for (int i = 0; i < n; i++) {
            b.write((int) (v >> (8 * i)));
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
