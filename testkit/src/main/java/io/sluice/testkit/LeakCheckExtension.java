package io.sluice.testkit;

import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class whose code leaked a Netty buffer (or any other tracked resource):
 * {@code @ExtendWith(LeakCheckExtension.class)}.
 *
 * <p>{@code beforeAll} installs {@link LeakRecorder} (once per JVM, which also sets PARANOID
 * detection unless {@code io.netty.leakDetectionLevel} is set) and marks the position;
 * {@code afterAll} provokes detection (GC plus a few allocations, about 100 ms) and throws an
 * {@link AssertionError} listing every report recorded since the mark. A leak is blamed on the
 * class during which Netty detected it, which is nearly always the class that leaked, since each
 * class ends by provoking detection.
 */
public final class LeakCheckExtension implements BeforeAllCallback, AfterAllCallback {

  private static final ExtensionContext.Namespace NAMESPACE =
      ExtensionContext.Namespace.create(LeakCheckExtension.class);
  private static final String MARK = "leakMark";

  @Override
  public void beforeAll(ExtensionContext context) {
    context.getStore(NAMESPACE).put(MARK, begin());
  }

  @Override
  public void afterAll(ExtensionContext context) {
    Integer mark = context.getStore(NAMESPACE).remove(MARK, Integer.class);
    finish(mark == null ? 0 : mark, context.getDisplayName());
  }

  /** Installs the recorder and returns the mark for {@link #finish}. */
  static int begin() {
    LeakRecorder.install();
    return LeakRecorder.mark();
  }

  /** Provokes detection and throws if anything leaked since {@code mark}. */
  static void finish(int mark, String what) {
    LeakRecorder.provokeDetection();
    List<String> leaks = LeakRecorder.leaksSince(mark);
    if (!leaks.isEmpty()) {
      StringBuilder message = new StringBuilder()
          .append(leaks.size()).append(" Netty resource leak(s) detected during ").append(what)
          .append(" (a buffer was garbage-collected without release()):");
      for (int i = 0; i < leaks.size(); i++) {
        message.append("\n\n#").append(i + 1).append(": ").append(leaks.get(i));
      }
      throw new AssertionError(message.toString());
    }
  }
}
