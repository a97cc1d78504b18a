/**
 * Netty transport choice (io_uring, epoll, NIO) and the event loops' optional busy polling.
 * Owns: the event loop groups and channel factories Sluice uses for clients and servers alike.
 * Threads: built once at start; {@code BusyPollIoHandler} runs on each event loop.
 * Imports only {@code metrics} and config; nothing of protocol, session, pool or frontend.
 */
package io.sluice.proxy.transport;
