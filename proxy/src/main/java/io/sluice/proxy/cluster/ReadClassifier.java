package io.sluice.proxy.cluster;

import io.netty.buffer.ByteBuf;
import io.sluice.proxy.protocol.SqlText;


/**
 * Decides, from a statement's text alone, whether it may run on a replica: a plain read that
 * neither writes, locks, reads what only its own connection knows (LAST_INSERT_ID(), FOUND_ROWS(),
 * sequences), nor assigns a variable. One pass over the bytes, skipping string literals, quoted
 * names and comments (but reading the inside of {@code /*! ... * /} version comments, which the
 * server runs). Conservative: anything it is not sure of goes to the primary, where it is always
 * correct; a stored function that writes, called from a SELECT, cannot be seen here (the
 * {@code /* sluice:primary * /} hint, or {@code read-write-split = false}, covers it).
 * Stateless and thread-safe; runs on the session's event loop, only when there are replicas.
 */
public final class ReadClassifier {
    /** May run on a replica. */
    public static final int READ = 1;
    /** {@code START TRANSACTION READ ONLY}: the transaction may run on a replica. */
    public static final int READ_ONLY_TRANSACTION = 1 << 1;
    /** The text carries the {@code sluice:primary} hint in a comment. */
    public static final int PRIMARY_HINT = 1 << 2;

    private static final String HINT = "sluice:primary";

    /** Words that make any statement primary-only wherever they appear outside quotes and comments (hashes, sorted). */
    private static final long[] PRIMARY_WORDS = hashes(
            // writes and DDL inside a CTE or EXPLAIN ANALYZE, and SELECT ... INTO
            "INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "TRUNCATE", "RENAME", "GRANT",
            "REVOKE", "LOAD", "CALL", "HANDLER", "INTO", "ANALYZE", "OPTIMIZE",
            // locking reads (FOR UPDATE is caught by UPDATE; FOR SHARE and LOCK IN SHARE MODE here)
            "SHARE", "LOCK",
            // functions with side effects or answers only the connection that wrote knows
            "GET_LOCK", "RELEASE_LOCK", "RELEASE_ALL_LOCKS", "IS_FREE_LOCK", "IS_USED_LOCK", "LAST_INSERT_ID",
            "NEXTVAL", "SETVAL", "LASTVAL", "NEXT", "PREVIOUS", "FOUND_ROWS", "ROW_COUNT", "SQL_CALC_FOUND_ROWS",
            "MASTER_POS_WAIT", "MASTER_GTID_WAIT", "WAIT_FOR_EXECUTED_GTID_SET", "SOURCE_POS_WAIT",
            // server variables that describe this connection's own last write
            "@@LAST_INSERT_ID", "@@IDENTITY", "@@LAST_GTID", "@@INSERT_ID");

    // First words of a statement that only reads, when nothing else in it says otherwise; and the
    // words of START TRANSACTION READ ONLY / READ WRITE.
    private static final long SELECT = hash("SELECT");
    private static final long WITH = hash("WITH");
    private static final long DESC = hash("DESC");
    private static final long DESCRIBE = hash("DESCRIBE");
    private static final long EXPLAIN = hash("EXPLAIN");
    private static final long ANALYZE = hash("ANALYZE");
    private static final long START = hash("START");
    private static final long TRANSACTION = hash("TRANSACTION");
    private static final long ONLY = hash("ONLY");
    private static final long WRITE = hash("WRITE");
    private static final long AT_AT = hash("@@");

    /** Words are compared by a 64-bit hash of their upper-case bytes: no allocation per statement. */
    static long hash(String upper) {
        long h = 0;
        for (int i = 0; i < upper.length(); i++) {
            h = h * 31 + upper.charAt(i);
        }
        return h;
    }

    private static long[] hashes(String... words) {
        long[] h = new long[words.length];
        for (int i = 0; i < words.length; i++) {
            h[i] = hash(words[i]);
        }
        java.util.Arrays.sort(h);
        return h;
    }

    private static int upper(byte c) {
        return c >= 'a' && c <= 'z' ? c - 32 : c & 0xff;
    }

    private ReadClassifier() {
    }

