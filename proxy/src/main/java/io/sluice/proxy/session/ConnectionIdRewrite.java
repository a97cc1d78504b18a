package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.SqlText;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * {@code CONNECTION_ID()} on the server is the thread id of whichever backend runs the statement:
 * in transaction mode it changes from statement to statement, and in both modes it is not the id
 * the handshake gave the client, which is the one {@code KILL} takes. Sluice answers it with the
 * session's own id: every call in the text of a COM_QUERY or COM_STMT_PREPARE (outside strings,
 * quoted names and comments) becomes that number; a call that is a whole item of a select list
 * without an alias keeps its column name ({@code 42 AS `CONNECTION_ID()`}, spelled as the client
 * wrote it). Calls inside SQL {@code PREPARE} strings, stored routines, views and triggers run on
 * the server and still return the backend's thread id; so does {@code @@pseudo_thread_id}.
 *
 * <p>Pure byte scanning of an ASCII-compatible statement (every client character set MySQL
 * accepts is); a statement that contains no {@code CONNECTION_ID} goes through untouched.
 */
final class ConnectionIdRewrite {
    private static final byte[] NAME = "CONNECTION_ID".getBytes(StandardCharsets.US_ASCII);
    /** Words after which an unaliased call is a select-list item. */
    private static final String[] ITEM_BEFORE = {"SELECT", "DISTINCT", "ALL", "DISTINCTROW"};
    /** Words that end a select list at the same parenthesis depth. */
    private static final String[] LIST_END = {"FROM", "INTO", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "UNION",
        "EXCEPT", "INTERSECT", "FOR", "LOCK", "WINDOW", "PROCEDURE"};
    private static final int MAX_DEPTH = 64;

    private ConnectionIdRewrite() {
    }

    /**
     * The command to send instead of {@code packet} (a COM_QUERY or COM_STMT_PREPARE, sequence id
     * 0) when its statement calls CONNECTION_ID() (then {@code packet} is released), else
     * {@code packet} itself. Statements of 16 MiB or more are left alone.
     */
    static ByteBuf rewrite(ByteBufAllocator alloc, ByteBuf packet, long id) {
        int length = Packets.payloadLength(packet);
        if (length <= 1 || length >= Packets.MAX_PAYLOAD) {
            return packet;
        }
        int from = packet.readerIndex() + Packets.HEADER_SIZE + 1;
        if (!mentions(packet, from, from + length - 1)) {
            return packet;
        }
        byte[] sql = new byte[length - 1];
        packet.getBytes(from, sql);
        byte[] rewritten = rewrite(sql, id);
        if (rewritten == null || rewritten.length + 1 >= Packets.MAX_PAYLOAD) {
            return packet;
        }
        int command = packet.getUnsignedByte(from - 1);
        int seq = Packets.sequenceId(packet);
        packet.release();
        ByteBuf out = Packets.start(alloc, 1 + rewritten.length);
        out.writeByte(command).writeBytes(rewritten);
        return Packets.finish(out, seq);
    }

    /** Stops at a 'c' or 'C', where CONNECTION_ID may start. */
    private static final io.netty.util.ByteProcessor FIND_C = v -> (v | 0x20) != 'c';

    /**
     * Whether {@code b[from, end)} contains CONNECTION_ID in any case: the test every statement
     * takes, so it walks the bytes with {@link ByteBuf#forEachByte} and compares only at a 'c'.
     */
    private static boolean mentions(ByteBuf b, int from, int end) {
        int i = from;
        while (i + NAME.length <= end) {
            i = b.forEachByte(i, end - NAME.length + 1 - i, FIND_C);
            if (i < 0) {
                return false;
            }
            if (matchesName(b, i)) {
                return true;
            }
            i++;
        }
        return false;
    }

    private static boolean matchesName(ByteBuf b, int i) {
        for (int k = 0; k < NAME.length; k++) {
            if (Character.toUpperCase((char) (b.getByte(i + k) & 0xff)) != NAME[k]) {
                return false;
            }
        }
        return true;
    }

