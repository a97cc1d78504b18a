package io.sluice.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
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
import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;
import io.sluice.proxy.ProxyServer;
import io.sluice.proxy.StartupException;
import io.sluice.proxy.session.ClientSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The admin HTTP endpoint: one route table ({@link #routes}) over Netty's HTTP codec, on its own
 * single event loop so a slow scrape never delays client traffic. Every answer but {@code /metrics}
 * and the dashboard is JSON (Jackson), errors included.
 *
 * <p>Access: with {@code sluice.admin.token} set, action routes (POST) need
 * {@code Authorization: Bearer <token>}, and so does every route when the endpoint is bound beyond
 * loopback; only {@code GET /} (a static page that holds no state and asks for the token itself)
 * and the probes {@code GET /health} and {@code GET /ready} are always open. Two browser guards apply whatever the token: a POST whose {@code Origin} is not
 * this endpoint is refused (another site cannot make an operator's browser pause Sluice), and on
 * loopback only loopback {@code Host} names are served (no DNS rebinding to read /sessions).
 *
 * <p>Threading: handlers run on the admin loop and read proxy state through snapshots and
 * thread-safe getters; actions (pause, kill, reload) go through the proxy's thread-safe methods.
 * {@code GET /doctor} blocks on JDBC, so it runs on {@link DoctorRoute}'s worker thread and its
 * answer is written back on the admin loop when done.
 */
public final class AdminServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
    private static final Pattern SESSION_KILL = Pattern.compile("/sessions/(\\d{1,10})/kill");

    /** An HTTP answer: status, content type, body, extra headers. */
    record Response(int status, String contentType, byte[] body, Map<String, String> headers) {
        static Response json(ObjectMapper mapper, int status, Object value) {
            try {
                return new Response(status, "application/json", mapper.writeValueAsBytes(value), Map.of());
            } catch (IOException e) {
                return new Response(500, "text/plain; charset=utf-8",
                        ("cannot render JSON: " + e.getMessage()).getBytes(StandardCharsets.UTF_8), Map.of());
            }
        }

        static Response error(ObjectMapper mapper, int status, String error, String message) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("error", error);
            body.put("message", message);
            return json(mapper, status, body);
        }

        Response withHeader(String name, String value) {
            Map<String, String> h = new LinkedHashMap<>(headers);
            h.put(name, value);
            return new Response(status, contentType, body, h);
        }
    }

    /** What a handler gets: the decoded URI and the path's capture groups. */
    record Request(QueryStringDecoder uri, Matcher path) {
    }

    /**
     * One route. {@code action} routes change Sluice and always need the token when one is set;
     * {@code open} routes never need it. Most handlers answer at once; a handler that blocks
     * ({@code GET /doctor}) completes its future from a thread of its own.
     */
    private record Route(HttpMethod method, Pattern path, boolean action, boolean open,
                         Function<Request, CompletableFuture<Response>> handler) {
    }

    private final ProxyServer proxy;
    private final AdminConfig config;
    private final PrometheusMeterRegistry prometheus;
    private final Supplier<SluiceConfig> configSource;
    /** snake_case field names for every JSON answer, records included (docs/admin.md). */
    private final ObjectMapper mapper = io.sluice.admin.doctor.Doctor.jsonMapper();
    private final Views views;
    /** GET /digests, POST /digests/reset and the top statements in /metrics (docs/digests.md). */
    private final DigestViews digests;
    private final DoctorRoute doctor;
    private final StatsHistory history;
    private final List<Route> routes = new ArrayList<>();
    private final byte[] dashboard;
    /** Volatile: POST /reload may change it. */
    private volatile Optional<String> token;
    private volatile long lastProbeNanos;
    /** Set before the socket is bound: whether every address it listens on is loopback. */
    private volatile boolean loopbackOnly;
    private EventLoopGroup group;
    private Channel channel;

    /** An endpoint without a config source: {@code POST /reload} answers 501. */
    public AdminServer(ProxyServer proxy, AdminConfig config, PrometheusMeterRegistry prometheus) {
        this(proxy, config, prometheus, null);
    }

    /**
     * @param configSource re-reads the configuration from the sources Sluice started from (file,
     *                     environment, flags) for {@code POST /reload}; null when there is none
     */
    public AdminServer(ProxyServer proxy, AdminConfig config, PrometheusMeterRegistry prometheus,
                       Supplier<SluiceConfig> configSource) {
        this.proxy = proxy;
        this.config = config;
        this.prometheus = prometheus;
        this.configSource = configSource;
        this.token = config.token();
        this.views = new Views(proxy);
        this.digests = new DigestViews(proxy.digests());
        this.history = new StatsHistory(views);
        this.doctor = new DoctorRoute(proxy::config, views, mapper, () -> "http://" + config.host() + ":" + port());
        this.dashboard = resource("dashboard.html");

        get("/", true, r -> new Response(200, "text/html; charset=utf-8", dashboard,
                Map.of("Cache-Control", "no-store", "Content-Security-Policy",
                        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'")));
        // Probes are open: a kubelet cannot send a token, and up/ready reveals nothing else.
        get("/health", true, r -> json(200, Map.of("status", "up")));
        get("/ready", true, r -> ready());
        get("/stats", false, r -> json(200, views.stats()));
        get("/stats/history", false, r -> json(200, history.document()));
        get("/sessions", false, this::sessions);
        get("/metrics", false, r -> {
            proxy.pools().flushMeters();
            return new Response(200, "text/plain; version=0.0.4; charset=utf-8",
                    (prometheus.scrape() + digests.prometheus()).getBytes(StandardCharsets.UTF_8), Map.of());
        });
        get("/config", false, r -> new Response(200, "application/json",
                ConfigLoader.render(proxy.config()).getBytes(StandardCharsets.UTF_8), Map.of()));
        // Blocking JDBC: runs on DoctorRoute's worker thread, the answer is written when it is done.
        routes.add(new Route(HttpMethod.GET, Pattern.compile(Pattern.quote("/doctor")), false, false,
                r -> doctor.start(r.uri())));
        post(SESSION_KILL, r -> kill(Long.parseLong(r.path().group(1))));
        post(Pattern.compile("/pause"), r -> pause(true));
        post(Pattern.compile("/resume"), r -> pause(false));
        post(Pattern.compile("/reload"), r -> reload());
        get("/digests", false, this::digests);
        post(Pattern.compile("/digests/reset"), r -> json(200, digests.reset()));
    }

    private void get(String path, boolean open, Function<Request, Response> handler) {
        routes.add(new Route(HttpMethod.GET, Pattern.compile(Pattern.quote(path)), false, open, now(handler)));
    }

    private void post(Pattern path, Function<Request, Response> handler) {
        routes.add(new Route(HttpMethod.POST, path, true, false, now(handler)));
    }

    private static Function<Request, CompletableFuture<Response>> now(Function<Request, Response> handler) {
        return r -> CompletableFuture.completedFuture(handler.apply(r));
    }

    private static byte[] resource(String name) {
        try (InputStream in = AdminServer.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("admin resource missing from the jar: " + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @throws StartupException when the admin address cannot be resolved or bound */
    public AdminServer start() {
        try {
            loopbackOnly = InetAddress.getByName(config.host()).isLoopbackAddress();
        } catch (UnknownHostException e) {
            throw new StartupException("sluice.admin.host: cannot resolve " + config.host(), e);
        }
        group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("sluice-admin", true), NioIoHandler.newFactory());
        ServerBootstrap b = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(64 * 1024), new Handler());
                    }
                });
        ChannelFuture bind = b.bind(config.host(), config.port()).awaitUninterruptibly();
        if (!bind.isSuccess()) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw new StartupException("cannot serve the admin endpoint on " + config.host() + ":" + config.port()
                    + " (sluice.admin.host, sluice.admin.port): " + bind.cause().getMessage(), bind.cause());
        }
        channel = bind.channel();
        history.start(channel.eventLoop()); // the admin loop's only thread: it also serves the route
        InetSocketAddress bound = (InetSocketAddress) channel.localAddress();
        log.info("admin endpoint on http://{}:{} ({})", bound.getHostString(), bound.getPort(), token.isEmpty()
                ? "no token" : loopbackOnly ? "token needed for actions" : "token needed for every route");
        if (!loopbackOnly && token.isEmpty()) {
            log.warn("admin endpoint bound to {} without sluice.admin.token: anyone who can reach it can read "
                    + "sessions, pause Sluice and kill sessions (sluice.admin.allow-no-token = true)", config.host());
        }
        return this;
    }

    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    /** For tests: how long {@code GET /doctor} waits for the server before answering 504. */
    void doctorTimeout(java.time.Duration timeout) {
        doctor.timeout(timeout);
    }

    // ---- routes --------------------------------------------------------------------------------

    private Response json(int status, Object value) {
        return Response.json(mapper, status, value);
    }

    private Response ready() {
        Views.Readiness r = views.readiness();
        if (!r.serverReached() && System.nanoTime() - lastProbeNanos > TimeUnit.SECONDS.toNanos(5)) {
            // Never reached since startup: look again now, so a Sluice started before its server
            // becomes ready without waiting for a client that a not-ready pod will never get.
            lastProbeNanos = System.nanoTime();
            proxy.probeServer();
        }
        return json(r.ready() ? 200 : 503, r.body());
    }

    /** {@code ?state=waiting} keeps sessions in that state; {@code ?limit=N} the first N by id. */
    private Response sessions(Request r) {
        List<String> state = r.uri().parameters().get("state");
        List<String> limit = r.uri().parameters().get("limit");
        int max = Integer.MAX_VALUE;
        if (limit != null) {
            try {
                max = Integer.parseInt(limit.get(0));
            } catch (NumberFormatException e) {
                max = -1;
            }
            if (max < 0) {
                return Response.error(mapper, 400, "bad_request", "limit must be a whole number >= 0, got " + limit.get(0));
            }
        }
        return json(200, views.sessions(state == null ? null : state.get(0), max));
    }

    /** {@code ?order=total_time|count|max_time|errors|rows|wait_time} (largest first), {@code ?limit=N}. */
    private Response digests(Request r) {
        DigestViews.Query q = DigestViews.query(r.uri().parameters().get("order"), r.uri().parameters().get("limit"));
        if (q.error() != null) {
            return Response.error(mapper, 400, "bad_request", q.error());
        }
        return json(200, digests.document(q.order(), q.limit()));
    }

    private Response kill(long id) {
        ClientSession s = proxy.sessions().get(id);
        if (s == null) {
            return Response.error(mapper, 404, "not_found", "no session " + id + " (see GET /sessions)");
        }
        Map<String, Object> killed = views.session(s);
        log.info("admin: killing {} (state {}, backend {})", s, killed.get("state"), killed.get("backend"));
        s.closeClient();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("killed", true);
        body.put("session", killed);
        return json(200, body);
    }

    private Response pause(boolean pause) {
        if (pause) {
            proxy.pools().pause();
        } else {
            proxy.pools().resume();
        }
        log.info("admin: {}", pause ? "paused: no backend is handed out until POST /resume" : "resumed");
        return json(200, Map.of("paused", proxy.pools().paused()));
    }

    private Response reload() {
        if (configSource == null) {
            return Response.error(mapper, 501, "not_implemented", "this Sluice was started without a config source "
                    + "to re-read (embedded use); restart it to change its configuration");
        }
        SluiceConfig next;
        try {
            next = configSource.get();
        } catch (ConfigException e) {
            log.warn("admin: reload refused, the configuration is invalid; nothing changed:\n{}", e.getMessage());
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("error", "invalid_config");
            body.put("message", "the configuration is invalid; nothing was changed");
            body.put("problems", e.problems());
            return json(400, body);
        }
        SluiceConfig before = proxy.config();
        SluiceConfig applied = proxy.reload(next);
        token = applied.admin().token();
        Reload.Outcome outcome = Reload.compare(before, next, applied);
        log.info("admin: configuration reloaded; applied {}; needs a restart: {}", outcome.applied(), outcome.restartRequired());
        return json(200, outcome);
    }

    // ---- dispatch ------------------------------------------------------------------------------

    CompletableFuture<Response> answer(FullHttpRequest req) {
        QueryStringDecoder uri = new QueryStringDecoder(req.uri());
        String path = uri.path();
        Route route = null;
        Matcher matcher = null;
        List<String> allowed = new ArrayList<>();
        for (Route r : routes) {
            Matcher m = r.path().matcher(path);
            if (m.matches()) {
                allowed.add(r.method().name());
                if (r.method().equals(req.method())) {
                    route = r;
                    matcher = m;
                }
            }
        }
        if (route == null) {
            if (!allowed.isEmpty()) {
                return CompletableFuture.completedFuture(Response.error(mapper, 405, "method_not_allowed", req.method() + " "
                        + path + " is not served; use " + String.join(" or ", allowed)).withHeader("Allow", String.join(", ", allowed)));
            }
            return CompletableFuture.completedFuture(Response.error(mapper, 404, "not_found", "no route " + path + "; routes: "
                    + routeList()));
        }
        Response refused = guard(req, route);
        if (refused != null) {
            return CompletableFuture.completedFuture(refused);
        }
        return route.handler().apply(new Request(uri, matcher));
    }

    /** The browser guards and the token check; null when the request may proceed. */
    private Response guard(FullHttpRequest req, Route route) {
        String host = req.headers().get(HttpHeaderNames.HOST);
        if (loopbackOnly && host != null && !isLoopbackHost(host)) {
            return Response.error(mapper, 403, "forbidden", "this endpoint listens on loopback and answers only "
                    + "requests addressed to localhost or a loopback IP address (127.0.0.1, [::1]), not '" + host + "'");
        }
        String origin = req.headers().get(HttpHeaderNames.ORIGIN);
        if (route.action() && origin != null && (host == null
                || !(origin.equalsIgnoreCase("http://" + host) || origin.equalsIgnoreCase("https://" + host)))) {
            return Response.error(mapper, 403, "forbidden", "cross-origin " + req.method() + " refused (Origin "
                    + origin + "); actions are taken from this endpoint's own page or from tools like curl");
        }
        Optional<String> t = token;
        if (route.open() || t.isEmpty() || !(route.action() || !loopbackOnly)) {
            return null;
        }
        String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION);
        String presented = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) ? auth.substring(7).trim() : null;
        if (presented != null && MessageDigest.isEqual(presented.getBytes(StandardCharsets.UTF_8),
                t.get().getBytes(StandardCharsets.UTF_8))) {
            return null;
        }
        String why = presented == null ? "missing Authorization: Bearer <token> header" : "wrong token";
        return Response.error(mapper, 401, "unauthorized", why + "; " + (route.action() ? "actions need" : "every route "
                        + "of an endpoint bound beyond loopback needs") + " the token from sluice.admin.token (or token-env)")
                .withHeader("WWW-Authenticate", "Bearer realm=\"sluice\"");
    }

    private static final Pattern IPV4_LOOPBACK = Pattern.compile(
            "127(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
    private static final Pattern IPV6_LITERAL = Pattern.compile("[0-9A-Fa-f:.]+");
    private static final Pattern PORT = Pattern.compile("\\d{1,5}");

    /**
     * Whether a Host header names this machine literally: {@code localhost}, an IPv4 literal in
     * 127.0.0.0/8 or a bracketed IPv6 loopback literal ({@code [::1]}), each with an optional
     * {@code :port}. Nothing is resolved: any other name is someone's DNS name, which can point at
     * 127.0.0.1 (DNS rebinding), so "127.attacker.example" and "x.localhost" are foreign.
     */
    static boolean isLoopbackHost(String hostHeader) {
        String name;
        String rest;
        if (hostHeader.startsWith("[")) {
            int end = hostHeader.indexOf(']');
            if (end < 0) {
                return false;
            }
            name = hostHeader.substring(1, end);
            rest = hostHeader.substring(end + 1);
        } else {
            int colon = hostHeader.indexOf(':');
            name = colon < 0 ? hostHeader : hostHeader.substring(0, colon);
            rest = colon < 0 ? "" : hostHeader.substring(colon);
        }
        if (!rest.isEmpty() && !(rest.charAt(0) == ':' && PORT.matcher(rest.substring(1)).matches())) {
            return false;
        }
        if (hostHeader.startsWith("[")) {
            if (!IPV6_LITERAL.matcher(name).matches() || name.indexOf(':') < 0) {
                return false;
            }
            try {
                return InetAddress.getByName(name).isLoopbackAddress(); // a literal: parsed, never looked up
            } catch (UnknownHostException e) {
                return false;
            }
        }
        return name.equalsIgnoreCase("localhost") || IPV4_LOOPBACK.matcher(name).matches();
    }

    private List<String> routeList() {
        List<String> out = new ArrayList<>();
        for (Route r : routes) {
            out.add(r.method() + " " + r.path().pattern().replace("\\Q", "").replace("\\E", "")
                    .replace("(\\d{1,10})", "{id}"));
        }
        return out;
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            String what = req.method() + " " + req.uri();
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            CompletableFuture<Response> answer;
            try {
                answer = answer(req);
            } catch (RuntimeException e) {
                answer = CompletableFuture.failedFuture(e);
            }
            if (answer.isDone()) {
                write(ctx, response(answer, what), keepAlive);
                return;
            }
            // Answered later from another thread (the request is released when this returns, so
            // only what was read from it travels on). Reading stops meanwhile, so a pipelined
            // request cannot be answered out of order.
            ctx.channel().config().setAutoRead(false);
            answer.whenComplete((r, e) -> ctx.executor().execute(() -> {
                write(ctx, e == null ? r : failed(e, what), keepAlive);
                ctx.channel().config().setAutoRead(true);
            }));
        }

        private Response response(CompletableFuture<Response> done, String what) {
            try {
                return done.join();
            } catch (RuntimeException e) {
                return failed(e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e, what);
            }
        }

        private Response failed(Throwable e, String what) {
            log.warn("admin {} failed", what, e);
            return Response.error(mapper, 500, "internal_error", e.toString());
        }

        private void write(ChannelHandlerContext ctx, Response r, boolean keepAlive) {
            ByteBuf body = Unpooled.wrappedBuffer(r.body());
            FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(r.status()), body);
            resp.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
            resp.headers().set("X-Content-Type-Options", "nosniff");
            r.headers().forEach((k, v) -> resp.headers().set(k, v));
            HttpUtil.setContentLength(resp, body.readableBytes());
            HttpUtil.setKeepAlive(resp, keepAlive);
            var f = ctx.writeAndFlush(resp);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("admin connection {}: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }

    @Override
    public void close() {
        doctor.close();
        history.stop();
        if (channel != null) {
            channel.close().syncUninterruptibly();
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    ProxyServer proxy() {
        return proxy;
    }
}
