/**
 * Connections to the server: connect and log in (TLS, auth plugins); {@code BackendConnection}
 * (channel, write, close), whose single current listener (a linked session, or Sluice's own
 * command) receives every server packet; {@code ServerState}, the server-side state it carries
 * (schema, variables, user variables, prepared statements, last insert id), changed only through
 * its own methods; and {@code BackendSteps}, the one runner of Sluice's own commands on a backend
 * (reset, SET, INIT_DB, re-prepare) with one stale check. Runs on the event loop of the session it
 * serves (the pool's executor while idle). Must not import pool, session or frontend.
 */
package io.sluice.proxy.backend;