    /** Classifies the SQL text {@code [from, to)} of {@code buf} (borrowed, not changed). */
    public static int classify(ByteBuf buf, int from, int to) {
        int result = 0;
        int words = 0;
        boolean read = false;
        boolean disqualified = false;
        long first = 0;
        long second = 0;
        boolean readOnlyTxn = false;
        boolean afterSemicolon = false;
        int i = from;
        while (i < to) {
            byte c = buf.getByte(i);
            if (c == '\'' || c == '"' || c == '`') {
                i = SqlText.skipQuoted(buf, i + 1, to, c);
                continue;
            }
            if (c == '#' || c == '-' && i + 2 < to && buf.getByte(i + 1) == '-' && isSpace(buf.getByte(i + 2))) {
                int end = i;
                while (end < to && buf.getByte(end) != '\n') {
                    end++;
                }
                if (containsHint(buf, i, end)) {
                    result |= PRIMARY_HINT;
                }
                i = end;
                continue;
            }
            if (c == '/' && i + 1 < to && buf.getByte(i + 1) == '*') {
                if (i + 2 < to && buf.getByte(i + 2) == '!') { // version comment: its inside runs
                    i += 3;
                    while (i < to && Character.isDigit(buf.getByte(i))) {
                        i++;
                    }
                    continue;
                }
                int end = i + 2;
                while (end + 1 < to && !(buf.getByte(end) == '*' && buf.getByte(end + 1) == '/')) {
                    end++;
                }
                if (containsHint(buf, i, Math.min(end + 2, to))) {
                    result |= PRIMARY_HINT;
                }
                i = end + 2;
                continue;
            }
            if (c == '*' && i + 1 < to && buf.getByte(i + 1) == '/') { // end of a version comment
                i += 2;
                continue;
            }
            if (c == ';') {
                afterSemicolon = true;
                i++;
                continue;
            }
            if (c == ':' && i + 1 < to && buf.getByte(i + 1) == '=') {
                disqualified = true; // := assigns a user variable
                i += 2;
                continue;
            }
            if (isWordStart(c)) {
                boolean variable = c == '@' && i + 1 < to && buf.getByte(i + 1) == '@';
                long h = 0;
                while (i < to && isWordChar(c = buf.getByte(i))) {
                    // @@session.x and @@local.x name the same variable as @@x
                    h = c == '.' && variable ? AT_AT : h * 31 + upper(c);
                    i++;
                }
                if (afterSemicolon) {
                    disqualified = true; // a second statement: the primary runs the whole text
                }
                words++;
                if (words == 1) {
                    first = h;
                    read = h == SELECT || h == WITH || h == DESC || h == DESCRIBE || h == EXPLAIN;
                } else if (words == 2) {
                    second = h;
                    if (first == EXPLAIN && h == ANALYZE) {
                        disqualified = true;
                    }
                }
                if (java.util.Arrays.binarySearch(PRIMARY_WORDS, h) >= 0) {
                    disqualified = true;
                }
                if (first == START && second == TRANSACTION && h == ONLY) {
                    readOnlyTxn = true;
                }
                if (first == START && h == WRITE) {
                    readOnlyTxn = false;
                    disqualified = true;
                }
                continue;
            }
            if (c == '(' && words == 0) {
                read = true; // (SELECT ...) UNION (SELECT ...)
            }
            i++;
        }
        if (read && !disqualified) {
            result |= READ;
        }
        if (readOnlyTxn && !disqualified) {
            result |= READ_ONLY_TRANSACTION;
        }
        return result;
    }

    /** Convenience for tests and the prepare path: classifies a Java string. */
    public static int classify(String sql) {
        ByteBuf b = io.netty.buffer.Unpooled.copiedBuffer(sql, java.nio.charset.StandardCharsets.UTF_8);
        try {
            return classify(b, 0, b.writerIndex());
        } finally {
            b.release();
        }
    }

    private static boolean containsHint(ByteBuf buf, int from, int to) {
        int n = HINT.length();
        for (int i = from; i + n <= to; i++) {
            int j = 0;
            while (j < n && Character.toLowerCase((char) buf.getByte(i + j)) == HINT.charAt(j)) {
                j++;
            }
            if (j == n) {
                return true;
            }
        }
        return false;
    }

    private static boolean isSpace(byte c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    }

    private static boolean isWordStart(byte c) {
        return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' || c == '@' || c < 0;
    }

    private static boolean isWordChar(byte c) {
        return isWordStart(c) || c >= '0' && c <= '9' || c == '$' || c == '.';
    }
}
