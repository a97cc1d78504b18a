package io.sluice.proxy.digest;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.sluice.proxy.protocol.SqlText;

import java.nio.charset.StandardCharsets;

/**
 * Turns a statement's SQL text into its digest in one pass, without regular expressions: literal
 * values become {@code ?}, IN lists and VALUES rows {@code (...)}, whitespace and comments fold
 * into single spaces; names, keywords (in the case they were written), operators, optimizer hints
 * ({@code /*+ ... *}{@code /}) and the markers of versioned comments ({@code /*!50000 ... *}{@code /}, whose content
 * is normalized as SQL) stay. The rules are in docs/digests.md.
 *
 * <p>The pass hashes the normalized bytes as it goes (64-bit FNV-1a); the text itself is built only
 * when asked for ({@link #text}), the first time a digest is seen. Only the first
 * {@link #MAX_SCAN} bytes of a statement are read, so a huge INSERT costs no more than that.
 *
 * <p>Not thread-safe: one per event loop thread (its 64 KiB scratch, where the statement is copied
 * once and read as an array, is reused); no allocation per statement when only the hash is asked for.
 */
public final class Normalizer {
    /** Bytes of a statement read at most. */
    public static final int MAX_SCAN = 64 * 1024;

    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    /** The statement's bytes being read: copied once into {@link #scratch} (one copy, then array reads). */
    private byte[] buf;
    private final byte[] scratch = new byte[MAX_SCAN];
    private int end;
    private long hash;
    /** Where the normalized text goes when it is built; null when only hashing. */
    private byte[] out;
    private int outLength;
    /** Bytes emitted, whether or not kept in {@link #out}. */
    private int emitted;
    /** The last byte emitted (0 before any). */
    private byte last;
    /** Whitespace (or a comment) came since the last token. */
    private boolean space;
    /** The previous word was IS (or IS NOT): NULL, TRUE and FALSE after it are part of the syntax. */
    private boolean afterIs;
    /** The previous word was IN or VALUES/VALUE: a parenthesized list of literals after it folds. */
    private int listKeyword;
    /** The last thing emitted was a VALUES row folded to (...): further literal rows are swallowed. */
    private boolean afterFoldedRow;
    /** Depth of versioned comments (/*! ... *&#47;) being read as SQL. */
    private int versioned;

    private static final int NONE = 0;
    private static final int IN = 1;
    private static final int VALUES = 2;

    /** The digest hash of {@code sql[from, to)} (UTF-8 bytes), without building the text. */
    public long hash(ByteBuf sql, int from, int to) {
        scan(sql, from, to, null);
        return hash;
    }

    /**
     * The normalized text of {@code sql[from, to)}, at most {@code maxLength} bytes of it (cut at a
     * character boundary, then "..."); {@link #lastHash} is its digest hash.
     */
    public String text(ByteBuf sql, int from, int to, int maxLength) {
        byte[] o = new byte[maxLength];
        scan(sql, from, to, o);
        int n = outLength;
        boolean cut = emitted > maxLength;
        if (cut) {
            n = completeCharacters(o, n);
        }
        String s = new String(o, 0, n, StandardCharsets.UTF_8);
        return cut ? s + "..." : s;
    }

    /** {@code n}, or less so that {@code o[0, n)} ends with a whole UTF-8 character. */
    private static int completeCharacters(byte[] o, int n) {
        int k = n - 1;
        while (k > 0 && (o[k] & 0xC0) == 0x80) {
            k--;
        }
        if (k < 0 || (o[k] & 0xC0) != 0xC0) {
            return n; // ASCII, or no lead byte to be cut
        }
        int lead = o[k] & 0xff;
        int length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        return k + length > n ? k : n;
    }

    /** Convenience for tests and tools: the normalized text of a whole string. */
    public static String normalize(String sql) {
        byte[] b = sql.getBytes(StandardCharsets.UTF_8);
        return new Normalizer().text(Unpooled.wrappedBuffer(b), 0, b.length, 1 << 20);
    }

    /** The hash of the last scan. */
    public long lastHash() {
        return hash;
    }

