package io.sluice.proxy.frontend;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.flow.FlowControlHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.sluice.proxy.protocol.PacketFrameDecoder;

import java.util.concurrent.TimeUnit;

/**
 * The whole client pipeline in one place: [tls, added on SSLRequest] -> bytes -> idle -> frames ->
 * flow -> frontend. The bytes handler counts protocol bytes each way for the metrics. The frame decoder slices packets; the flow-control handler holds frames already decoded
 * while the session is not reading (a client that sent more while its command waits in the gate); the frontend handler logs the client in
 * and then feeds its {@code ClientSession}.
 */
public final class FrontendInitializer extends ChannelInitializer<SocketChannel> {
    /** Largest packet accepted before login: a handshake response with attributes fits easily. */
    static final int LOGIN_MAX_PAYLOAD = 64 * 1024;

    private final FrontendContext server;
    private final ClientBytesHandler bytes;

    public FrontendInitializer(FrontendContext server) {
        this.server = server;
        this.bytes = new ClientBytesHandler(server.metrics());
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        var fc = server.config().frontend();
        ch.config().setWriteBufferWaterMark(new WriteBufferWaterMark(fc.writeBufferLow(), fc.writeBufferHigh()));
        ch.pipeline().addLast("bytes", bytes);
        if (!fc.idleTimeout().isZero()) {
            ch.pipeline().addLast("idle", new IdleStateHandler(0, 0, fc.idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
        }
        ch.pipeline().addLast("frames", new PacketFrameDecoder(LOGIN_MAX_PAYLOAD, true));
        ch.pipeline().addLast("flow", new FlowControlHandler());
        ch.pipeline().addLast("frontend", new FrontendHandler(server));
    }
}