    /** The statement with every CONNECTION_ID() call replaced by {@code id}, or null when it has none. */
    static byte[] rewrite(byte[] sql, long id) {
        StringBuilder out = null;
        int copied = 0;
        int n = sql.length;
        int depth = 0;
        boolean[] selectList = new boolean[MAX_DEPTH + 1];
        String prevWord = null; // the previous significant token when it was a word
        int prevChar = -1;      // ...or when it was punctuation
        ByteBuf quoted = Unpooled.wrappedBuffer(sql); // for the quoting rules StatementClassifier knows
        int i = 0;
        while (i < n) {
            int c = sql[i] & 0xff;
            if (c == '\'' || c == '"') {
                i = SqlText.skipQuoted(quoted, i + 1, n, (byte) c);
                prevWord = null;
                prevChar = 'x';
            } else if (c == '`') {
                i = SqlText.skipQuoted(quoted, i + 1, n, (byte) '`');
                prevWord = "`";
                prevChar = -1;
            } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
                i = indexOf(sql, i + 2, "*/");
            } else if (c == '#' || c == '-' && i + 2 < n && sql[i + 1] == '-' && sql[i + 2] <= ' ') {
                while (i < n && sql[i] != '\n') {
                    i++;
                }
            } else if (isWordChar(c)) {
                int start = i;
                while (i < n && isWordChar(sql[i] & 0xff)) {
                    i++;
                }
                String word = new String(sql, start, i - start, StandardCharsets.ISO_8859_1).toUpperCase(java.util.Locale.ROOT);
                int end = word.equals("CONNECTION_ID") && prevChar != '.' ? callEnd(sql, i) : -1;
                if (end > 0) {
                    int next = skipSpace(sql, end);
                    boolean item = depth <= MAX_DEPTH && selectList[depth]
                            && (prevChar == ',' || prevWord != null && contains(ITEM_BEFORE, prevWord))
                            && (next == n || sql[next] == ',' || sql[next] == ';' || sql[next] == ')' && depth > 0
                                || startsListEnd(sql, next));
                    if (out == null) {
                        out = new StringBuilder(n + 32);
                    }
                    out.append(new String(sql, copied, start - copied, StandardCharsets.ISO_8859_1));
                    out.append(Long.toUnsignedString(id));
                    if (item) {
                        out.append(" AS `").append(new String(sql, start, end - start, StandardCharsets.ISO_8859_1)).append('`');
                    }
                    copied = end;
                    i = end;
                    prevWord = null;
                    prevChar = 'x';
                    continue;
                }
                if (depth <= MAX_DEPTH) {
                    if (word.equals("SELECT")) {
                        selectList[depth] = true;
                    } else if (contains(LIST_END, word)) {
                        selectList[depth] = false;
                    }
                }
                prevWord = word;
                prevChar = -1;
            } else if (c <= ' ') {
                i++;
            } else {
                if (c == '(') {
                    depth++;
                    if (depth <= MAX_DEPTH) {
                        selectList[depth] = false;
                    }
                } else if (c == ')' && depth > 0) {
                    depth--;
                }
                prevWord = null;
                prevChar = c;
                i++;
            }
        }
        if (out == null) {
            return null;
        }
        out.append(new String(sql, copied, n - copied, StandardCharsets.ISO_8859_1));
        return out.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    private static boolean isWordChar(int c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80;
    }

    /** After the word CONNECTION_ID at {@code i}: the index after {@code ( )}, or -1 when it is not a call. */
    private static int callEnd(byte[] sql, int i) {
        int j = skipSpace(sql, i);
        if (j >= sql.length || sql[j] != '(') {
            return -1;
        }
        j = skipSpace(sql, j + 1);
        return j < sql.length && sql[j] == ')' ? j + 1 : -1;
    }

    private static int skipSpace(byte[] sql, int i) {
        while (i < sql.length && (sql[i] & 0xff) <= ' ') {
            i++;
        }
        return i;
    }

    private static boolean startsListEnd(byte[] sql, int i) {
        int j = i;
        while (j < sql.length && isWordChar(sql[j] & 0xff)) {
            j++;
        }
        return j > i && contains(LIST_END, new String(sql, i, j - i, StandardCharsets.ISO_8859_1).toUpperCase(java.util.Locale.ROOT));
    }

    private static boolean contains(String[] words, String w) {
        return Arrays.asList(words).contains(w);
    }

    private static int indexOf(byte[] sql, int from, String s) {
        for (int i = from; i + s.length() <= sql.length; i++) {
            if (sql[i] == s.charAt(0) && sql[i + 1] == s.charAt(1)) {
                return i + s.length();
            }
        }
        return sql.length;
    }
}
