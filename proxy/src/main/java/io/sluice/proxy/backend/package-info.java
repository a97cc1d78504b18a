/**
 * Connections to the server: connect and log in (TLS, auth plugins), and {@code BackendConnection},
 * whose single current listener (a linked session, or Sluice's own command) receives every server
 * packet. Runs on the backend's event loop. Must not import pool, session or frontend.
 */
package io.sluice.proxy.backend;
