package io.sluice.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Leaks buffers on purpose, so it drives {@link LeakRecorder} and the extension's steps directly
 * instead of using {@code @ExtendWith(LeakCheckExtension.class)}, and leaks "quietly" so that the
 * build's scan for "LEAK:" in the log stays meaningful.
 */
class LeakRecorderTest {

  private static final AtomicInteger leakIds = new AtomicInteger();

  @Test
  void recordsDeliberatelyLeakedByteBuf() {
    LeakRecorder.install();
    int mark = LeakRecorder.mark();
    String hint = "deliberate leak " + leakIds.incrementAndGet();

    LeakRecorder.quietly(() -> {
      leakOneBuffer(hint);
      LeakRecorder.provokeDetection();
    });

    List<String> ours = LeakRecorder.leaksSince(mark).stream().filter(leak -> leak.contains(hint)).toList();
    assertEquals(1, ours.size(), () -> "expected one report with '" + hint + "', got " + LeakRecorder.leaksSince(mark));
    assertTrue(ours.get(0).startsWith("ByteBuf leaked:"), ours.get(0));
    assertTrue(ours.get(0).contains("leakOneBuffer"), "the report shows where it was allocated: " + ours.get(0));
  }

  @Test
  void extensionStepsPassWithoutLeaksAndFailWithOne() {
    int cleanMark = LeakCheckExtension.begin();
    ByteBuf released = PooledByteBufAllocator.DEFAULT.directBuffer(64).writeLong(42);
    released.release();
    LeakCheckExtension.finish(cleanMark, "CleanClass"); // does not throw

    int leakyMark = LeakCheckExtension.begin();
    String hint = "deliberate leak " + leakIds.incrementAndGet();
    LeakRecorder.quietly(() -> {
      leakOneBuffer(hint);
      AssertionError failure = assertThrows(AssertionError.class,
          () -> LeakCheckExtension.finish(leakyMark, "LeakyClass"));
      assertTrue(failure.getMessage().startsWith("1 Netty resource leak(s) detected during LeakyClass"),
          failure.getMessage());
      assertTrue(failure.getMessage().contains(hint), failure.getMessage());
    });
  }

  @Test
  void installSetsParanoidOnlyWhenNoLevelIsConfigured() {
    LeakRecorder.install();
    String configured = System.getProperty("io.netty.leakDetectionLevel");
    io.netty.util.ResourceLeakDetector.Level expected = configured == null
        ? io.netty.util.ResourceLeakDetector.Level.PARANOID
        : io.netty.util.ResourceLeakDetector.Level.valueOf(configured.toUpperCase(java.util.Locale.ROOT));
    assertEquals(expected, io.netty.util.ResourceLeakDetector.getLevel());
  }

  /** Allocates a pooled buffer, marks it with {@code hint}, and drops it without release(). */
  private static void leakOneBuffer(String hint) {
    ByteBuf buffer = PooledByteBufAllocator.DEFAULT.directBuffer(64);
    buffer.writeLong(7);
    buffer.touch(hint);
  }
}
