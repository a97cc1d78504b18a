/**
 * Client sessions: {@code ClientSession} is the sole owner of the session-to-backend link, decides
 * per command what to do, forwards responses and gives backends back; the registry maps Sluice
 * connection ids to sessions (KILL, admin); {@code LeakDetector} looks for sessions idle in a
 * transaction or pinned too long. Runs on the client's event loop (the detector's once-a-second pass
 * only reads volatile fields and hands candidates to their own loop). Must not import frontend.
 */
package io.sluice.proxy.session;
