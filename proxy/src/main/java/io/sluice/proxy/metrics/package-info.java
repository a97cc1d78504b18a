/**
 * Every meter name, in one class. Hot paths only increment pre-registered meters; gauges pull
 * snapshots. Thread-safe, any thread. Must not import other Sluice packages except for snapshot types.
 */
package io.sluice.proxy.metrics;
