package io.sluice.proxy.protocol;

/** A failure that reaches the client as an ERR packet with a {@link SluiceError} code and this message. */
public class SluiceException extends RuntimeException {
    private final SluiceError error;

    public SluiceException(SluiceError error, String message) {
        super(message, null, false, false);
        this.error = error;
    }

    public SluiceError error() {
        return error;
    }
}
