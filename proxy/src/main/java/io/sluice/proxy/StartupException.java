package io.sluice.proxy;

/**
 * Sluice cannot start as configured on this machine: a transport the kernel refuses, a listening
 * port that is taken, key or certificate files it cannot use. The message names the setting and
 * the reason; the launcher prints it and exits with code 2 instead of a stack trace.
 */
public final class StartupException extends RuntimeException {
    public StartupException(String message, Throwable cause) {
        super(message, cause);
    }
}
