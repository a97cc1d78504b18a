package io.sluice.proxy.frontend;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.sluice.config.UserConfig;
import io.sluice.proxy.protocol.Packets;
import io.sluice.proxy.protocol.auth.CachingSha2Password;
import io.sluice.proxy.protocol.auth.NativePassword;
import io.sluice.proxy.protocol.auth.Nonces;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** The lookup's row as the server returns it, and the checks a server account's login runs. */
class ServerAccountsTest {
    private static final HexFormat HEX = HexFormat.of().withUpperCase();
    /** MySQL 8's mysql.user.authentication_string of caching_sha2_password for "foobar", as HEX() shows it (CachingSha2PasswordTest). */
    private static final String FOOBAR_SHA2_HEX = "24412430303524031A69251C34295C4B35167C7F1E5A7B63091349503974624D34504B5A424679354856336868686F"
            + "52485A736E4A733368786E427575516C73446469496537";
    private static final String NATIVE = NativePassword.toServerHash(NativePassword.hashStage2("pw".getBytes(UTF_8)));
    private static final long NOW = 1_700_000_000L;

    private static String hex(String s) {
        return HEX.formatHex(s.getBytes(ISO_8859_1));
    }

    /** One host's fields as the lookup query concatenates them. */
    private static String host(String host, String plugin, String hash, String or0Plugin, String or0Hash, String locked,
                               long lastChanged, long lifetime, long maxConns) {
        return String.join(",", hex(host), hex(plugin), hex(hash), hex(or0Plugin), hex(or0Hash), "", "", locked,
                String.valueOf(lastChanged), String.valueOf(lifetime), String.valueOf(maxConns));
    }

    private static AccountRows.Account parse(long defaultLifetime, String... hosts) {
        return AccountRows.parseRow("u", java.util.Arrays.asList(String.valueOf(defaultLifetime), String.valueOf(NOW),
                hosts.length == 0 ? null : String.join(";", hosts)), true, 1_000_000_000L);
    }

    @Test
    void noRowIsNoAccount() {
        assertTrue(parse(0).rows.isEmpty());
    }

    @Test
    void rowsAreOrderedAsTheServerTriesThemAndCarryTheirState() {
        AccountRows.Account a = parse(0,
                host("%", "mysql_native_password", NATIVE, "", "", "false", NOW - 10, -1, 0),
                host("10.0.0.%", "mysql_native_password", NATIVE, "", "", "true", NOW - 10, -1, 5),
                host("10.0.0.7", "mysql_native_password", NATIVE, "", "", "false", 0, -1, 0));
        assertEquals(List.of("10.0.0.7", "10.0.0.%", "%"), a.rows.stream().map(r -> r.host).toList());
        assertTrue(a.rows.get(0).expired, "password_last_changed 0 is PASSWORD EXPIRE");
        assertTrue(a.rows.get(1).locked);
        assertEquals(5, a.rows.get(1).maxUserConnections);
        assertFalse(a.rows.get(2).expired);
        assertEquals(NATIVE, a.rows.get(2).hash);
    }

    @Test
    void passwordLifetimeOfTheAccountOrTheServerDefault() {
        long tenDaysAgo = NOW - 10 * 86_400;
        assertTrue(parse(0, host("%", "", NATIVE, "", "", "false", tenDaysAgo, 5, 0)).rows.get(0).expired);
        assertFalse(parse(0, host("%", "", NATIVE, "", "", "false", tenDaysAgo, 0, 0)).rows.get(0).expired, "0 = never");
        assertTrue(parse(7, host("%", "", NATIVE, "", "", "false", tenDaysAgo, -1, 0)).rows.get(0).expired, "-1 = the default");
        assertFalse(parse(30, host("%", "", NATIVE, "", "", "false", tenDaysAgo, -1, 0)).rows.get(0).expired);
    }

    @Test
    void mariadbAlternativesUseTheFirstPluginSluiceCanCheck() {
        // IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('pw')
        AccountRows.Row r = parse(0, host("localhost", "mysql_native_password", NATIVE, "unix_socket", "", "false", NOW, -1, 0))
                .rows.get(0);
        assertEquals("mysql_native_password", r.plugin);
        assertEquals(NATIVE, r.hash);
        // root@localhost of a fresh MariaDB: 'invalid' native hash OR unix_socket: nothing Sluice can check.
        AccountRows.Row root = parse(0, host("localhost", "mysql_native_password", "invalid", "unix_socket", "", "false", NOW, -1, 0))
                .rows.get(0);
        assertNull(root.hash);
        AccountRows.Row ed = parse(0, host("%", "ed25519", "ZmFrZQ", "", "", "false", NOW, -1, 0)).rows.get(0);
        assertEquals("ed25519", ed.plugin);
        assertNull(ed.hash);
    }

    @Test
    void mysqlCachingSha2HashComesThroughHexIntact() {
        String row = String.join(",", hex("%"), hex("caching_sha2_password"), FOOBAR_SHA2_HEX, "", "", "", "", "false",
                String.valueOf(NOW), "-1", "0");
        AccountRows.Row r = AccountRows.parseRow("u", List.of("0", String.valueOf(NOW), row), false, 1).rows.get(0);
        assertEquals("caching_sha2_password", r.plugin);
        assertTrue(CachingSha2Password.verifyCrypt("foobar".getBytes(UTF_8), r.hash));
    }

