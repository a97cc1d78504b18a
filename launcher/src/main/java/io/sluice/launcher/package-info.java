/**
 * The {@code sluice} command: parses flags, loads config, wires proxy and admin, handles SIGTERM;
 * its subcommands ({@code doctor}, {@code demo}); and the small probes the container image and the
 * Kubernetes example run from the jar ({@link io.sluice.launcher.HealthCheck},
 * {@link io.sluice.launcher.AwaitNoClients}), which use only the JDK and Jackson to start fast.
 * Top of the dependency chain; nothing imports it. Runs on the main thread, plus the demo's clients.
 */
package io.sluice.launcher;
