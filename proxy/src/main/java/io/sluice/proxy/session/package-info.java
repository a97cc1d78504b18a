/**
 * Client sessions: {@code ClientSession} is the sole owner of the session-to-backend link, decides
 * per command what to do, forwards responses and gives backends back; the registry maps Sluice
 * connection ids to sessions (KILL, admin). Runs on the client's event loop. Must not import frontend.
 */
package io.sluice.proxy.session;
