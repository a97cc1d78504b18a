package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.sluice.proxy.protocol.Packets;

import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code SELECT ROW_COUNT()} and {@code SELECT FOUND_ROWS()} report on the previous statement of the
 * server connection. In transaction mode that statement may have been another session's; Sluice
 * knows what the session's own previous statement gave (affected rows from its OK packet, rows of
 * its result set) and, for these two statements on their own, sends the value as a literal with the
 * column named as the server would name it.
 */
final class PreviousResult {
    private static final Pattern STANDALONE = Pattern.compile(
            "\\s*select\\s+((row_count|found_rows)\\s*\\(\\s*\\))\\s*;?\\s*", Pattern.CASE_INSENSITIVE);

    private PreviousResult() {
    }

    /**
     * The COM_QUERY to send instead of {@code packet} when it is a standalone SELECT ROW_COUNT() or
     * FOUND_ROWS() (then {@code packet} is released), else {@code packet} itself.
     */
    static ByteBuf rewrite(ByteBufAllocator alloc, ByteBuf packet, long rowCount, long foundRows) {
        int length = Packets.payloadLength(packet) - 1;
        if (length > 64 || length <= 0) {
            return packet;
        }
        String sql = packet.toString(packet.readerIndex() + Packets.HEADER_SIZE + 1, length, StandardCharsets.ISO_8859_1);
        String replacement = replacement(sql, rowCount, foundRows);
        if (replacement == null) {
            return packet;
        }
        packet.release();
        return Packets.query(alloc, replacement);
    }

    /** The literal SELECT for a standalone ROW_COUNT() / FOUND_ROWS() query, or null for anything else. */
    static String replacement(String sql, long rowCount, long foundRows) {
        Matcher m = STANDALONE.matcher(sql);
        if (!m.matches()) {
            return null;
        }
        boolean rows = m.group(2).equalsIgnoreCase("row_count");
        return "SELECT " + (rows ? rowCount : foundRows) + " AS `" + m.group(1) + "`";
    }
}
