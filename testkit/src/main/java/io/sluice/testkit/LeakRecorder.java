package io.sluice.testkit;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records every Netty leak report of this JVM so that a test can fail on it, instead of leaving
 * "LEAK:" lines in a log nobody reads. {@link #install()} replaces Netty's
 * {@link ResourceLeakDetectorFactory} with one whose detectors keep the report text in a list (and
 * still log it through Netty's logger, as the default detector does).
 *
 * <p>Netty reports a leak only when the leaked object has been garbage-collected <em>and</em> a
 * later allocation of the same type polls the detector's reference queue;
 * {@link #provokeDetection()} makes both happen.
 *
 * <p>Thread-safe; the list is shared by the whole JVM, so callers take a {@link #mark()} and ask
 * for {@link #leaksSince(int)} to see only their own window (as {@link LeakCheckExtension} does
 * per test class). Leaks are blamed on the window in which they are <em>detected</em>.
 */
public final class LeakRecorder {

  private static final Logger log = LoggerFactory.getLogger(LeakRecorder.class);

  /** Every report since install, oldest first; guarded by itself. */
  private static final List<String> reports = new ArrayList<>();
  private static boolean installed;
  /**
   * Above zero while a test of the leak check itself leaks on purpose: reports are still recorded
   * but logged at INFO without Netty's "LEAK:" prefix, so the build's log scan does not trip.
   */
  private static volatile int quietDepth;

  private LeakRecorder() {}

  /**
   * Installs the recording detector factory once per JVM and, when neither
   * {@code io.netty.leakDetectionLevel} nor {@code io.netty.leakDetection.level} is set, sets the
   * level to PARANOID (track every buffer, with access records). Call it before Netty creates its
   * first buffer: the ByteBuf detector is created when {@code AbstractByteBuf} is initialised. If
   * that already happened, a leak listener is attached to the existing detector instead.
   */
  public static synchronized void install() {
    if (installed) {
      return;
    }
    installed = true;
    if (System.getProperty("io.netty.leakDetectionLevel") == null
        && System.getProperty("io.netty.leakDetection.level") == null) {
      ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    }
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
    ensureByteBufDetectorRecords();
    log.debug("Netty leak recording installed, level {}", ResourceLeakDetector.getLevel());
  }

  static synchronized boolean isInstalled() {
    return installed;
  }

  /** The position to pass to {@link #leaksSince(int)}: the number of reports recorded so far. */
  public static int mark() {
    synchronized (reports) {
      return reports.size();
    }
  }

  /** Reports recorded after {@code mark} (each a resource type and its access records). */
  public static List<String> leaksSince(int mark) {
    synchronized (reports) {
      return List.copyOf(reports.subList(Math.min(mark, reports.size()), reports.size()));
    }
  }

  /**
   * Makes Netty report buffers that are unreachable but were not released: runs the garbage
   * collector a few times, pausing so the JVM can enqueue cleared references, and allocates and
   * releases a few buffers after each round, since detectors only poll on allocation.
   * Takes about 100 ms.
   */
  public static void provokeDetection() {
    ByteBufAllocator[] allocators = {
      PooledByteBufAllocator.DEFAULT, ByteBufAllocator.DEFAULT, UnpooledByteBufAllocator.DEFAULT
    };
    for (int round = 0; round < 4; round++) {
      System.gc();
      try {
        Thread.sleep(25);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      for (ByteBufAllocator allocator : allocators) {
        allocator.heapBuffer(16).release();
        allocator.directBuffer(16).release();
      }
    }
  }

  /**
   * Runs {@code action} with leak logging turned down to INFO and without the "LEAK:" marker; for
   * tests that leak on purpose to test the leak check. Reports are recorded as usual.
   */
  static void quietly(Runnable action) {
    synchronized (LeakRecorder.class) {
      quietDepth++;
    }
    try {
      action.run();
    } finally {
      synchronized (LeakRecorder.class) {
        quietDepth--;
      }
    }
  }

  private static void record(String resourceType, String records) {
    String report = records.isEmpty()
        ? resourceType + " leaked; no access records (raise io.netty.leakDetectionLevel to paranoid)"
        : resourceType + " leaked:" + records;
    synchronized (reports) {
      reports.add(report);
    }
  }

  /**
   * The ByteBuf detector is a static of AbstractByteBuf, created from the factory when that class
   * is initialised: initialise it now (if nobody has), and if it was created earlier by Netty's
   * default factory, attach a listener to it so its reports are recorded anyway.
   */
  private static void ensureByteBufDetectorRecords() {
    try {
      Class<?> type = Class.forName("io.netty.buffer.AbstractByteBuf", true, ByteBuf.class.getClassLoader());
      Field field = type.getDeclaredField("leakDetector");
      field.setAccessible(true);
      Object detector = field.get(null);
      if (!(detector instanceof RecordingDetector)) {
        log.info("Netty's ByteBuf leak detector was created before LeakRecorder.install(); "
            + "recording its reports through a leak listener");
        ((ResourceLeakDetector<?>) detector).setLeakListener(LeakRecorder::record);
      }
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.warn("Cannot check Netty's ByteBuf leak detector ({}); ByteBuf leaks may go unrecorded "
          + "if Netty allocated buffers before LeakRecorder.install()", e.toString());
    }
  }

  private static final class RecordingFactory extends ResourceLeakDetectorFactory {
    @Override
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(
        Class<T> resource, int samplingInterval, long maxActive) {
      return new RecordingDetector<>(resource, samplingInterval);
    }

    @Override
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval) {
      return new RecordingDetector<>(resource, samplingInterval);
    }
  }

  private static final class RecordingDetector<T> extends ResourceLeakDetector<T> {
    RecordingDetector(Class<?> resourceType, int samplingInterval) {
      super(resourceType, samplingInterval);
    }

    /** Always report: the default asks whether Netty's logger has ERROR enabled. */
    @Override
    protected boolean needReport() {
      return true;
    }

    @Override
    protected void reportTracedLeak(String resourceType, String records) {
      record(resourceType, records);
      if (quietDepth > 0) {
        log.info("Recorded an expected {} leak (leak-check self-test)", resourceType);
        log.debug("Expected leak's records:{}", records);
      } else {
        super.reportTracedLeak(resourceType, records);
      }
    }

    @Override
    protected void reportUntracedLeak(String resourceType) {
      record(resourceType, "");
      if (quietDepth > 0) {
        log.info("Recorded an expected {} leak (leak-check self-test)", resourceType);
      } else {
        super.reportUntracedLeak(resourceType);
      }
    }
  }
}
