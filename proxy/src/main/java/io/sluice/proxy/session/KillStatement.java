package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;

/**
 * Recognises {@code KILL [CONNECTION | QUERY] <id>} in a COM_QUERY payload, so Sluice can map its
 * own connection id to the backend thread serving that session. Any other statement starting with
 * KILL is reported as {@link #UNSUPPORTED}: forwarding it could kill another client's work, since
 * ids clients see are Sluice's, not the server's.
 *
 * @param query true for KILL QUERY, false for KILL [CONNECTION]
 */
public record KillStatement(boolean query, long id) {
    /** A KILL form Sluice does not translate. */
    public static final KillStatement UNSUPPORTED = new KillStatement(false, -1);

    /**
     * Parses the SQL in {@code sql} from index {@code from} to {@code end} (the bytes after the
     * COM_QUERY byte; {@code sql} is borrowed, its indexes untouched). Returns null when the
     * statement is not a KILL at all: the common case, decided from the first word without
     * allocating, since it runs for every query a client sends.
     */
    public static KillStatement parse(ByteBuf sql, int from, int end) {
        int i = skipSpaceAndComments(sql, from, end);
        if (!word(sql, i, end, "KILL")) {
            return null;
        }
        i = skipSpaceAndComments(sql, i + 4, end);
        boolean query = false;
        if (word(sql, i, end, "QUERY")) {
            query = true;
            i = skipSpaceAndComments(sql, i + 5, end);
        } else if (word(sql, i, end, "CONNECTION")) {
            i = skipSpaceAndComments(sql, i + 10, end);
        }
        long id = 0;
        int digits = 0;
        while (i < end && Character.isDigit(sql.getByte(i)) && digits < 19) {
            id = id * 10 + (sql.getByte(i) - '0');
            i++;
            digits++;
        }
        if (digits == 0) {
            return UNSUPPORTED;
        }
        i = skipSpaceAndComments(sql, i, end);
        if (i < end && sql.getByte(i) == ';') {
            i = skipSpaceAndComments(sql, i + 1, end);
        }
        return i == end ? new KillStatement(query, id) : UNSUPPORTED;
    }

    private static boolean word(ByteBuf b, int i, int end, String w) {
        if (end - i < w.length()) {
            return false;
        }
        for (int k = 0; k < w.length(); k++) {
            if (Character.toUpperCase(b.getByte(i + k)) != w.charAt(k)) {
                return false;
            }
        }
        int after = i + w.length();
        return after == end || !Character.isLetterOrDigit(b.getByte(after)) && b.getByte(after) != '_';
    }

    private static int skipSpaceAndComments(ByteBuf b, int i, int end) {
        while (i < end) {
            byte c = b.getByte(i);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                i++;
            } else if (c == '/' && i + 1 < end && b.getByte(i + 1) == '*') {
                int close = i + 2;
                while (close + 1 < end && !(b.getByte(close) == '*' && b.getByte(close + 1) == '/')) {
                    close++;
                }
                i = Math.min(end, close + 2);
            } else {
                break;
            }
        }
        return i;
    }
}