    @Test
    void theUserNameReachesTheSqlOnlyAsHex() {
        String q = AccountRows.query("x' OR '1'='1", true);
        assertFalse(q.contains("OR '1'"), q);
        assertTrue(q.contains("X'7827204F52202731273D2731'") || q.toUpperCase().contains("X'78"), q);
        assertTrue(q.contains("FROM mysql.global_priv"), q);
        assertTrue(AccountRows.query("app", false).contains("FROM mysql.user"));
    }

    // ---- the login checks of a server account ---------------------------------------------------

    private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;

    private static UserConfig user() {
        return new UserConfig("u", Optional.empty(), Optional.empty(), "u", "", Optional.empty(), OptionalInt.empty(), false);
    }

    /** Collects what AuthExchange writes, releasing each packet. */
    private static final class Replies {
        final List<byte[]> payloads = new ArrayList<>();
        int lastSeq;

        void accept(ByteBuf b) {
            lastSeq = Packets.sequenceId(b);
            ByteBuf p = Packets.payload(b);
            byte[] data = new byte[p.readableBytes()];
            p.readBytes(data);
            payloads.add(data);
            b.release();
        }
    }

    @Test
    void nativeLoginYieldsTheStageOneHashThatLogsInToTheServer() {
        Credentials c = new Credentials(user(), NATIVE);
        byte[] nonce = Nonces.newNonce();
        AuthExchange auth = new AuthExchange(c, nonce, false, null);
        Replies r = new Replies();
        assertEquals(AuthExchange.Result.SUCCESS, auth.first(AuthExchange.NATIVE,
                NativePassword.scramble("pw".getBytes(UTF_8), nonce), 1, ALLOC, r::accept));
        String secret = auth.backendSecret();
        assertTrue(secret.startsWith("\u0000"), "the native stage-1 form, never the password");
        assertFalse(secret.contains("pw"));
        assertArrayEquals(("\u0000native-stage1:" + HexFormat.of().formatHex(NativePassword.hashStage1("pw".getBytes(UTF_8))))
                .getBytes(UTF_8), secret.getBytes(UTF_8));

        AuthExchange wrong = new AuthExchange(c, nonce, false, null);
        assertEquals(AuthExchange.Result.FAILURE, wrong.first(AuthExchange.NATIVE,
                NativePassword.scramble("nope".getBytes(UTF_8), nonce), 1, ALLOC, r::accept));
        assertNull(wrong.backendSecret());
        // The same response checked again against the account read anew (a changed password).
        Credentials changed = new Credentials(user(), NativePassword.toServerHash(NativePassword.hashStage2("nope".getBytes(UTF_8))));
        assertEquals(AuthExchange.Result.SUCCESS, wrong.recheck(changed));
        assertTrue(r.payloads.isEmpty());
    }

    @Test
    void cachingSha2NeedsFullAuthenticationFirstThenTheFastPathWorks() {
        Credentials c = new Credentials(user(), new String(HEX.parseHex(FOOBAR_SHA2_HEX), ISO_8859_1));
        byte[] nonce = Nonces.newNonce();
        AuthExchange first = new AuthExchange(c, nonce, true, null);
        Replies r = new Replies();
        assertEquals(AuthExchange.Result.CONTINUE, first.first(AuthExchange.SHA2,
                CachingSha2Password.scramble("foobar".getBytes(UTF_8), nonce), 1, ALLOC, r::accept));
        assertArrayEquals(new byte[] {0x01, CachingSha2Password.PERFORM_FULL_AUTHENTICATION}, r.payloads.get(0));
        ByteBuf clear = Packets.of(ALLOC, r.lastSeq + 1, "foobar\0".getBytes(UTF_8)); // over TLS
        try {
            assertEquals(AuthExchange.Result.SUCCESS, first.next(clear, ALLOC, r::accept));
        } finally {
            clear.release();
        }
        assertEquals("foobar", first.backendSecret(), "caching_sha2 logs in to the server with the password itself");

        byte[] nonce2 = Nonces.newNonce();
        AuthExchange later = new AuthExchange(c, nonce2, false, null);
        assertEquals(AuthExchange.Result.SUCCESS, later.first(AuthExchange.SHA2,
                CachingSha2Password.scramble("foobar".getBytes(UTF_8), nonce2), 1, ALLOC, r::accept));
        assertArrayEquals(new byte[] {0x01, CachingSha2Password.FAST_AUTH_SUCCESS}, r.payloads.get(1));
        assertNull(later.backendSecret(), "the fast path proves nothing new");

        AuthExchange wrong = new AuthExchange(c, nonce2, false, null);
        assertEquals(AuthExchange.Result.CONTINUE, wrong.first(AuthExchange.SHA2,
                CachingSha2Password.scramble("nope".getBytes(UTF_8), nonce2), 1, ALLOC, r::accept));
        assertArrayEquals(new byte[] {0x01, CachingSha2Password.PERFORM_FULL_AUTHENTICATION}, r.payloads.get(2));
    }
}
