/**
 * JMH microbenchmarks of Sluice's forwarding hot path: frame slicing, response tracking and status
 * parsing, on wire bytes shaped like a MariaDB 10.11 text result set. Single-threaded (one event
 * loop's view); run with {@code -prof gc} for allocation per operation. Not part of the root build.
 */
package io.sluice.bench;
