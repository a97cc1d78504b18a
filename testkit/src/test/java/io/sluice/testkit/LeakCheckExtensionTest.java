package io.sluice.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The extension as other modules use it: a class that releases what it allocates passes. */
@ExtendWith(LeakCheckExtension.class)
class LeakCheckExtensionTest {

  @Test
  void installsTheRecorderBeforeTheTests() {
    assertTrue(LeakRecorder.isInstalled());
  }

  @Test
  void releasedBuffersAreNotLeaks() {
    ByteBuf buffer = PooledByteBufAllocator.DEFAULT.directBuffer(32);
    try {
      buffer.writeInt(0x01020304);
      ByteBuf slice = buffer.retainedSlice(0, 2);
      assertEquals(0x0102, slice.readShort());
      slice.release();
    } finally {
      buffer.release();
    }
  }

  @Test
  void buffersPassedThroughAChannelAndReleasedAreNotLeaks() {
    EmbeddedChannel channel = new EmbeddedChannel();
    channel.writeInbound(channel.alloc().buffer().writeLong(1));
    ByteBuf read = channel.readInbound();
    read.release();
    assertEquals(false, channel.finish());
  }
}
