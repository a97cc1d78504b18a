package io.sluice.proxy.backend;

import io.sluice.proxy.protocol.ErrPacket;

/**
 * A backend connection could not be opened, logged in or used. {@link #serverError()} holds the
 * server's ERR when the server said why (e.g. 1045, 1040, 1203), else null.
 */
public final class BackendException extends RuntimeException {
    private final transient ErrPacket serverError;

    public BackendException(String message) {
        super(message, null, false, false);
        this.serverError = null;
    }

    public BackendException(String message, ErrPacket serverError) {
        super(message, null, false, false);
        this.serverError = serverError;
    }

    public BackendException(String message, Throwable cause) {
        super(message, cause, false, false);
        this.serverError = null;
    }

    public ErrPacket serverError() {
        return serverError;
    }

    /** True when the server refused for lack of connection slots (1040 Too many connections, 1203 user limit). */
    public boolean isServerFull() {
        return serverError != null && (serverError.code() == 1040 || serverError.code() == 1203);
    }
}
