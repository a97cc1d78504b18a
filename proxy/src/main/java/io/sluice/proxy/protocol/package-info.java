/**
 * The MySQL wire format only: framing, packet readers and writers, capability and status flags,
 * command types, and where a response ends. Pure functions and single-thread value objects; no
 * Netty channels, no Sluice policy. Must not import other Sluice packages.
 */
package io.sluice.proxy.protocol;
