/**
 * The client side: the pipeline, the handshake, TLS, authentication (Sluice checks passwords
 * itself), connection limits and timeouts. Runs on the client's event loop; hands command-phase
 * packets to its {@code ClientSession}.
 */
package io.sluice.proxy.frontend;
