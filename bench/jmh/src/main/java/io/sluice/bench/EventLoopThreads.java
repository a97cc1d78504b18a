package io.sluice.bench;

import io.netty.util.concurrent.FastThreadLocalThread;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * JMH executor ({@code -Djmh.executor=CUSTOM -Djmh.executor.class=io.sluice.bench.EventLoopThreads})
 * whose worker threads are Netty {@link FastThreadLocalThread}s, like Sluice's event loops. Netty 4.2
 * only recycles pooled slices and outbound-buffer entries on such threads; on JMH's plain threads
 * every recycled object would be a fresh allocation and {@code gc.alloc.rate.norm} would describe a
 * thread Sluice never uses.
 */
public final class EventLoopThreads extends ThreadPoolExecutor {
    public EventLoopThreads(int maxThreads, String prefix) {
        super(maxThreads, maxThreads, 1, TimeUnit.MINUTES, new LinkedBlockingQueue<>(), new Factory(prefix));
    }

    private static final class Factory implements java.util.concurrent.ThreadFactory {
        private final String prefix;
        private final AtomicInteger n = new AtomicInteger();

        Factory(String prefix) {
            this.prefix = prefix;
        }

        @Override
        public Thread newThread(Runnable r) {
            Thread t = new FastThreadLocalThread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        }
    }
}
