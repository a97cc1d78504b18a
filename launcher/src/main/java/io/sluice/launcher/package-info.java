/**
 * The {@code sluice} command: parses flags, loads config, wires proxy and admin, handles SIGTERM.
 * Top of the dependency chain; nothing imports it.
 */
package io.sluice.launcher;
