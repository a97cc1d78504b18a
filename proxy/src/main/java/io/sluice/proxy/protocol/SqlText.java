package io.sluice.proxy.protocol;

import io.netty.buffer.ByteBuf;

/**
 * Reading SQL text as the server lexes it, for the few places Sluice looks into a statement
 * (pins and movable state, CONNECTION_ID() rewriting, read/write routing): one rule for quoted
 * strings and names, so no two readers disagree on where a literal ends.
 */
public final class SqlText {
    private SqlText() {
    }

    /**
     * Past a quoted string or name that opened just before {@code i}: doubled quotes, and (except in
     * `names`) backslash escapes; {@code to} when it does not end.
     */
    public static int skipQuoted(ByteBuf buf, int i, int to, byte quote) {
        while (i < to) {
            byte c = buf.getByte(i);
            if (c == '\\' && quote != '`') {
                i += 2;
                continue;
            }
            if (c == quote) {
                if (i + 1 < to && buf.getByte(i + 1) == quote) {
                    i += 2;
                    continue;
                }
                return i + 1;
            }
            i++;
        }
        return to;
    }

    /** {@link #skipQuoted(ByteBuf, int, int, byte)} over an array (the statement digests read a copy). */
    public static int skipQuoted(byte[] buf, int i, int to, byte quote) {
        while (i < to) {
            byte c = buf[i];
            if (c == '\\' && quote != '`') {
                i += 2;
                continue;
            }
            if (c == quote) {
                if (i + 1 < to && buf[i + 1] == quote) {
                    i += 2;
                    continue;
                }
                return i + 1;
            }
            i++;
        }
        return to;
    }
}
