package io.sluice.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

class KillStatementTest {
    /** Parses {@code sql} placed inside a larger buffer, as it sits inside a COM_QUERY packet. */
    private static KillStatement parse(String sql) {
        byte[] b = sql.getBytes(StandardCharsets.UTF_8);
        ByteBuf buf = Unpooled.buffer().writeBytes("\u0001\u0002\u0003\u0000\u0003".getBytes(StandardCharsets.ISO_8859_1))
                .writeBytes(b).writeBytes("KILL 1".getBytes(StandardCharsets.US_ASCII));
        int from = 5;
        KillStatement k = KillStatement.parse(buf, from, from + b.length);
        assertEquals(0, buf.readerIndex(), "parse must not move the buffer's indexes");
        buf.release();
        return k;
    }

    @Test
    void recognisesTheFormsSluiceTranslates() {
        assertEquals(new KillStatement(false, 42), parse("KILL 42"));
        assertEquals(new KillStatement(false, 7), parse("kill connection 7;"));
        assertEquals(new KillStatement(true, 9), parse("  /* from the app */ KILL\tQUERY 9 ; "));
        assertEquals(new KillStatement(true, 123456789012L), parse("Kill Query 123456789012"));
    }

    @Test
    void otherStatementsAreNotKills() {
        assertNull(parse("SELECT c FROM sbtest1 WHERE id=5"));
        assertNull(parse("KILLER_FEATURE()"));
        assertNull(parse("KILL_ME"));
        assertNull(parse(""));
        assertNull(parse("   "));
        assertNull(parse("/* KILL 5 */ SELECT 1"));
    }

    @Test
    void killFormsSluiceCannotTranslateAreRefused() {
        assertSame(KillStatement.UNSUPPORTED, parse("KILL"));
        assertSame(KillStatement.UNSUPPORTED, parse("KILL QUERY"));
        assertSame(KillStatement.UNSUPPORTED, parse("KILL 5 6"));
        assertSame(KillStatement.UNSUPPORTED, parse("KILL @id"));
        assertSame(KillStatement.UNSUPPORTED, parse("KILL HARD QUERY 5"));
    }
}
