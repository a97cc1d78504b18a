package io.sluice.admin;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code GET /stats/history}: the last minutes of what the dashboard charts, kept server-side so a
 * page opened during an incident shows the minutes before it, not the seconds since it was opened.
 * One sample a second ({@link #INTERVAL_MILLIS}) into a ring of {@link #CAPACITY} (ten minutes):
 * memory is bounded by that count times the pools, whatever runs. Sampled on the admin event loop,
 * which also serves the route, so the ring needs no lock.
 */
final class StatsHistory {
    static final long INTERVAL_MILLIS = 1000;
    static final int CAPACITY = 600;

    private final Views views;
    private final Object[] ring = new Object[CAPACITY];
    private int next;
    private int size;
    private ScheduledFuture<?> task;

    StatsHistory(Views views) {
        this.views = views;
    }

    /** Starts sampling on {@code loop}: the thread every call of this class runs on. */
    void start(ScheduledExecutorService loop) {
        task = loop.scheduleAtFixedRate(this::sample, 0, INTERVAL_MILLIS, TimeUnit.MILLISECONDS);
    }

    void stop() {
        if (task != null) {
            task.cancel(false);
        }
    }

    /** Takes one sample now (the timer does, every second). */
    void sample() {
        Map<String, Object> s;
        try {
            s = views.sample();
        } catch (RuntimeException e) {
            return; // a sample missed is a gap in a chart; the next one comes in a second
        }
        ring[next] = s;
        next = (next + 1) % CAPACITY;
        size = Math.min(size + 1, CAPACITY);
    }

    /** The samples, oldest first. */
    Map<String, Object> document() {
        List<Object> samples = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            samples.add(ring[(next - size + i + CAPACITY) % CAPACITY]);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("interval_ms", INTERVAL_MILLIS);
        out.put("capacity", CAPACITY);
        out.put("samples", samples);
        return out;
    }
}
