/**
 * The admin HTTP endpoint: routes, JSON views of snapshots, Prometheus metrics. Runs on its own
 * event loop; reads proxy state only through snapshots and thread-safe getters. Depends on proxy
 * and config; nothing depends on it but the launcher.
 */
package io.sluice.admin;
