package io.sluice.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.sluice.config.AdminConfig;
import io.sluice.proxy.ProxyServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * The admin HTTP endpoint: a small route table over Netty's HTTP codec, on its own single event
 * loop so a slow scrape never delays client traffic. Views are JSON (Jackson) built from snapshots.
 */
public final class AdminServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

    /** An HTTP answer: status, content type, body. */
    public record Response(int status, String contentType, byte[] body) {
        static Response json(ObjectMapper mapper, Object value) {
            try {
                return new Response(200, "application/json", mapper.writeValueAsBytes(value));
            } catch (Exception e) {
                return text(500, "cannot render JSON: " + e.getMessage());
            }
        }

        static Response text(int status, String body) {
            return new Response(status, "text/plain; charset=utf-8", body.getBytes(StandardCharsets.UTF_8));
        }
    }

    private final ProxyServer proxy;
    private final AdminConfig config;
    private final PrometheusMeterRegistry prometheus;
    private final ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private final Map<String, BiFunction<HttpMethod, QueryStringDecoder, Response>> routes = new LinkedHashMap<>();
    private EventLoopGroup group;
    private Channel channel;

    public AdminServer(ProxyServer proxy, AdminConfig config, PrometheusMeterRegistry prometheus) {
        this.proxy = proxy;
        this.config = config;
        this.prometheus = prometheus;
        Views views = new Views(proxy);
        routes.put("/health", (m, q) -> Response.json(mapper, Map.of("status", "up")));
        routes.put("/ready", (m, q) -> {
            boolean ready = proxy.connector().serverInfo().learned();
            Response r = Response.json(mapper, Map.of("ready", ready));
            return ready ? r : new Response(503, r.contentType(), r.body());
        });
        routes.put("/stats", (m, q) -> Response.json(mapper, views.stats()));
        routes.put("/sessions", (m, q) -> Response.json(mapper, views.sessions()));
        routes.put("/metrics", (m, q) -> new Response(200, "text/plain; version=0.0.4; charset=utf-8",
                prometheus.scrape().getBytes(StandardCharsets.UTF_8)));
    }

    public AdminServer start() {
        group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("sluice-admin", true), NioIoHandler.newFactory());
        ServerBootstrap b = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(64 * 1024), new Handler());
                    }
                });
        channel = b.bind(config.host(), config.port()).syncUninterruptibly().channel();
        log.info("admin endpoint on http://{}", channel.localAddress());
        return this;
    }

    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            QueryStringDecoder q = new QueryStringDecoder(req.uri());
            var route = routes.get(q.path());
            Response r;
            try {
                r = route == null ? Response.text(404, "no such route: " + q.path() + "; try " + routes.keySet())
                        : route.apply(req.method(), q);
            } catch (RuntimeException e) {
                log.warn("admin {} failed: {}", q.path(), e.toString());
                r = Response.text(500, "error: " + e);
            }
            ByteBuf body = Unpooled.wrappedBuffer(r.body());
            FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(r.status()), body);
            resp.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
            HttpUtil.setContentLength(resp, body.readableBytes());
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            HttpUtil.setKeepAlive(resp, keepAlive);
            var f = ctx.writeAndFlush(resp);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }
    }

    @Override
    public void close() {
        if (channel != null) {
            channel.close().syncUninterruptibly();
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    ProxyServer proxy() {
        return proxy;
    }
}