    private void scan(ByteBuf sql, int from, int to, byte[] o) {
        end = Math.min(to - from, MAX_SCAN);
        sql.getBytes(from, scratch, 0, end);
        buf = scratch;
        out = o;
        outLength = 0;
        emitted = 0;
        last = 0;
        space = false;
        afterIs = false;
        listKeyword = NONE;
        afterFoldedRow = false;
        versioned = 0;
        hash = FNV_OFFSET;
        int i = 0;
        while (i < end) {
            i = token(i);
        }
        buf = null;
        out = null;
    }

    /** Reads the token at {@code i}, emits its normalized form, returns where the next one starts. */
    private int token(int i) {
        byte c = buf[i];
        switch (c) {
            case ' ', '\t', '\n', '\r', '\f', 0x0B -> {
                space = true;
                return i + 1;
            }
            case '#' -> {
                space = true;
                return lineEnd(i);
            }
            case '-' -> {
                if (i + 1 < end && buf[i + 1] == '-' && (i + 2 >= end || buf[i + 2] <= ' ')) {
                    space = true;
                    return lineEnd(i);
                }
                if (unaryBefore() && i + 1 < end && startsNumber(i + 1)) {
                    return literal(skipNumber(i + 1));
                }
                return punctuation(i, c);
            }
            case '+' -> {
                if (unaryBefore() && i + 1 < end && startsNumber(i + 1)) {
                    return literal(skipNumber(i + 1));
                }
                return punctuation(i, c);
            }
            case '/' -> {
                if (i + 1 < end && buf[i + 1] == '*') {
                    return comment(i);
                }
                return punctuation(i, c);
            }
            case '*' -> {
                if (versioned > 0 && i + 1 < end && buf[i + 1] == '/') {
                    versioned--;
                    emitToken((byte) '*');
                    emit((byte) '/');
                    return i + 2;
                }
                return punctuation(i, c);
            }
            case '\'', '"' -> {
                return literal(SqlText.skipQuoted(buf, i + 1, end, c));
            }
            case '`' -> {
                int j = SqlText.skipQuoted(buf, i + 1, end, c);
                emitToken(c);
                copy(i + 1, j);
                return j;
            }
            case '(' -> {
                return open(i);
            }
            case ';' -> {
                int j = i + 1;
                while (j < end && (isSpace(buf[j]) || buf[j] == ';')) {
                    j++;
                }
                if (j < end) {
                    punctuation(i, c);
                    space = true;
                }
                return j;
            }
            case '?' -> {
                return literal(i + 1);
            }
            case '.' -> {
                if (i + 1 < end && isDigit(buf[i + 1]) && !isWordByte(last)) {
                    return literal(skipNumber(i));
                }
                return punctuation(i, c);
            }
            default -> {
                if (isDigit(c)) {
                    int j = skipNumber(i);
                    if (j >= end || !isWordByte(buf[j])) {
                        return literal(j);
                    }
                    return word(i); // a name that starts with digits, such as 1st_table
                }
                if (isWordByte(c)) {
                    return word(i);
                }
                return punctuation(i, c);
            }
        }
    }

    private int punctuation(int i, byte c) {
        emitToken(c);
        afterIs = false;
        listKeyword = NONE;
        afterFoldedRow = false;
        if (c == ',') {
            space = true;
        }
        return i + 1;
    }

    /** A literal value ending before {@code j}: one placeholder. */
    private int literal(int j) {
        emitToken((byte) '?');
        afterIs = false;
        listKeyword = NONE;
        afterFoldedRow = false;
        return j;
    }

