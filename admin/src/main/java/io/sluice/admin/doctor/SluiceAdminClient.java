package io.sluice.admin.doctor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.admin.doctor.Diagnosis.Count;
import io.sluice.admin.doctor.Diagnosis.SluicePool;
import io.sluice.admin.doctor.Diagnosis.SluiceView;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads Sluice's own view (/stats and /sessions) from an admin endpoint over HTTP, as JSON trees:
 * the doctor depends on the documents' field names, not on proxy classes. A failure becomes the
 * view's {@code error}, never an exception: Sluice being down is itself worth reporting.
 */
final class SluiceAdminClient {
    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private SluiceAdminClient() {
    }

    /**
     * @param baseUrl e.g. {@code http://127.0.0.1:6034}
     * @param token   bearer token, or null
     */
    static SluiceView fetch(String baseUrl, String token) {
        String base = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
        try {
            JsonNode stats = get(http, base + "/stats", token);
            JsonNode sessions = get(http, base + "/sessions", token);
            return view(base, stats, sessions, digests(http, base, token));
        } catch (IOException | IllegalArgumentException e) {
            return error(base, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return error(base, "interrupted");
        }
    }

    private static SluiceView error(String url, String message) {
        return new SluiceView(url, message, -1, -1, -1, List.of(), List.of(), -1, -1, null, List.of());
    }

    /** The statements by total time, or null when the endpoint has none to give (digests off, an older Sluice). */
    private static JsonNode digests(HttpClient http, String base, String token) throws InterruptedException {
        try {
            return get(http, base + "/digests?order=total_time&limit=" + TOP_STATEMENTS, token);
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
    }

    private static JsonNode get(HttpClient http, String url, String token) throws IOException, InterruptedException {
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(url)).timeout(TIMEOUT).GET();
        if (token != null && !token.isEmpty()) {
            req.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> resp = http.send(req.build(), HttpResponse.BodyHandlers.ofString());
        if (resp.statusCode() != 200) {
            throw new IOException("GET " + url + " answered " + resp.statusCode() + ": " + abbreviate(resp.body()));
        }
        return MAPPER.readTree(resp.body());
    }

    /** Statements named under genuine load. */
    static final int TOP_STATEMENTS = 5;

    /** Builds the view from /stats and /sessions alone (no statements); package-private for tests. */
    static SluiceView view(String url, JsonNode stats, JsonNode sessions) {
        return view(url, stats, sessions, null);
    }

    /** Builds the view from the documents ({@code digests} GET /digests, or null); package-private for tests. */
    static SluiceView view(String url, JsonNode stats, JsonNode sessions, JsonNode digests) {
        List<SluicePool> pools = new ArrayList<>();
        long waiting = 0;
        for (JsonNode p : stats.path("pools")) {
            SluicePool pool = pool(p);
            pools.add(pool);
            waiting += pool.waiting();
        }
        Map<String, Long> byState = new LinkedHashMap<>();
        long pinned = 0;
        for (JsonNode s : sessions) {
            byState.merge(s.path("state").asText("unknown"), 1L, Long::sum);
            JsonNode pins = s.path("pins");
            if ((pins.isArray() && !pins.isEmpty()) || s.path("pinned").asBoolean(false)) {
                pinned++;
            }
        }
        List<Count> states = byState.entrySet().stream()
                .map(e -> new Count(e.getKey(), e.getValue(), 0, 0))
                .sorted(Comparator.comparingLong(Count::connections).reversed().thenComparing(Count::key))
                .toList();
        return new SluiceView(url, null, stats.path("clients").asLong(-1), stats.path("backend_connections").asLong(-1),
                stats.path("global_max").asLong(-1), pools, states, waiting, pinned, stats, statements(digests));
    }

    /** The statements of a GET /digests document, at most {@link #TOP_STATEMENTS}, those that took no time left out. */
    static List<Diagnosis.Statement> statements(JsonNode digests) {
        List<Diagnosis.Statement> out = new ArrayList<>();
        if (digests == null || !digests.path("enabled").asBoolean(true)) {
            return out;
        }
        for (JsonNode s : digests.path("statements")) {
            if (out.size() == TOP_STATEMENTS || s.path("total_time_ms").asDouble() <= 0) {
                break;
            }
            out.add(new Diagnosis.Statement(s.path("id").asText(), s.path("digest").asText(), s.path("user").asText(),
                    s.path("server").asText(), s.path("count").asLong(), s.path("errors").asLong(),
                    s.path("total_time_ms").asDouble(), s.path("avg_time_ms").asDouble(), s.path("max_time_ms").asDouble(),
                    s.path("wait_time_ms").asDouble()));
        }
        return out;
    }

    /** One pool object of /stats ({@code pools[]}, or a cluster server's {@code pools[]}). */
    static SluicePool pool(JsonNode p) {
        return new SluicePool(p.path("name").asText(), p.path("max").asLong(-1), p.path("busy").asLong(-1),
                p.path("idle").asLong(-1), p.path("waiting").asLong(0), p.path("oldest_wait_ms").asLong(0),
                p.path("timeouts").asLong(0), p.path("rejections").path("queue_full").asLong(0));
    }

    private static String abbreviate(String s) {
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }
}
