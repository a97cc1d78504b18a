package io.sluice.proxy;

import io.netty.channel.ChannelFactory;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * The I/O transport: native epoll where available, NIO otherwise. Clients and backends share one
 * event loop group, so a session and the backend opened for it can live on the same thread.
 */
public final class Transport {
    private final boolean epoll;
    private final EventLoopGroup group;

    public Transport(int threads) {
        this.epoll = Epoll.isAvailable();
        IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        this.group = new MultiThreadIoEventLoopGroup(n, new DefaultThreadFactory("sluice-io", true), factory);
    }

    public EventLoopGroup group() {
        return group;
    }

    public String name() {
        return epoll ? "epoll" : "nio";
    }

    public ChannelFactory<SocketChannel> socketChannelFactory() {
        return epoll ? EpollSocketChannel::new : NioSocketChannel::new;
    }

    public ChannelFactory<ServerSocketChannel> serverChannelFactory() {
        return epoll ? EpollServerSocketChannel::new : NioServerSocketChannel::new;
    }

    public void shutdown() {
        group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }
}