    private int word(int i) {
        int j = i + 1;
        while (j < end && isWordByte(buf[j])) {
            j++;
        }
        int n = j - i;
        if (j < end && buf[j] == '\'' && introducer(i, n)) {
            // X'0A', b'01', N'text', _utf8mb4'text': one literal
            return literal(SqlText.skipQuoted(buf, j + 1, end, (byte) '\''));
        }
        if (n == 4 && (is(i, "NULL") || is(i, "TRUE")) || n == 5 && is(i, "FALSE")) {
            if (!afterIs) {
                return literal(j);
            }
        }
        boolean wasIs = afterIs;
        emitToken(buf[i]);
        copy(i + 1, j);
        afterIs = n == 2 && is(i, "IS") || wasIs && n == 3 && is(i, "NOT");
        listKeyword = n == 2 && is(i, "IN") ? IN : n == 6 && is(i, "VALUES") || n == 5 && is(i, "VALUE") ? VALUES : NONE;
        afterFoldedRow = false;
        return j;
    }

    private boolean introducer(int i, int n) {
        byte c = buf[i];
        if (n == 1) {
            return c == 'x' || c == 'X' || c == 'b' || c == 'B' || c == 'n' || c == 'N';
        }
        return c == '_';
    }

    /**
     * '(' : after IN or VALUES, a list of only literals folds to "(...)" (further VALUES rows
     * vanish); anything else inside (a subquery, an expression) and it is read as usual.
     */
    private int open(int i) {
        int keyword = listKeyword;
        boolean swallow = afterFoldedRow;
        if (keyword != NONE) {
            int j = literalList(i + 1);
            if (j > 0) {
                if (!swallow) {
                    emitToken((byte) '(');
                    emit((byte) '.');
                    emit((byte) '.');
                    emit((byte) '.');
                    emit((byte) ')');
                }
                afterIs = false;
                listKeyword = NONE;
                afterFoldedRow = false;
                if (keyword == VALUES) {
                    int k = skipSpace(j);
                    if (k < end && buf[k] == ',') {
                        int m = skipSpace(k + 1);
                        if (m < end && buf[m] == '(' && literalList(m + 1) > 0) {
                            listKeyword = VALUES;
                            afterFoldedRow = true;
                            return m; // the next row folds into the first
                        }
                    }
                }
                return j;
            }
        }
        if (swallow) {
            // A row after folded ones that is not all literals: it follows as ", (".
            punctuation(i, (byte) ',');
        }
        return punctuation(i, (byte) '(');
    }

    /** If {@code [i, ...)} is literals and commas up to ')', the index past it; else -1. Reads only. */
    private int literalList(int i) {
        int items = 0;
        boolean expectItem = true;
        while (true) {
            i = skipSpace(i);
            if (i >= end) {
                return -1;
            }
            byte c = buf[i];
            if (c == ')') {
                return items > 0 && !expectItem ? i + 1 : -1;
            }
            if (c == ',') {
                if (expectItem) {
                    return -1;
                }
                expectItem = true;
                i++;
                continue;
            }
            if (!expectItem) {
                return -1;
            }
            int j = literalAt(i);
            if (j < 0) {
                return -1;
            }
            items++;
            expectItem = false;
            i = j;
        }
    }

    /** The end of the literal at {@code i} (string, number, signed number, ?, NULL, TRUE, FALSE, X'..'), or -1. */
    private int literalAt(int i) {
        byte c = buf[i];
        if (c == '\'' || c == '"') {
            return SqlText.skipQuoted(buf, i + 1, end, c);
        }
        if (c == '?') {
            return i + 1;
        }
        if ((c == '-' || c == '+') && i + 1 < end && startsNumber(i + 1)) {
            i++;
            c = buf[i];
        }
        if (isDigit(c) || c == '.' && i + 1 < end && isDigit(buf[i + 1])) {
            int j = skipNumber(i);
            return j < end && isWordByte(buf[j]) ? -1 : j;
        }
        if (isWordByte(c)) {
            int j = i + 1;
            while (j < end && isWordByte(buf[j])) {
                j++;
            }
            int n = j - i;
            if (j < end && buf[j] == '\'' && introducer(i, n)) {
                return SqlText.skipQuoted(buf, j + 1, end, (byte) '\'');
            }
            if (n == 4 && (is(i, "NULL") || is(i, "TRUE")) || n == 5 && is(i, "FALSE")) {
                return j;
            }
        }
        return -1;
    }

