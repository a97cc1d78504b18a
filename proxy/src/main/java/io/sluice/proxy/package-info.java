/**
 * Sluice's proxy core. One request, few hops:
 * (1) {@code protocol.PacketFrameDecoder} slices a packet;
 * (2) {@code frontend.FrontendHandler} logs the client in, then {@code session.ClientSession} reads
 *     the command byte and one {@code switch} over {@code CommandType} decides: forward, answer
 *     locally, translate (KILL) or refuse;
 * (3) the session writes to its linked backend, or parks the command and asks
 *     {@code pool.BackendPools} (the gate is {@code gate.Gate}, a bounded FIFO with deadlines); a
 *     client that sends more while its command waits is not read until the command has gone out;
 * (4) on grant it links the backend, restores the schema, writes the command, and the backend's
 *     {@code ResponseTracker} is told what was asked;
 * (5) the backend handler hands every server frame, or a run of plain rows as one buffer, to the
 *     session, which forwards it unchanged (rows are never decoded) while the tracker finds the end
 *     of the response;
 * (6) on the final OK/EOF/ERR without SERVER_MORE_RESULTS_EXISTS the pool mode decides: in
 *     session mode the backend stays linked until the client leaves, then goes back reset, and
 *     the pool hands it straight to the oldest waiter.
 * Package dependencies: protocol has none; backend uses protocol; pool and gate use backend;
 * session uses pool; frontend uses session. Nothing here imports the admin module.
 */
package io.sluice.proxy;
