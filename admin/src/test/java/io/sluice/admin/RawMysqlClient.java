package io.sluice.admin;

import io.sluice.proxy.protocol.Capabilities;
import io.sluice.proxy.protocol.auth.NativePassword;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A minimal blocking MySQL client for what JDBC drivers hide: the packet Sluice sends to an idle
 * client before closing it (Connector/J discards unread input before its next command, so it only
 * ever reports a lost connection). Logs in with mysql_native_password and connect attributes, sends
 * statements that answer OK or ERR, reads single packets. A test tool, not a client library (the
 * proxy module's tests have a fuller one).
 */
final class RawMysqlClient implements AutoCloseable {
    private static final int CAPS = Capabilities.CLIENT_LONG_PASSWORD | Capabilities.CLIENT_PROTOCOL_41
            | Capabilities.CLIENT_SECURE_CONNECTION | Capabilities.CLIENT_PLUGIN_AUTH | Capabilities.CLIENT_TRANSACTIONS
            | Capabilities.CLIENT_MULTI_RESULTS | Capabilities.CLIENT_DEPRECATE_EOF | Capabilities.CLIENT_CONNECT_ATTRS;

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    /** Sequence id of the last packet read. */
    int lastSeq;

    private RawMysqlClient(int port) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(15_000);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    /** Connects to 127.0.0.1:{@code port} and logs in; fails unless the answer is OK. */
    static RawMysqlClient login(int port, String user, String password, String programName) throws IOException {
        RawMysqlClient c = new RawMysqlClient(port);
        try {
            byte[] reply = c.authenticate(user, password, programName);
            if (!isOk(reply)) {
                throw new IOException("login refused: " + errCode(reply) + " " + errMessage(reply));
            }
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    private byte[] authenticate(String user, String password, String programName) throws IOException {
        byte[] greeting = read();
        int i = 1;
        while (greeting[i] != 0) {
            i++; // server version
        }
        i += 1 + 4; // NUL, connection id
        byte[] nonce = new byte[20];
        System.arraycopy(greeting, i, nonce, 0, 8);
        System.arraycopy(greeting, i + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10, nonce, 8, 12);

        ByteArrayOutputStream b = new ByteArrayOutputStream();
        le(b, CAPS, 4);
        le(b, 1 << 24, 4);
        b.write(45); // utf8mb4_general_ci
        b.write(new byte[23]);
        b.write(user.getBytes(StandardCharsets.UTF_8));
        b.write(0);
        byte[] auth = NativePassword.scramble(password.getBytes(StandardCharsets.UTF_8), nonce);
        b.write(auth.length);
        b.write(auth);
        b.write("mysql_native_password".getBytes(StandardCharsets.US_ASCII));
        b.write(0);
        ByteArrayOutputStream attrs = new ByteArrayOutputStream();
        lenencString(attrs, "program_name");
        lenencString(attrs, programName);
        b.write(attrs.size()); // < 251: a one-byte length
        b.write(attrs.toByteArray());
        send(1, b.toByteArray());
        return read();
    }

    /** Sends {@code sql} as COM_QUERY and returns the answer, which must be one OK or ERR packet. */
    byte[] execute(String sql) throws IOException {
        byte[] text = sql.getBytes(StandardCharsets.UTF_8);
        byte[] p = new byte[1 + text.length];
        p[0] = 0x03;
        System.arraycopy(text, 0, p, 1, text.length);
        send(0, p);
        byte[] reply = read();
        if (!isOk(reply) && !isErr(reply)) {
            throw new IOException("expected OK or ERR for " + sql + ", got a result set");
        }
        return reply;
    }

    private void send(int seq, byte[] payload) throws IOException {
        byte[] frame = new byte[4 + payload.length];
        frame[0] = (byte) payload.length;
        frame[1] = (byte) (payload.length >> 8);
        frame[2] = (byte) (payload.length >> 16);
        frame[3] = (byte) seq;
        System.arraycopy(payload, 0, frame, 4, payload.length);
        out.write(frame);
        out.flush();
    }

    /** Reads one packet's payload; throws {@link EOFException} when the peer has closed. */
    byte[] read() throws IOException {
        int len = in.readUnsignedByte() | in.readUnsignedByte() << 8 | in.readUnsignedByte() << 16;
        lastSeq = in.readUnsignedByte();
        byte[] p = new byte[len];
        in.readFully(p);
        return p;
    }

    /** True when the peer has closed: the next read finds the end of the stream. */
    boolean closedByPeer() throws IOException {
        try {
            read();
            return false;
        } catch (EOFException | java.net.SocketException e) {
            return true;
        }
    }

    static boolean isOk(byte[] p) {
        return p.length > 0 && p[0] == 0;
    }

    static boolean isErr(byte[] p) {
        return p.length > 0 && (p[0] & 0xff) == 0xff;
    }

    static int errCode(byte[] p) {
        return (p[1] & 0xff) | (p[2] & 0xff) << 8;
    }

    /** The SQLSTATE of an ERR packet ("#" + 5 characters after the code). */
    static String sqlState(byte[] p) {
        return p.length > 3 && p[3] == '#' ? new String(p, 4, 5, StandardCharsets.US_ASCII) : "";
    }

    static String errMessage(byte[] p) {
        int start = p.length > 3 && p[3] == '#' ? 9 : 3;
        return new String(Arrays.copyOfRange(p, start, p.length), StandardCharsets.UTF_8);
    }

    private static void lenencString(ByteArrayOutputStream b, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        b.write(bytes.length); // short strings only
        b.write(bytes, 0, bytes.length);
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
