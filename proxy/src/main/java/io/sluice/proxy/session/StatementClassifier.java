package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.sluice.proxy.protocol.SqlText;

/**
 * Finds, in COM_QUERY text, the session state the server's session tracking does not describe
 * precisely enough to move or to know when it ends: user variables, locks, temporary tables, SQL
 * PREPARE, SQL_CALC_FOUND_ROWS, XA, HANDLER, one-shot SET TRANSACTION. One pass over the bytes,
 * skipping string literals, quoted identifiers and comments; no allocation. Conservative: a false
 * positive only pins a session longer than needed.
 */
final class StatementClassifier {
    static final int USER_VARIABLE = 1;
    static final int GET_LOCK = 1 << 1;
    static final int RELEASE_LOCK = 1 << 2;
    static final int RELEASE_ALL_LOCKS = 1 << 3;
    static final int LOCK_TABLES = 1 << 4;
    static final int UNLOCK_TABLES = 1 << 5;
    static final int CREATE_TEMPORARY = 1 << 6;
    static final int DROP_TEMPORARY = 1 << 7;
    static final int SQL_PREPARE = 1 << 8;
    static final int SQL_DEALLOCATE = 1 << 9;
    static final int CALC_FOUND_ROWS = 1 << 10;
    static final int XA_START = 1 << 11;
    static final int XA_END = 1 << 12;
    static final int HANDLER_OPEN = 1 << 13;
    static final int HANDLER_CLOSE = 1 << 14;
    static final int SET_TRANSACTION = 1 << 15;
    static final int LAST_INSERT_ID = 1 << 16;
    /** FOUND_ROWS() or ROW_COUNT(): values of the previous statement on the same connection. */
    static final int PREVIOUS_RESULT = 1 << 17;
    /** Changes session tracking itself (session_track_*), which Sluice relies on. */
    static final int TRACKING_VARIABLE = 1 << 18;
    /** A SET statement that mentions user variables: maybe simple enough to replay elsewhere. */
    static final int USER_VARIABLE_SET = 1 << 19;
    /** Reads user variables (without assigning them). */
    static final int USER_VARIABLE_READ = 1 << 20;
    /** COMMIT or ROLLBACK (not ROLLBACK TO SAVEPOINT): ends the transaction. */
    static final int TRANSACTION_END = 1 << 21;

    private StatementClassifier() {
    }

