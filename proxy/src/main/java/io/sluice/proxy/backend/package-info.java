/**
 * Connections to the server: connect and log in (TLS, auth plugins), and {@code BackendConnection}
 * (channel, write, close, and the server-side state it carries: variables, schema, user variables,
 * prepared statements, last insert id), whose single current listener (a linked session, or
 * Sluice's own command) receives every server packet. Runs on the event loop of the session it
 * serves (the pool's executor while idle). Must not import pool, session or frontend.
 */
package io.sluice.proxy.backend;
