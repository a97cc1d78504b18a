package io.sluice.proxy.digest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The normalization rules of docs/digests.md, one row each: statement in, digest text out. */
class NormalizerTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '~', textBlock = """
            # strings: single, double, doubled quotes, backslash escapes
            SELECT * FROM t WHERE name = 'bob'                   | SELECT * FROM t WHERE name = ?
            SELECT 'it''s', 'a\\'b', "say ""hi"" there"               | SELECT ?, ?, ?
            SELECT 'x\\\\' , 'y'                                 | SELECT ?, ?
            # backticks are names, kept (with what is inside)
            SELECT `a b`, `it``s` FROM `t 1` WHERE `x`='1'       | SELECT `a b`, `it``s` FROM `t 1` WHERE `x`=?
            # numbers: integers, negative, decimal, exponent, hex, binary
            SELECT 1, -2, 3.14, .5, 1e10, 2.5E-3, +7             | SELECT ?, ?, ?, ?, ?, ?, ?
            SELECT 0xFF, X'0aFF', x'00', b'0101', 0b11           | SELECT ?, ?, ?, ?, ?
            SELECT a - 1, a-1, f(-1), a = -1                     | SELECT a - ?, a-?, f(?), a = ?
            SELECT 1st_col, t1.c2, abc123 FROM t9                | SELECT 1st_col, t1.c2, abc123 FROM t9
            SELECT N'abc', _utf8mb4'abc', _latin1 'x'            | SELECT ?, ?, _latin1 ?
            # NULL, TRUE, FALSE are values, except after IS / IS NOT
            UPDATE t SET a = NULL, b = TRUE, c = false           | UPDATE t SET a = ?, b = ?, c = ?
            SELECT * FROM t WHERE a IS NULL AND b IS NOT NULL    | SELECT * FROM t WHERE a IS NULL AND b IS NOT NULL
            SELECT * FROM t WHERE a is not true                  | SELECT * FROM t WHERE a is not true
            # IN lists fold, whatever their length; a subquery does not
            SELECT * FROM t WHERE id IN (1, 2, 3)                | SELECT * FROM t WHERE id IN (...)
            SELECT * FROM t WHERE id IN(1)                       | SELECT * FROM t WHERE id IN(...)
            SELECT * FROM t WHERE id NOT IN ('a','b', NULL, ?)   | SELECT * FROM t WHERE id NOT IN (...)
            SELECT * FROM t WHERE id IN (SELECT id FROM u)       | SELECT * FROM t WHERE id IN (SELECT id FROM u)
            SELECT * FROM t WHERE id IN (1, a)                   | SELECT * FROM t WHERE id IN (?, a)
            # VALUES rows fold into one
            INSERT INTO t (a, b) VALUES (1, 'x')                 | INSERT INTO t (a, b) VALUES (...)
            INSERT INTO t (a,b) VALUES (1,'x'),(2,'y'), (3, NULL) | INSERT INTO t (a, b) VALUES (...)
            INSERT INTO t VALUES (?, ?), (?, ?)                  | INSERT INTO t VALUES (...)
            INSERT INTO t VALUES (1, NOW())                      | INSERT INTO t VALUES (?, NOW())
            INSERT INTO t VALUE (1)                              | INSERT INTO t VALUE (...)
            # whitespace and comments fold
            ~  SELECT   a ,b\\t\\nFROM  t  ~                        | SELECT a, b FROM t
            SELECT a /* why */ FROM t -- trailing                | SELECT a FROM t
            SELECT a # mysql comment                             | SELECT a
            SELECT a--1                                          | SELECT a-?
            /* app:checkout */ SELECT 1                          | SELECT ?
            # hints and versioned comments stay (their content normalized as SQL)
            SELECT /*+ MAX_EXECUTION_TIME(1000) */ a FROM t      | SELECT /*+ MAX_EXECUTION_TIME(1000) */ a FROM t
            SELECT /*!40001 SQL_NO_CACHE */ a FROM t             | SELECT /*!40001 SQL_NO_CACHE */ a FROM t
            /*!40101 SET @x = 5 */                               | /*!40101 SET @x = ? */
            SELECT /*M!100100 1 + */ 2                           | SELECT /*M!100100 ? + */ ?
            # placeholders of prepared statements are literals too
            SELECT * FROM t WHERE id = ? AND name = ?            | SELECT * FROM t WHERE id = ? AND name = ?
            # multi-statements: kept apart, a trailing ; dropped
            SELECT 1; SELECT 'a' ;                               | SELECT ?; SELECT ?
            BEGIN;UPDATE t SET a=1 WHERE id=2;COMMIT             | BEGIN; UPDATE t SET a=? WHERE id=?; COMMIT
            # unicode names stay, unicode strings go
            SELECT prénom FROM clients WHERE ville = 'Zürich'    | SELECT prénom FROM clients WHERE ville = ?
            SELECT '日本語', `名前` FROM t                        | SELECT ?, `名前` FROM t
            # user variables and system variables are names
            SELECT @a := 1, @@session.autocommit                 | SELECT @a := ?, @@session.autocommit
            SELECT * FROM t LIMIT 10, 20                         | SELECT * FROM t LIMIT ?, ?
            """)
    void normalizes(String sql, String digest) {
        String in = sql.replace("\\t", "\t").replace("\\n", "\n");
        assertEquals(digest, Normalizer.normalize(in));
    }

    @Test
    void statementsThatDifferOnlyInValuesShareAHash() {
        Normalizer n = new Normalizer();
        long a = hash(n, "SELECT * FROM t WHERE id = 1 AND s = 'x'");
        long b = hash(n, "select * from t where id = 1 and s = 'x'");
        long c = hash(n, "SELECT  *  FROM t WHERE id = 99 AND s = 'it''s' /* c */");
        assertEquals(a, c);
        assertNotEquals(a, b, "case is kept: names are case-sensitive on most servers");
        assertEquals(hash(n, "SELECT * FROM t WHERE id IN (1)"), hash(n, "SELECT * FROM t WHERE id IN (1,2,3,4)"));
    }

    @Test
    void hashMatchesTheTextItWasBuiltFrom() {
        Normalizer n = new Normalizer();
        String sql = "SELECT a, b FROM t WHERE id = 42";
        long h = hash(n, sql);
        ByteBuf b = Unpooled.wrappedBuffer(sql.getBytes(StandardCharsets.UTF_8));
        assertEquals("SELECT a, b FROM t WHERE id = ?", n.text(b, 0, b.writerIndex(), 1024));
        assertEquals(h, n.lastHash());
    }

    @Test
    void textIsBoundedAtACharacterBoundary() {
        Normalizer n = new Normalizer();
        String sql = "SELECT " + "é".repeat(100) + " FROM t";
        ByteBuf b = Unpooled.wrappedBuffer(sql.getBytes(StandardCharsets.UTF_8));
        String text = n.text(b, 0, b.writerIndex(), 64);
        assertTrue(text.endsWith("..."), text);
        assertEquals("SELECT " + "é".repeat(28) + "...", text); // 7 + 56 bytes fit in 64; the 29th é would not
        assertNotEquals(hash(n, "SELECT " + "é".repeat(100) + " FROM t"), hash(n, "SELECT " + "é".repeat(100) + " FROM u"),
                "the hash covers the whole statement, not only the text kept");
    }

    @Test
    void unterminatedStringsAndCommentsEndTheStatement() {
        assertEquals("SELECT ?", Normalizer.normalize("SELECT 'abc"));
        assertEquals("SELECT a", Normalizer.normalize("SELECT a /* open"));
        assertEquals("SELECT `abc", Normalizer.normalize("SELECT `abc"));
        assertEquals("", Normalizer.normalize(""));
        assertEquals("", Normalizer.normalize("   ;  "));
    }

    @Test
    void literalValuesNeverReachTheText() {
        String secret = "s3cr3t-" + System.nanoTime();
        for (String sql : new String[] {
                "SELECT * FROM u WHERE password = '" + secret + "'",
                "INSERT INTO u VALUES (\"" + secret + "\", 1)",
                "UPDATE u SET p = '" + secret + "' WHERE id IN ('" + secret + "', 'b')",
                "/*!40101 SET @p = '" + secret + "' */"}) {
            String d = Normalizer.normalize(sql);
            assertTrue(!d.contains("s3cr3t") && !d.contains(secret.substring(7)), d);
        }
    }

    private static long hash(Normalizer n, String sql) {
        ByteBuf b = Unpooled.wrappedBuffer(sql.getBytes(StandardCharsets.UTF_8));
        return n.hash(b, 0, b.writerIndex());
    }
}
