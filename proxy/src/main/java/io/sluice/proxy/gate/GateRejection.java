package io.sluice.proxy.gate;

import io.sluice.proxy.SluiceError;
import io.sluice.proxy.SluiceException;

/**
 * A request the gate could not serve: the pool stayed full for the whole acquire timeout, the queue
 * was full, or the server could not be reached. The message names the pool, its usage, the queue,
 * how long this request waited and the config key to change; it is what the client reads.
 */
public final class GateRejection extends SluiceException {
    public GateRejection(SluiceError error, String message) {
        super(error, message);
    }
}
