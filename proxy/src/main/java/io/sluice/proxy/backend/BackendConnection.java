package io.sluice.proxy.backend;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.proxy.protocol.Capabilities;
import io.sluice.proxy.protocol.CommandType;
import io.sluice.proxy.protocol.ErrPacket;
import io.sluice.proxy.protocol.HandshakeResponse41;
import io.sluice.proxy.protocol.HandshakeV10;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.ResponseTracker;
import io.sluice.proxy.protocol.StatementPackets;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One logged-in connection to the server. Its channel's event loop reads it; exactly one
 * {@link Listener} at a time receives what the server sends: the client session it is linked to,
 * or Sluice itself while it runs one of its own commands ({@link #execute}). With no listener the
 * connection is idle in its pool, and anything the server sends (an unsolicited packet or a close)
 * discards it.
 *
 * <p>Fields written by the pool or the linked session are published through the pool lock or the
 * volatile {@code listener}; the {@link ResponseTracker} is used only by the current listener.
 */
public final class BackendConnection {
    private static final AtomicLong IDS = new AtomicLong();

    /** Receives what the server sends on a connection. Called on the backend's event loop. */
    public interface Listener {
        /**
         * The event loop the listener runs on, or null to be called on the connection's own loop.
         * Packets for a listener on another loop are handed over once per read burst, in order,
         * followed by {@link #onBackendReadComplete}, in one task ({@code BackendHandler}).
         */
        default EventExecutor executor() {
            return null;
        }

        /** A server packet; the listener owns it (forward or release). Called on {@link #executor()}. */
        void onBackendPacket(BackendConnection backend, ByteBuf packet);

        /**
         * How many leading bytes of {@code buf[from, to)} this listener takes as one run of row
         * packets ({@link #onBackendRows}) rather than packet by packet; 0 for none (the default).
         * Asked only of a listener on the connection's own loop, right before the run is delivered.
         */
        default int rowRunBytes(BackendConnection backend, ByteBuf buf, int from, int to) {
            return 0;
        }

        /** A run of whole row packets measured by {@link #rowRunBytes}; the listener owns it. */
        default void onBackendRows(BackendConnection backend, ByteBuf rows) {
            rows.release();
            throw new UnsupportedOperationException("this listener takes no row runs");
        }

        /** The current read burst ended (flush what was forwarded). Called on {@link #executor()}. */
        default void onBackendReadComplete(BackendConnection backend) {
        }

        /** The connection closed; {@code reason} says why. Called on the connection's loop. */
        void onBackendClosed(BackendConnection backend, String reason);
    }

    /**
     * Reply to one of Sluice's own commands: null error means OK.
     *
     * @param firstRow    the column values of the first row of a text result set (null for NULL), or
     *                    null when the reply had no rows
     * @param statementId the server's id of the statement a COM_STMT_PREPARE prepared (0 otherwise)
     */
    public record Reply(ErrPacket error, int status, java.util.List<String> firstRow, int statementId) {
        public Reply(ErrPacket error, int status) {
            this(error, status, null, 0);
        }

        public boolean ok() {
            return error == null;
        }
    }

    private final long id = IDS.incrementAndGet();
    private final Channel channel;
    private final BackendKey key;
    private final String backendPassword;
    private final HandshakeV10 handshake;
    private final Capabilities capabilities;
    /** TLS or the server's Unix socket: a password may cross in clear when the server asks for it. */
    private final boolean secureTransport;
    private final long createdNanos = System.nanoTime();
    private final ResponseTracker tracker;
    private volatile Listener listener;
    private volatile String closeReason;
    /** The server-side session state this connection carries, as far as Sluice knows; owned by the current user. */
    private final ServerState state = new ServerState();
    /** Set by the pool: when this connection retires. */
    private volatile long retireAtNanos = Long.MAX_VALUE;
    /** Set by the pool (under its lock): closed to make room, still counted until gone. */
    private boolean evicting;
    /** Set by the pool: when it was last returned idle. */
    private volatile long idleSinceNanos = System.nanoTime();

    BackendConnection(Channel channel, BackendKey key, String backendPassword, HandshakeV10 handshake,
                      Capabilities capabilities, boolean secureTransport) {
        this.channel = channel;
        this.key = key;
        this.backendPassword = backendPassword;
        this.handshake = handshake;
        this.capabilities = capabilities;
        this.secureTransport = secureTransport;
        this.tracker = new ResponseTracker(capabilities);
    }

    public long id() {
        return id;
    }

    /** The server's thread id for this connection (what KILL and the processlist use). */
    public long threadId() {
        return handshake.connectionId();
    }

    public BackendKey key() {
        return key;
    }

    public Channel channel() {
        return channel;
    }

    public EventLoop loop() {
        return channel.eventLoop();
    }

    public Capabilities capabilities() {
        return capabilities;
    }

    public ResponseTracker tracker() {
        return tracker;
    }

    public long createdNanos() {
        return createdNanos;
    }

    /** The server-side session state this connection carries (schema, variables, statements, ...). */
    public ServerState state() {
        return state;
    }

    /** What multiplexed connections run after login and after a reset, so the server reports state changes. */
    static final String TRACKING_SETUP = "SET SESSION session_track_system_variables = '*', session_track_schema = ON, "
            + "session_track_state_change = ON";

    /** What a CLIENT_INTERACTIVE login does to wait_timeout, which COM_CHANGE_USER undoes. */
    static final String INTERACTIVE_WAIT_TIMEOUT = "SET SESSION wait_timeout = @@session.interactive_timeout";

    /** Turns session-state tracking on (multiplexed connections), on the backend's loop. */
    Future<Reply> enableTracking(Duration timeout) {
        return execute(Packets.query(channel.alloc(), TRACKING_SETUP), CommandType.COM_QUERY, timeout);
    }

    /**
     * The session variables a login sets to something else than their global value (what DEFAULT
     * restores): the three character sets and the collation the handshake collation selects, and
     * wait_timeout, which a CLIENT_INTERACTIVE login takes from interactive_timeout.
     */
    public static final java.util.List<String> LOGIN_VARIABLES = java.util.List.of("character_set_client",
            "character_set_connection", "character_set_results", "collation_connection", "wait_timeout");

    /**
     * Reads the login values of {@link #LOGIN_VARIABLES} ({@link ServerState#loginVariables()}), one round
     * trip per connection, on the backend's loop; the future fails (or carries the server's
     * error) when they could not be read.
     */
    Future<Reply> readLoginVariables(Duration timeout) {
        StringBuilder sql = new StringBuilder("SELECT ");
        for (int i = 0; i < LOGIN_VARIABLES.size(); i++) {
            sql.append(i == 0 ? "" : ", ").append("@@session.").append(LOGIN_VARIABLES.get(i));
        }
        Future<Reply> f = execute(Packets.query(channel.alloc(), sql.toString()), CommandType.COM_QUERY, timeout);
        f.addListener(x -> {
            Reply r = (Reply) x.getNow();
            if (x.isSuccess() && r.ok() && r.firstRow() != null && r.firstRow().size() == LOGIN_VARIABLES.size()) {
                java.util.Map<String, String> values = new java.util.HashMap<>();
                for (int i = 0; i < LOGIN_VARIABLES.size(); i++) {
                    // NULL (character_set_results) reads back as "" in session tracking; keep that spelling
                    String v = r.firstRow().get(i);
                    values.put(LOGIN_VARIABLES.get(i), v == null ? "" : v);
                }
                state.loginVariables(values);
            }
        });
        return f;
    }

    public long retireAtNanos() {
        return retireAtNanos;
    }

    public void retireAtNanos(long t) {
        this.retireAtNanos = t;
    }

    public long idleSinceNanos() {
        return idleSinceNanos;
    }

    public void idleSinceNanos(long t) {
        this.idleSinceNanos = t;
    }

    /** Pool bookkeeping only; guarded by the pool lock. */
    public void markEvicting() {
        evicting = true;
    }

    public boolean evicting() {
        return evicting;
    }

    public boolean isOpen() {
        return closeReason == null && channel.isActive();
    }

    public String closeReason() {
        return closeReason;
    }

    public Listener listener() {
        return listener;
    }

    /** Makes {@code l} the receiver of server packets; null leaves the connection idle. */
    public void listener(Listener l) {
        this.listener = l;
    }

    /** Writes a packet (ownership passes to the channel) without flushing. */
    public void write(ByteBuf packet) {
        channel.write(packet, channel.voidPromise());
    }

    public void writeAndFlush(ByteBuf packet) {
        channel.writeAndFlush(packet, channel.voidPromise());
    }

    public void flush() {
        channel.flush();
    }

    /** Closes the connection; the reason reaches the listener, the log and the close counter. */
    public void close(String reason) {
        if (closeReason == null) {
            closeReason = reason;
        }
        channel.close();
    }

    /**
     * Runs one of Sluice's own commands and consumes its reply (nothing reaches a client). The
     * connection must have no outstanding response. Completes on the backend's event loop; fails
     * with {@link BackendException} when the connection closes or {@code timeout} passes (then the
     * connection is closed, since its state is unknown).
     */
    public Future<Reply> execute(ByteBuf command, CommandType type, Duration timeout) {
        Promise<Reply> promise = loop().newPromise();
        if (loop().inEventLoop()) {
            execute0(command, type, timeout, promise);
        } else {
            loop().execute(() -> execute0(command, type, timeout, promise));
        }
        return promise;
    }

    private void execute0(ByteBuf command, CommandType type, Duration timeout, Promise<Reply> promise) {
        if (!isOpen()) {
            command.release();
            promise.tryFailure(new BackendException("backend connection " + id + " is closed: " + closeReason));
            return;
        }
        Listener previous = listener;
        ScheduledFuture<?> timer = loop().schedule(() -> {
            if (promise.tryFailure(new BackendException("server did not answer " + type + " within " + timeout.toMillis() + " ms"))) {
                close("no reply to " + type + " within " + timeout.toMillis() + " ms");
            }
        }, timeout.toNanos(), TimeUnit.NANOSECONDS);
        listener = new Listener() {
            private ErrPacket error;
            private int index;
            private long columns = -1;
            private java.util.List<String> firstRow;
            private int statementId;

            @Override
            public void onBackendPacket(BackendConnection backend, ByteBuf packet) {
                try {
                    int i = index++;
                    if (Packets.isErr(packet)) {
                        error = ErrPacket.read(packet);
                    } else if (i == 0 && type == CommandType.COM_STMT_PREPARE) {
                        statementId = StatementPackets.statementId(packet);
                    } else if (i == 0 && type == CommandType.COM_QUERY && Packets.header(packet) != Packets.OK) {
                        columns = Packets.readLenencInt(Packets.payload(packet));
                    } else if (columns > 0 && firstRow == null && i > columns + (capabilities.isEofDeprecated() ? 0 : 1)
                            && !Packets.isResultSetEnd(packet)) {
                        firstRow = textRow(packet, (int) columns);
                    }
                    int r = tracker.onServerPacket(packet);
                    if (r == ResponseTracker.DONE && tracker.idle()) {
                        timer.cancel(false);
                        listener = previous;
                        promise.trySuccess(new Reply(error, tracker.lastStatus(), firstRow, statementId));
                    }
                } catch (RuntimeException e) {
                    timer.cancel(false);
                    close("bad reply to " + type + ": " + e.getMessage());
                    promise.tryFailure(new BackendException("bad reply to " + type + ": " + e.getMessage(), e));
                } finally {
                    packet.release();
                }
            }

            @Override
            public void onBackendClosed(BackendConnection backend, String reason) {
                timer.cancel(false);
                promise.tryFailure(new BackendException("backend connection closed during " + type + ": " + reason));
            }
        };
        tracker.expect(type);
        writeAndFlush(command);
    }

    /** The values of a text-protocol row: length-encoded strings, 0xFB for NULL. */
    private static java.util.List<String> textRow(ByteBuf packet, int columns) {
        ByteBuf p = Packets.payload(packet);
        java.util.List<String> values = new java.util.ArrayList<>(columns);
        for (int c = 0; c < columns && p.isReadable(); c++) {
            if (p.getUnsignedByte(p.readerIndex()) == 0xfb) {
                p.skipBytes(1);
                values.add(null);
            } else {
                values.add(Packets.readLenencString(p));
            }
        }
        return values;
    }

    /** COM_PING. */
    public Future<Reply> ping(Duration timeout) {
        return execute(Packets.command(channel.alloc(), CommandType.COM_PING, new byte[0]), CommandType.COM_PING, timeout);
    }

    /** COM_INIT_DB; on success the connection's schema is {@code db}. */
    public Future<Reply> initDb(String db, Duration timeout) {
        return execute(Packets.command(channel.alloc(), CommandType.COM_INIT_DB, db.getBytes(StandardCharsets.UTF_8)),
                CommandType.COM_INIT_DB, timeout);
    }

    /**
     * Resets every piece of session state to what a fresh login gives (no schema, the key's
     * collation, no variables, temporary tables, locks or transaction) with COM_CHANGE_USER to the
     * same account. Chosen over COM_RESET_CONNECTION because that keeps the current schema and, on
     * some servers, the character set, so the next client could see them.
     */
    public Future<Reply> reset(Duration timeout) {
        Promise<Reply> promise = loop().newPromise();
        loop().execute(() -> reset0(timeout, promise));
        return promise;
    }

    private void reset0(Duration timeout, Promise<Reply> promise) {
        if (!isOpen()) {
            promise.tryFailure(new BackendException("backend connection " + id + " is closed: " + closeReason));
            return;
        }
        BackendAuth auth = new BackendAuth(backendPassword, handshake.nonce(), handshake.authPluginName(), secureTransport);
        ByteBuf cmd = changeUserCommand(auth);
        Listener previous = listener;
        ScheduledFuture<?> timer = loop().schedule(() -> {
            if (promise.tryFailure(new BackendException("server did not finish COM_CHANGE_USER within " + timeout.toMillis() + " ms"))) {
                close("reset timed out");
            }
        }, timeout.toNanos(), TimeUnit.NANOSECONDS);
        listener = new Listener() {
            @Override
            public void onBackendPacket(BackendConnection backend, ByteBuf packet) {
                try {
                    if (auth.onPacket(packet, channel.alloc(), BackendConnection.this::writeAndFlush) == BackendAuth.Step.SUCCESS) {
                        timer.cancel(false);
                        listener = previous;
                        state.reset();
                        tracker.clear();
                        afterReset(Packets.okStatus(packet), timeout, promise);
                    }
                } catch (BackendException e) {
                    timer.cancel(false);
                    close("reset failed: " + e.getMessage());
                    promise.tryFailure(e);
                } catch (RuntimeException e) {
                    timer.cancel(false);
                    close("reset failed: " + e);
                    promise.tryFailure(new BackendException("reset failed: " + e, e));
                } finally {
                    packet.release();
                }
            }

            @Override
            public void onBackendClosed(BackendConnection backend, String reason) {
                timer.cancel(false);
                promise.tryFailure(new BackendException("backend connection closed during reset: " + reason));
            }
        };
        writeAndFlush(cmd);
    }

    /** COM_CHANGE_USER to this connection's own account, no schema, its collation and attributes: a reset. */
    private ByteBuf changeUserCommand(BackendAuth auth) {
        ByteBuf cmd = Packets.start(channel.alloc(), 64);
        cmd.writeByte(CommandType.COM_CHANGE_USER.code());
        Packets.writeNulString(cmd, key.backendUser());
        byte[] resp = auth.initialResponse();
        cmd.writeByte(resp.length).writeBytes(resp);
        cmd.writeByte(0); // no schema
        cmd.writeShortLE(key.collation());
        Packets.writeNulString(cmd, auth.plugin());
        if (capabilities.has(Capabilities.CLIENT_CONNECT_ATTRS)) {
            HandshakeResponse41.writeAttributes(cmd, BackendConnector.CONNECT_ATTRIBUTES);
        }
        Packets.finish(cmd, 0);
        return cmd;
    }

    /**
     * The server accepted the reset: bring back what the login had set and COM_CHANGE_USER drops
     * (the interactive wait_timeout, session tracking in transaction mode), then succeed with the
     * OK's {@code status}; a failure closes the connection.
     */
    private void afterReset(int status, Duration timeout, Promise<Reply> promise) {
        Runnable finish = () -> {
            if (key.multiplexed()) {
                enableTracking(timeout).addListener(f -> {
                    if (f.isSuccess() && ((Reply) f.getNow()).ok()) {
                        promise.trySuccess(new Reply(null, status));
                    } else {
                        close("reset failed: could not re-enable session tracking");
                        promise.tryFailure(new BackendException("could not re-enable session tracking after reset"));
                    }
                });
            } else {
                promise.trySuccess(new Reply(null, status));
            }
        };
        if (!capabilities.has(Capabilities.CLIENT_INTERACTIVE)) {
            finish.run();
            return;
        }
        // A login with CLIENT_INTERACTIVE sets wait_timeout from interactive_timeout;
        // COM_CHANGE_USER gives the global wait_timeout instead: do what the login did.
        execute(Packets.query(channel.alloc(), INTERACTIVE_WAIT_TIMEOUT), CommandType.COM_QUERY, timeout).addListener(f -> {
            if (f.isSuccess() && ((Reply) f.getNow()).ok()) {
                finish.run();
            } else {
                close("reset failed: could not restore the interactive wait_timeout");
                promise.tryFailure(new BackendException("could not restore wait_timeout after reset"));
            }
        });
    }

    /**
     * Ends the connection politely (COM_QUIT) and completes when the server has closed its side, so
     * a slot freed this way is really free before the pool reuses it; closes hard after 2 s.
     */
    public Future<Void> quit(String reason) {
        if (closeReason == null) {
            closeReason = reason;
        }
        listener = null;
        if (channel.isActive()) {
            channel.writeAndFlush(Packets.command(channel.alloc(), CommandType.COM_QUIT, new byte[0]));
            ScheduledFuture<?> hard = loop().schedule(() -> channel.close(), 2, TimeUnit.SECONDS);
            channel.closeFuture().addListener(f -> hard.cancel(false));
        }
        return channel.closeFuture();
    }

    void closed(String reason) {
        if (closeReason == null) {
            closeReason = reason;
        }
        Listener l = listener;
        if (l != null) {
            l.onBackendClosed(this, closeReason);
        }
    }


    @Override
    public String toString() {
        return "backend#" + id + "(thread " + threadId() + ", " + key + ")";
    }
}
