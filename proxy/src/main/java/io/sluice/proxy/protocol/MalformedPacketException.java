package io.sluice.proxy.protocol;

/** A packet that does not follow the protocol; the message says what was wrong. */
public final class MalformedPacketException extends RuntimeException {
    public MalformedPacketException(String message) {
        super(message, null, false, false);
    }
}
