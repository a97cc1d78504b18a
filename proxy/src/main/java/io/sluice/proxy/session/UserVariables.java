package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * User variables set by statements simple enough to replay on another backend:
 * {@code SET @a = 1, @b = 'text', @c = NULL} (literal numbers, quoted strings, NULL, TRUE/FALSE).
 * Anything else that assigns user variables pins the session instead.
 */
final class UserVariables {
    private UserVariables() {
    }

    /**
     * Parses a whole COM_QUERY text (bytes {@code [from, to)}, borrowed) as a simple user-variable
     * SET; returns name to literal text, or null when the statement is anything else.
     */
    static Map<String, String> parseSimpleSet(ByteBuf buf, int from, int to) {
        String sql = buf.toString(from, to - from, StandardCharsets.UTF_8).trim();
        if (sql.endsWith(";")) {
            sql = sql.substring(0, sql.length() - 1).trim();
        }
        if (sql.length() < 4 || !sql.regionMatches(true, 0, "SET", 0, 3) || !Character.isWhitespace(sql.charAt(3))) {
            return null;
        }
        Map<String, String> out = new LinkedHashMap<>();
        int i = 3;
        int n = sql.length();
        while (true) {
            i = skipSpace(sql, i);
            if (i >= n || sql.charAt(i) != '@' || i + 1 < n && sql.charAt(i + 1) == '@') {
                return null;
            }
            int nameStart = ++i;
            while (i < n && (Character.isLetterOrDigit(sql.charAt(i)) || sql.charAt(i) == '_' || sql.charAt(i) == '$' || sql.charAt(i) == '.')) {
                i++;
            }
            if (i == nameStart) {
                return null;
            }
            String name = sql.substring(nameStart, i).toLowerCase(java.util.Locale.ROOT);
            i = skipSpace(sql, i);
            if (i < n && sql.charAt(i) == ':') {
                i++;
            }
            if (i >= n || sql.charAt(i) != '=') {
                return null;
            }
            i = skipSpace(sql, i + 1);
            int valueStart = i;
            if (i < n && (sql.charAt(i) == '\'' || sql.charAt(i) == '"')) {
                char q = sql.charAt(i++);
                while (i < n) {
                    char c = sql.charAt(i);
                    if (c == '\\') {
                        i += 2;
                        continue;
                    }
                    if (c == q) {
                        if (i + 1 < n && sql.charAt(i + 1) == q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i++;
                }
                if (i >= n) {
                    return null;
                }
                i++;
            } else {
                while (i < n && (Character.isLetterOrDigit(sql.charAt(i)) || sql.charAt(i) == '.' || sql.charAt(i) == '-'
                        || sql.charAt(i) == '+')) {
                    i++;
                }
                String word = sql.substring(valueStart, i);
                if (!word.matches("[-+]?\\d+(\\.\\d+)?([eE][-+]?\\d+)?") && !word.equalsIgnoreCase("NULL")
                        && !word.equalsIgnoreCase("TRUE") && !word.equalsIgnoreCase("FALSE")) {
                    return null;
                }
            }
            out.put(name, sql.substring(valueStart, i));
            i = skipSpace(sql, i);
            if (i >= n) {
                return out;
            }
            if (sql.charAt(i) != ',') {
                return null;
            }
            i++;
        }
    }

    private static int skipSpace(String s, int i) {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        return i;
    }
}
