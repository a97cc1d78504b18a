package io.sluice.proxy.protocol;

/**
 * Capability flags (the spec's {@code CLIENT_*} constants) and questions about one negotiated set.
 * A value is immutable; {@link #bits()} is the raw 32-bit mask as sent on the wire.
 */
public record Capabilities(int bits) {
    public static final int CLIENT_LONG_PASSWORD = 1;
    public static final int CLIENT_FOUND_ROWS = 1 << 1;
    public static final int CLIENT_LONG_FLAG = 1 << 2;
    public static final int CLIENT_CONNECT_WITH_DB = 1 << 3;
    public static final int CLIENT_NO_SCHEMA = 1 << 4;
    public static final int CLIENT_COMPRESS = 1 << 5;
    public static final int CLIENT_ODBC = 1 << 6;
    public static final int CLIENT_LOCAL_FILES = 1 << 7;
    public static final int CLIENT_IGNORE_SPACE = 1 << 8;
    public static final int CLIENT_PROTOCOL_41 = 1 << 9;
    public static final int CLIENT_INTERACTIVE = 1 << 10;
    public static final int CLIENT_SSL = 1 << 11;
    public static final int CLIENT_IGNORE_SIGPIPE = 1 << 12;
    public static final int CLIENT_TRANSACTIONS = 1 << 13;
    public static final int CLIENT_RESERVED = 1 << 14;
    public static final int CLIENT_SECURE_CONNECTION = 1 << 15;
    public static final int CLIENT_MULTI_STATEMENTS = 1 << 16;
    public static final int CLIENT_MULTI_RESULTS = 1 << 17;
    public static final int CLIENT_PS_MULTI_RESULTS = 1 << 18;
    public static final int CLIENT_PLUGIN_AUTH = 1 << 19;
    public static final int CLIENT_CONNECT_ATTRS = 1 << 20;
    public static final int CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 1 << 21;
    public static final int CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS = 1 << 22;
    public static final int CLIENT_SESSION_TRACK = 1 << 23;
    public static final int CLIENT_DEPRECATE_EOF = 1 << 24;
    public static final int CLIENT_OPTIONAL_RESULTSET_METADATA = 1 << 25;
    public static final int CLIENT_ZSTD_COMPRESSION_ALGORITHM = 1 << 26;
    public static final int CLIENT_QUERY_ATTRIBUTES = 1 << 27;

    /**
     * What Sluice can offer a client. Deliberately absent: compression, query attributes and
     * optional result-set metadata (they change packet formats Sluice reads), and MariaDB's extended
     * capabilities (Sluice always sets CLIENT_LONG_PASSWORD, which MariaDB reads as "a MySQL peer").
     */
    public static final int SUPPORTED = CLIENT_LONG_PASSWORD | CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG
            | CLIENT_CONNECT_WITH_DB | CLIENT_NO_SCHEMA | CLIENT_LOCAL_FILES | CLIENT_IGNORE_SPACE
            | CLIENT_PROTOCOL_41 | CLIENT_INTERACTIVE | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION
            | CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS | CLIENT_PLUGIN_AUTH
            | CLIENT_CONNECT_ATTRS | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_SESSION_TRACK
            | CLIENT_DEPRECATE_EOF | CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS;

    /**
     * Flags that change what the server sends or accepts after login. A backend connection is only
     * handed to a client that negotiated the same value of each (see {@code pool.BackendKey}).
     */
    public static final int SERVER_VISIBLE = CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG | CLIENT_NO_SCHEMA
            | CLIENT_LOCAL_FILES | CLIENT_IGNORE_SPACE | CLIENT_INTERACTIVE | CLIENT_MULTI_STATEMENTS
            | CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS | CLIENT_SESSION_TRACK | CLIENT_DEPRECATE_EOF;

    public boolean has(int flag) {
        return (bits & flag) != 0;
    }

    public boolean isEofDeprecated() {
        return has(CLIENT_DEPRECATE_EOF);
    }

    public boolean isSessionTracked() {
        return has(CLIENT_SESSION_TRACK);
    }

    public boolean isProtocol41() {
        return has(CLIENT_PROTOCOL_41);
    }

    public Capabilities with(int flags) {
        return new Capabilities(bits | flags);
    }

    public Capabilities without(int flags) {
        return new Capabilities(bits & ~flags);
    }

    public Capabilities and(int mask) {
        return new Capabilities(bits & mask);
    }

    @Override
    public String toString() {
        return "Capabilities[0x" + Integer.toHexString(bits) + "]";
    }
}
