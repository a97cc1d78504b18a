package io.sluice.proxy.transport;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringDomainSocketChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.sluice.config.ListenConfig;
import io.sluice.proxy.metrics.BusyPollMeters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The I/O transport ({@code sluice.listen.transport}): io_uring, epoll or NIO. Clients and backends
 * share one event loop group, so a session and the backend opened for it can live on the same thread.
 *
 * <p>Why io_uring first: on the benchmark machine it made 0.5 system calls per query instead of 4.2
 * and a third of the context switches at 32 clients, where a hop's cost is mostly kernel time
 * (docs/benchmarks.md, "Event loops on io_uring").
 */
public final class Transport {
    private static final Logger log = LoggerFactory.getLogger(Transport.class);

    private final ListenConfig.Transport kind;
    private final ListenConfig.BusyPoll busyPoll;
    private final EventLoopGroup group;
    private final ChannelFactory<SocketChannel> socketChannelFactory;
    private final ChannelFactory<ServerSocketChannel> serverChannelFactory;
    private final ChannelFactory<? extends Channel> domainSocketChannelFactory;

    /** @throws Unavailable when the transport asked for by name does not work here, with the reason */
    public Transport(ListenConfig listen, BusyPollMeters busyPollMeters) {
        this.kind = choose(listen.transport());
        this.busyPoll = listen.busyPoll();
        IoHandlerFactory factory;
        switch (kind) {
            case IO_URING -> {
                factory = IoUringIoHandler.newFactory();
                socketChannelFactory = IoUringSocketChannel::new;
                serverChannelFactory = IoUringServerSocketChannel::new;
                domainSocketChannelFactory = IoUringDomainSocketChannel::new;
            }
            case EPOLL -> {
                factory = EpollIoHandler.newFactory();
                socketChannelFactory = EpollSocketChannel::new;
                serverChannelFactory = EpollServerSocketChannel::new;
                domainSocketChannelFactory = EpollDomainSocketChannel::new;
            }
            case NIO -> {
                factory = NioIoHandler.newFactory();
                socketChannelFactory = NioSocketChannel::new;
                serverChannelFactory = NioServerSocketChannel::new;
                domainSocketChannelFactory = NioDomainSocketChannel::new;
            }
            default -> throw new AssertionError("choose() resolves " + kind);
        }
        int n = listen.ioThreads() > 0 ? listen.ioThreads() : Runtime.getRuntime().availableProcessors();
        this.group = new MultiThreadIoEventLoopGroup(n, new DefaultThreadFactory("sluice-io", true),
                BusyPollIoHandler.wrap(factory, listen.busyPoll(), busyPollMeters));
    }

    private static ListenConfig.Transport choose(ListenConfig.Transport asked) {
        return switch (asked) {
            case IO_URING -> {
                if (!IoUring.isAvailable()) {
                    throw new Unavailable("sluice.listen.transport = io-uring, but io_uring does not work here: "
                            + IoUring.unavailabilityCause() + "; use auto, epoll or nio", IoUring.unavailabilityCause());
                }
                yield asked;
            }
            case EPOLL -> {
                if (!Epoll.isAvailable()) {
                    throw new Unavailable("sluice.listen.transport = epoll, but epoll does not work here: "
                            + Epoll.unavailabilityCause() + "; use auto or nio", Epoll.unavailabilityCause());
                }
                yield asked;
            }
            case NIO -> asked;
            case AUTO -> {
                if (IoUring.isAvailable()) {
                    yield ListenConfig.Transport.IO_URING;
                }
                log.info("io_uring does not work here ({}); trying epoll", IoUring.unavailabilityCause().toString());
                if (Epoll.isAvailable()) {
                    yield ListenConfig.Transport.EPOLL;
                }
                log.info("epoll does not work here ({}); using NIO", Epoll.unavailabilityCause().toString());
                yield ListenConfig.Transport.NIO;
            }
        };
    }

    public EventLoopGroup group() {
        return group;
    }

    /** The transport in use, as the config spells it ({@code io-uring}, {@code epoll}, {@code nio}). */
    public String name() {
        return kind.configName();
    }

    /**
     * {@code sluice.listen.busy-poll} in effect: {@code auto}, {@code off}, a duration, or why
     * {@code auto} cannot poll here.
     */
    public String busyPollInEffect() {
        if (busyPoll.enabled() && !BusyPollIoHandler.polls(busyPoll)) {
            return "auto, inactive: no " + RunQueueDelay.SCHEDSTAT + " here";
        }
        return busyPoll.configName();
    }

    public ChannelFactory<SocketChannel> socketChannelFactory() {
        return socketChannelFactory;
    }

    public ChannelFactory<ServerSocketChannel> serverChannelFactory() {
        return serverChannelFactory;
    }

    /** Channels to a Unix socket ({@link #domainSocketAddress}), for a server on the same host. */
    public ChannelFactory<? extends Channel> domainSocketChannelFactory() {
        return domainSocketChannelFactory;
    }

    /** The address of the Unix socket at {@code path} in the form this transport's channels take. */
    public SocketAddress domainSocketAddress(Path path) {
        return kind == ListenConfig.Transport.NIO ? UnixDomainSocketAddress.of(path) : new DomainSocketAddress(path.toFile());
    }

    public void shutdown() {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** The transport asked for by name does not work on this machine; the message says why and what to use. */
    public static final class Unavailable extends RuntimeException {
        Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
