/**
 * The MySQL wire format only: framing, packet readers and writers, capability and status flags,
 * command types, where a response ends ({@code ResponseTracker}) and an OK packet decoded once into
 * a reused value ({@code OkPacket}). Pure functions and single-thread value objects, owned by the
 * loop that reads the connection; no Netty channels, no Sluice policy. Must not import other Sluice
 * packages.
 */
package io.sluice.proxy.protocol;
