/**
 * The admin HTTP endpoint: the route table ({@code AdminServer}), JSON views of snapshots
 * ({@code Views}), named actions (pause, resume, kill, reload) and the graceful drain ({@code Drain}),
 * Prometheus metrics and the dashboard page. Runs on its own event loop; reads proxy state only
 * through snapshots and thread-safe getters. Depends on proxy and config; only the launcher depends on it.
 */
package io.sluice.admin;
