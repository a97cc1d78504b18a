/**
 * Per-statement statistics (docs/digests.md): {@code Normalizer} turns SQL into its digest (literals
 * out), {@code DigestTable} keeps the bounded set of counters by digest, user and server, and each
 * session's {@code DigestRecorder} times its statements from arrival to the end of the response.
 * Threading: a recorder on its session's event loop, the normalizer per event loop thread, the table
 * from every loop and the admin (lock-free counters). Reads protocol only; must not import session,
 * pool or frontend.
 */
package io.sluice.proxy.digest;