    /** Classifies the SQL bytes {@code [from, to)} of {@code buf} (borrowed). */
    static int classify(ByteBuf buf, int from, int to) {
        int flags = 0;
        long w1 = 0; // current statement's first word (hash), second word, previous word
        long w2 = 0;
        long prev = 0;
        long prev2 = 0;
        int wordsInStatement = 0;
        int i = from;
        while (i < to) {
            byte c = buf.getByte(i);
            switch (c) {
                case '\'', '"', '`' -> {
                    i = SqlText.skipQuoted(buf, i + 1, to, c);
                    prev2 = prev;
                    prev = 0;
                    continue;
                }
                case '#' -> {
                    i = skipLine(buf, i, to);
                    continue;
                }
                case '-' -> {
                    if (i + 2 < to && buf.getByte(i + 1) == '-' && (buf.getByte(i + 2) == ' ' || buf.getByte(i + 2) == '\t')) {
                        i = skipLine(buf, i, to);
                        continue;
                    }
                }
                case '/' -> {
                    if (i + 1 < to && buf.getByte(i + 1) == '*' && !(i + 2 < to && buf.getByte(i + 2) == '!')) {
                        int j = i + 2;
                        while (j + 1 < to && !(buf.getByte(j) == '*' && buf.getByte(j + 1) == '/')) {
                            j++;
                        }
                        i = j + 2;
                        continue;
                    }
                }
                case ';' -> {
                    wordsInStatement = 0;
                    w1 = w2 = prev = prev2 = 0;
                    i++;
                    continue;
                }
                case '@' -> {
                    boolean system = i + 1 < to && buf.getByte(i + 1) == '@';
                    if (system) {
                        // @@session.session_track_... changes tracking; plain @@vars are tracked by the server.
                        int j = i + 2;
                        while (j < to && isWordChar(buf.getByte(j)) || j < to && buf.getByte(j) == '.') {
                            j++;
                        }
                        if (contains(buf, i + 2, j, "SESSION_TRACK")) {
                            flags |= TRACKING_VARIABLE;
                        }
                        i = j;
                    } else {
                        // Assignment (":=", "INTO @x", or a SET) pins or is replayed; a plain read moves.
                        int j = i + 1;
                        while (j < to && (isWordChar(buf.getByte(j)) || buf.getByte(j) == '.')) {
                            j++;
                        }
                        byte next = nextNonSpace(buf, j, to);
                        int k = j;
                        while (k < to && (buf.getByte(k) == ' ' || buf.getByte(k) == '\t' || buf.getByte(k) == '\n')) {
                            k++;
                        }
                        boolean assigns = next == ':' && k + 1 < to && buf.getByte(k + 1) == '=';
                        if (assigns || prev == INTO_H) {
                            flags |= USER_VARIABLE;
                        } else if (w1 == SET_H) {
                            flags |= USER_VARIABLE_SET;
                        } else {
                            flags |= USER_VARIABLE_READ;
                        }
                        i = j;
                    }
                    continue;
                }
                default -> {
                }
            }
            if (isWordStart(c)) {
                int start = i;
                while (i < to && isWordChar(buf.getByte(i))) {
                    i++;
                }
                long h = hash(buf, start, i);
                boolean call = nextNonSpace(buf, i, to) == '(';
                wordsInStatement++;
                if (wordsInStatement == 1) {
                    w1 = h;
                } else if (wordsInStatement == 2) {
                    w2 = h;
                }
                if (call) {
                    if (h == GET_LOCK_H) flags |= GET_LOCK;
                    else if (h == RELEASE_LOCK_H) flags |= RELEASE_LOCK;
                    else if (h == RELEASE_ALL_LOCKS_H) flags |= RELEASE_ALL_LOCKS;
                    else if (h == LAST_INSERT_ID_H) flags |= LAST_INSERT_ID;
                    else if (h == FOUND_ROWS_H || h == ROW_COUNT_H) flags |= PREVIOUS_RESULT;
                }
                if (h == SQL_CALC_FOUND_ROWS_H) flags |= CALC_FOUND_ROWS;
                if (h == SESSION_TRACK_PREFIX_H || startsWith(buf, start, i, "SESSION_TRACK_")) {
                    if (w1 == SET_H) flags |= TRACKING_VARIABLE;
                }
                if (wordsInStatement == 2) {
                    if (w1 == LOCK_H && (h == TABLES_H || h == TABLE_H)) flags |= LOCK_TABLES;
                    if (w1 == UNLOCK_H && (h == TABLES_H || h == TABLE_H)) flags |= UNLOCK_TABLES;
                    if (w1 == CREATE_H && h == TEMPORARY_H) flags |= CREATE_TEMPORARY;
                    if (w1 == DROP_H && h == TEMPORARY_H) flags |= DROP_TEMPORARY;
                    if ((w1 == DEALLOCATE_H || w1 == DROP_H) && h == PREPARE_H) flags |= SQL_DEALLOCATE;
                    if (w1 == XA_H && (h == START_H || h == BEGIN_H)) flags |= XA_START;
                    if (w1 == XA_H && (h == COMMIT_H || h == ROLLBACK_H)) flags |= XA_END;
                    if (w1 == SET_H && h == TRANSACTION_H) flags |= SET_TRANSACTION;
                }
                if (wordsInStatement == 1 && h == PREPARE_H) flags |= SQL_PREPARE;
                if (wordsInStatement == 1 && (h == COMMIT_H || h == ROLLBACK_H)) flags |= TRANSACTION_END;
                if (wordsInStatement == 2 && w1 == ROLLBACK_H && h == TO_H) flags &= ~TRANSACTION_END;
                if (w1 == FLUSH_H && prev2 == WITH_H && prev == READ_H && h == LOCK_H) flags |= LOCK_TABLES;
                if (w1 == HANDLER_H && wordsInStatement == 3) {
                    if (h == OPEN_H) flags |= HANDLER_OPEN;
                    if (h == CLOSE_H) flags |= HANDLER_CLOSE;
                }
                prev2 = prev;
                prev = h;
                continue;
            }
            i++;
        }
        return flags;
    }

