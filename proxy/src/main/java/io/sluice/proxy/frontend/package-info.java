/**
 * The client side: the pipeline ({@code FrontendInitializer}), the handshake, TLS, authentication
 * (Sluice checks passwords itself, against sluice.users or, with sluice.auth.source = server, the
 * server's own accounts read by {@code ServerAccounts}: the lookup's query and row in
 * {@code AccountRows}, host patterns in {@code HostPattern}), connection limits and login/idle
 * timeouts; then command-phase packets go to the client's {@code ClientSession}. What it needs from the running proxy comes in
 * one {@code FrontendContext}, built by {@code ProxyServer}. Runs on the client's event loop (the
 * context is shared and thread-safe). Must not import {@code ProxyServer}, admin or pool internals.
 */
package io.sluice.proxy.frontend;
