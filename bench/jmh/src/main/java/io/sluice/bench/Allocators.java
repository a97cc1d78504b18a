package io.sluice.bench;

import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;

/** The allocators a Sluice channel may read into: Netty 4.2's default (adaptive) and the classic pooled one. */
final class Allocators {
    private Allocators() {
    }

    static ByteBufAllocator named(String name) {
        return switch (name) {
            case "default" -> ByteBufAllocator.DEFAULT;
            case "adaptive" -> new AdaptiveByteBufAllocator();
            case "pooled" -> PooledByteBufAllocator.DEFAULT;
            default -> throw new IllegalArgumentException(name);
        };
    }
}
