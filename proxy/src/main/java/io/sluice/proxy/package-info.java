/**
 * Sluice's proxy core. One request, both pool modes, in six hops:
 * (1) {@code protocol.PacketFrameDecoder} slices a packet; {@code frontend.FrontendHandler} (after
 *     login) hands it to the client's {@code session.ClientSession}.
 * (2) {@code session.CommandRouter} — the one {@code switch} over {@code CommandType} — returns a
 *     {@code Route}: forward, answer locally, KILL, refuse; in transaction mode a query is
 *     classified ({@code StatementClassifier}) and statement commands go through
 *     {@code session.StatementCommands} and its {@code session.statements.StatementBook} (Sluice's
 *     statement ids), which return the step the session carries out.
 * (3) With a linked backend the session's {@code session.BackendLink} writes the command; without
 *     one the session parks it and the link asks {@code pool.BackendPools.acquire} (waiting in
 *     {@code gate.Gate}, bounded, with deadlines); a client that sends more meanwhile is not read
 *     until the command has gone out.
 * (4) On grant the link links the backend and replays the session's state onto it when it differs
 *     (transaction mode: one batched SET, INIT_DB, run by {@code backend.BackendSteps}), writes
 *     the command and tells the backend's {@code protocol.ResponseTracker} what was asked.
 * (5) {@code backend.BackendHandler} hands each server frame, or a run of plain rows as one buffer,
 *     to the session's {@code session.ResponsePath}, which forwards it unchanged (rows are never
 *     decoded); the tracker finds the end of the response and decodes each OK once into
 *     {@code protocol.OkPacket}.
 * (6) On the final OK/EOF/ERR without SERVER_MORE_RESULTS_EXISTS the response path updates the
 *     {@code SessionState} and {@code PinTable} from that OK; then {@code ModeRules} decides:
 *     transaction mode releases the backend as soon as no pin holds ({@code releaseIfUnpinned} ->
 *     {@code BackendLink.unlink} -> {@code BackendPools.release}, which hands it straight to the
 *     oldest waiter); session mode keeps it linked until the client leaves, then gives it back reset.
 * Package dependencies point one way: protocol has none (it also holds {@code SluiceError}, the
 * errors Sluice writes itself); transport (event loops) uses only metrics; backend uses protocol; pool and gate use
 * backend; session uses pool and backend (session.statements the same, never session); frontend
 * uses session through a {@code FrontendContext} that {@code ProxyServer} builds. Nothing here
 * imports the admin module.
 */
package io.sluice.proxy;