    private static int skipLine(ByteBuf buf, int i, int to) {
        while (i < to && buf.getByte(i) != '\n') {
            i++;
        }
        return i;
    }

    private static byte nextNonSpace(ByteBuf buf, int i, int to) {
        while (i < to) {
            byte c = buf.getByte(i);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                return c;
            }
            i++;
        }
        return 0;
    }

    private static boolean isWordStart(byte c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_';
    }

    private static boolean isWordChar(byte c) {
        return isWordStart(c) || c >= '0' && c <= '9' || c == '$';
    }

    private static boolean startsWith(ByteBuf buf, int from, int to, String upper) {
        if (to - from < upper.length()) {
            return false;
        }
        for (int k = 0; k < upper.length(); k++) {
            if (Character.toUpperCase((char) buf.getByte(from + k)) != upper.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    private static boolean contains(ByteBuf buf, int from, int to, String upper) {
        for (int s = from; s + upper.length() <= to; s++) {
            if (startsWith(buf, s, to, upper)) {
                return true;
            }
        }
        return false;
    }

    /** Case-insensitive hash of a word; collisions only make the classifier more conservative. */
    private static long hash(ByteBuf buf, int from, int to) {
        long h = 1125899906842597L;
        for (int k = from; k < to; k++) {
            h = 31 * h + Character.toUpperCase((char) buf.getByte(k));
        }
        return h;
    }

    static long hash(String upper) {
        long h = 1125899906842597L;
        for (int k = 0; k < upper.length(); k++) {
            h = 31 * h + upper.charAt(k);
        }
        return h;
    }

    private static final long GET_LOCK_H = hash("GET_LOCK");
    private static final long RELEASE_LOCK_H = hash("RELEASE_LOCK");
    private static final long RELEASE_ALL_LOCKS_H = hash("RELEASE_ALL_LOCKS");
    private static final long LAST_INSERT_ID_H = hash("LAST_INSERT_ID");
    private static final long FOUND_ROWS_H = hash("FOUND_ROWS");
    private static final long ROW_COUNT_H = hash("ROW_COUNT");
    private static final long SQL_CALC_FOUND_ROWS_H = hash("SQL_CALC_FOUND_ROWS");
    private static final long SESSION_TRACK_PREFIX_H = hash("SESSION_TRACK_");
    private static final long LOCK_H = hash("LOCK");
    private static final long UNLOCK_H = hash("UNLOCK");
    private static final long TABLES_H = hash("TABLES");
    private static final long TABLE_H = hash("TABLE");
    private static final long CREATE_H = hash("CREATE");
    private static final long DROP_H = hash("DROP");
    private static final long TEMPORARY_H = hash("TEMPORARY");
    private static final long PREPARE_H = hash("PREPARE");
    private static final long DEALLOCATE_H = hash("DEALLOCATE");
    private static final long XA_H = hash("XA");
    private static final long START_H = hash("START");
    private static final long BEGIN_H = hash("BEGIN");
    private static final long COMMIT_H = hash("COMMIT");
    private static final long ROLLBACK_H = hash("ROLLBACK");
    private static final long SET_H = hash("SET");
    private static final long TRANSACTION_H = hash("TRANSACTION");
    private static final long FLUSH_H = hash("FLUSH");
    private static final long WITH_H = hash("WITH");
    private static final long READ_H = hash("READ");
    private static final long HANDLER_H = hash("HANDLER");
    private static final long OPEN_H = hash("OPEN");
    private static final long CLOSE_H = hash("CLOSE");
    private static final long INTO_H = hash("INTO");
    private static final long TO_H = hash("TO");
}