    /** A comment at {@code i} ("/*"): hints stay whole, versioned comments open, others fold to a space. */
    private int comment(int i) {
        byte kind = i + 2 < end ? buf[i + 2] : 0;
        if (kind == '!' || kind == 'M' && i + 3 < end && buf[i + 3] == '!') {
            // Executable: "/*!50000" (or "/*M!100100") kept, the content read as SQL, "*/" closes it.
            int j = i + (kind == 'M' ? 4 : 3);
            while (j < end && isDigit(buf[j])) {
                j++;
            }
            emitToken((byte) '/');
            copy(i + 1, j);
            space = true;
            versioned++;
            return j;
        }
        int j = i + 2;
        while (j + 1 < end && !(buf[j] == '*' && buf[j + 1] == '/')) {
            j++;
        }
        j = Math.min(end, j + 2);
        if (kind == '+') {
            emitToken((byte) '/');
            copy(i + 1, j); // an optimizer hint: part of what the statement is
            return j;
        }
        space = true;
        return j;
    }

    private int lineEnd(int i) {
        while (i < end && buf[i] != '\n') {
            i++;
        }
        return i;
    }

    private boolean startsNumber(int i) {
        byte c = buf[i];
        return isDigit(c) || c == '.' && i + 1 < end && isDigit(buf[i + 1]);
    }

    /** Past a number at {@code i}: 0x.. and 0b.., digits, a fraction, an exponent. */
    private int skipNumber(int i) {
        if (buf[i] == '0' && i + 2 < end) {
            byte x = buf[i + 1];
            if (x == 'x' || x == 'X') {
                int j = i + 2;
                while (j < end && isHex(buf[j])) {
                    j++;
                }
                if (j > i + 2) {
                    return j;
                }
            } else if (x == 'b' || x == 'B') {
                int j = i + 2;
                while (j < end && (buf[j] == '0' || buf[j] == '1')) {
                    j++;
                }
                if (j > i + 2) {
                    return j;
                }
            }
        }
        int j = i;
        while (j < end && isDigit(buf[j])) {
            j++;
        }
        if (j < end && buf[j] == '.') {
            j++;
            while (j < end && isDigit(buf[j])) {
                j++;
            }
        }
        if (j < end && (buf[j] == 'e' || buf[j] == 'E')) {
            int k = j + 1;
            if (k < end && (buf[k] == '+' || buf[k] == '-')) {
                k++;
            }
            if (k < end && isDigit(buf[k])) {
                while (k < end && isDigit(buf[k])) {
                    k++;
                }
                return k;
            }
        }
        return j;
    }

    /** Whether a '-' or '+' here is a sign: nothing that ends an operand comes before it. */
    private boolean unaryBefore() {
        return !(isWordByte(last) || last == '?' || last == ')' || last == '`');
    }

    private int skipSpace(int i) {
        while (i < end && isSpace(buf[i])) {
            i++;
        }
        return i;
    }

    /** Whether the bytes at {@code i} spell {@code upper}, ignoring ASCII case. */
    private boolean is(int i, String upper) {
        for (int k = 0; k < upper.length(); k++) {
            if ((buf[i + k] & 0xDF) != upper.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    /** Emits the first byte of a token, with the one space that separates it from the last, if any. */
    private void emitToken(byte first) {
        if (space && emitted > 0 && last != '(' && first != ')' && first != ',') {
            emit((byte) ' ');
        }
        space = false;
        emit(first);
    }

    private void copy(int from, int to) {
        for (int i = from; i < to; i++) {
            emit(buf[i]);
        }
    }

    private void emit(byte b) {
        hash = (hash ^ (b & 0xff)) * FNV_PRIME;
        if (out != null && outLength < out.length) {
            out[outLength++] = b;
        }
        emitted++;
        last = b;
    }

    private static boolean isSpace(byte c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == 0x0B;
    }

    private static boolean isDigit(byte c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isHex(byte c) {
        return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F';
    }

    /** Letters, digits, _, $, @ and every byte of a multi-byte UTF-8 character. */
    private static boolean isWordByte(byte c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '_' || c == '$' || c == '@' || c < 0;
    }
}
