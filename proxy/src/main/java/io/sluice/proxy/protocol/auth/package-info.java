/**
 * MySQL authentication math: nonces, mysql_native_password and caching_sha2_password scrambles and
 * checks, SHA-256 crypt of mysql.user hashes, RSA password exchange, PEM keys. Pure functions over
 * byte arrays for {@code frontend} (Sluice as server) and {@code backend} (Sluice as client).
 * Stateless and thread-safe, any thread; a crypt check costs ~1 ms, so bursts belong off event loops.
 * Imports only the JDK: no Netty, no I/O.
 */
package io.sluice.proxy.protocol.auth;
