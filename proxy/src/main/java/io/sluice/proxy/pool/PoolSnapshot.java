package io.sluice.proxy.pool;

/**
 * One pool's state at an instant, for the admin endpoint and error messages.
 *
 * @param name    the backend user the pool logs in as
 * @param oldestWaitMillis how long the oldest waiting request has waited
 * @param connectFailuresInARow failed opens since the last successful one (0: the last open worked)
 * @param lastConnectFailureMillis wall-clock time of the last failed open, 0 = never
 */
public record PoolSnapshot(String name, int max, int busy, int idle, int opening, int waiting, long oldestWaitMillis,
                           long acquires, long timeouts, long queueFull, long unavailable, long connects,
                           long connectFailures, String lastConnectError, int connectFailuresInARow,
                           long lastConnectFailureMillis) {
}
