package io.sluice.proxy.frontend;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.sluice.proxy.metrics.ProxyMetrics;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counts MySQL protocol bytes read from and written to clients ({@code sluice.client.bytes}): one
 * {@link LongAdder#add} per socket read and per buffer written, nothing allocated. Sits right after
 * the TLS handler (when there is one), so it counts plaintext protocol bytes, logins and Sluice's own
 * OK/ERR packets included. One instance serves every client channel; it passes everything on
 * unchanged and owns no buffer.
 */
@ChannelHandler.Sharable
final class ClientBytesHandler extends ChannelDuplexHandler {
    private final LongAdder in;
    private final LongAdder out;

    ClientBytesHandler(ProxyMetrics metrics) {
        this.in = metrics.clientBytesIn();
        this.out = metrics.clientBytesOut();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf b) {
            in.add(b.readableBytes());
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf b) {
            out.add(b.readableBytes());
        }
        ctx.write(msg, promise);
    }
}
