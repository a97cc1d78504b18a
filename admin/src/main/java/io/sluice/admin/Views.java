package io.sluice.admin;

import io.sluice.proxy.ProxyServer;
import io.sluice.proxy.pool.PoolSnapshot;
import io.sluice.proxy.session.ClientSession;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** JSON views of Sluice's state, built from snapshots; field names match metric tag values. */
final class Views {
    private final ProxyServer proxy;

    Views(ProxyServer proxy) {
        this.proxy = proxy;
    }

    Map<String, Object> stats() {
        Map<String, Object> out = new LinkedHashMap<>();
        var info = proxy.connector().serverInfo();
        out.put("server", Map.of("address", proxy.connector().address(), "version", info.version(), "reached", info.learned()));
        out.put("clients", proxy.metrics().clients().get());
        out.put("backend_connections", proxy.pools().total());
        out.put("global_max", proxy.config().pool().globalMax());
        List<PoolSnapshot> pools = proxy.pools().snapshot();
        out.put("pools", pools);
        return out;
    }

    List<Map<String, Object>> sessions() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (ClientSession s : proxy.sessions().all()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", s.id());
            m.put("user", s.user());
            m.put("client", s.clientHost());
            m.put("program_name", s.attributes().getOrDefault("program_name", ""));
            m.put("state", s.state().name().toLowerCase());
            m.put("schema", s.schema());
            var b = s.backend();
            m.put("backend", b == null ? null : Map.of("id", b.id(), "thread_id", b.threadId()));
            long ns = s.commandNanos();
            m.put("command", s.currentCommand() == null ? null : s.currentCommand().name());
            m.put("command_ms", ns < 0 ? null : ns / 1_000_000);
            m.put("statement", s.statementHead());
            out.add(m);
        }
        return out;
    }
}
