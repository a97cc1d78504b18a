package io.sluice.proxy;

import io.sluice.proxy.frontend.ServerAccounts;
import io.sluice.proxy.pool.PoolSnapshot;
import io.sluice.proxy.protocol.auth.CachingSha2Password;
import io.sluice.testkit.ExternalClient;
import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * sluice.auth.source = server: clients log in with the server's own accounts, with no user list in
 * Sluice's config (docs/accounts.md). The accounts are real MariaDB accounts, read through a lookup
 * account that has only SELECT on mysql.global_priv.
 */
@ExtendWith(LeakCheckExtension.class)
class ServerAccountsIT {
    static TestServer server;

    @BeforeAll
    static void accounts() {
        server = TestServer.shared();
        List<String> sql = new ArrayList<>();
        for (String u : List.of("acc_lookup", "acc_app", "acc_local", "acc_far", "acc_locked", "acc_limited", "acc_rotate",
                "acc_sock", "acc_expired", "acc_stale", "acc_mask")) {
            sql.add("DROP USER IF EXISTS '" + u + "'@'%', '" + u + "'@'127.0.0.1', '" + u + "'@'10.%', '" + u + "'@'localhost', '"
                    + u + "'@'127.0.0.0/255.255.255.0'");
        }
        sql.addAll(List.of(
                "CREATE USER 'acc_lookup'@'%' IDENTIFIED BY 'lookup-pw'",
                "GRANT SELECT ON mysql.global_priv TO 'acc_lookup'@'%'",
                "CREATE USER 'acc_app'@'%' IDENTIFIED BY 'app-pw'",
                "CREATE USER 'acc_local'@'127.0.0.1' IDENTIFIED BY 'local-pw'",
                "CREATE USER 'acc_mask'@'127.0.0.0/255.255.255.0' IDENTIFIED BY 'mask-pw'",
                "CREATE USER 'acc_far'@'10.%' IDENTIFIED BY 'far-pw'",
                "CREATE USER 'acc_locked'@'%' IDENTIFIED BY 'locked-pw' ACCOUNT LOCK",
                "CREATE USER 'acc_limited'@'%' IDENTIFIED BY 'lim-pw' WITH MAX_USER_CONNECTIONS 2",
                "CREATE USER 'acc_rotate'@'%' IDENTIFIED BY 'old-pw'",
                "CREATE USER 'acc_stale'@'%' IDENTIFIED BY 'old-pw'",
                "CREATE USER 'acc_sock'@'%' IDENTIFIED VIA unix_socket",
                "CREATE USER 'acc_expired'@'%' IDENTIFIED BY 'exp-pw' PASSWORD EXPIRE"));
        server.execute(sql.toArray(String[]::new));
    }

    static String config(String mode, String extra) {
        return "sluice.auth { source = server, lookup-user = acc_lookup, lookup-password = \"lookup-pw\" }\n"
                + "sluice.pool.mode = " + mode + "\n" + extra;
    }

    static String currentUser(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT CURRENT_USER()")) {
            r.next();
            return r.getString(1);
        }
    }

    static PoolSnapshot pool(Sluice sluice, String name) {
        return sluice.proxy.pools().snapshot().stream().filter(p -> p.name().equals(name)).findFirst().orElse(null);
    }

    static int loginError(Sluice sluice, String user, String password) {
        return assertThrows(SQLException.class, () -> sluice.connect(user, password).close()).getErrorCode();
    }

    @ParameterizedTest
    @ValueSource(strings = {"transaction", "session"})
    void aServerAccountLogsInWithNoUserListAndAWrongPasswordTakesNoBackend(String mode) throws Exception {
        try (Sluice sluice = Sluice.start(server, config(mode, ""))) {
            assertTrue(sluice.proxy.config().users().isEmpty());
            // A wrong password first: 1045, and no pool, no backend for the account.
            SQLException wrong = assertThrows(SQLException.class, () -> sluice.connect("acc_app", "nope"));
            assertEquals(1045, wrong.getErrorCode());
            assertTrue(wrong.getMessage().contains("Access denied for user 'acc_app'"), wrong.getMessage());
            assertNull(pool(sluice, "acc_app"));
            assertEquals(0, server.connectionCount("acc_app"));

            try (Connection c = sluice.connect("acc_app", "app-pw")) {
                assertEquals("acc_app@%", currentUser(c));
            }
            assertEquals(1045, loginError(sluice, "acc_app", "app-pw2"));
            assertEquals(1045, loginError(sluice, "acc_nobody", "x"));
            // The lookup account itself does not log in through Sluice (its sessions would take the lookups' pool).
            assertEquals(1045, loginError(sluice, "acc_lookup", "lookup-pw"));
            PoolSnapshot p = pool(sluice, "acc_app");
            assertEquals(1, p.connects(), "the wrong passwords opened nothing: " + p);

            List<ServerAccounts.View> learned = sluice.proxy.accounts().learnedAccounts();
            ServerAccounts.View v = learned.stream().filter(x -> x.name().equals("acc_app")).findFirst().orElseThrow();
            assertEquals("%", v.host());
            assertEquals("mysql_native_password", v.plugin());
            assertTrue(v.expiresAt().isAfter(v.learnedAt()));
            assertFalse(v.toString().contains("*"), "no hash in a view: " + v);
        }
    }

    @Test
    void hostPatternsAreTheServersForTheClientsAddress() throws Exception {
        try (Sluice sluice = Sluice.start(server, config("transaction", ""))) {
            try (Connection c = sluice.connect("acc_local", "local-pw")) {
                assertEquals("acc_local@127.0.0.1", currentUser(c));
            }
            try (Connection c = sluice.connect("acc_mask", "mask-pw")) {
                assertEquals("acc_mask@127.0.0.0/255.255.255.0", currentUser(c));
            }
            // 'acc_far'@'10.%' does not match a client at 127.0.0.1: the same 1045 as an unknown user.
            assertEquals(1045, loginError(sluice, "acc_far", "far-pw"));
            assertNull(pool(sluice, "acc_far"));
        }
    }

    @Test
    void lockedExpiredAndOtherPluginsGetTheirOwnErrors() throws Exception {
        try (Sluice sluice = Sluice.start(server, config("transaction", ""))) {
            SQLException locked = assertThrows(SQLException.class, () -> sluice.connect("acc_locked", "locked-pw"));
            assertEquals(4151, locked.getErrorCode(), locked.getMessage());
            assertTrue(locked.getMessage().contains("this account is locked"), locked.getMessage());
            // A wrong password on a locked account says only "denied": the lock is told to who knows the password.
            assertEquals(1045, loginError(sluice, "acc_locked", "nope"));

            SQLException expired = assertThrows(SQLException.class, () -> sluice.connect("acc_expired", "exp-pw"));
            assertEquals(1862, expired.getErrorCode(), expired.getMessage());

            SQLException plugin = assertThrows(SQLException.class, () -> sluice.connect("acc_sock", "x"));
            assertEquals(1251, plugin.getErrorCode(), plugin.getMessage());
            assertTrue(plugin.getMessage().contains("'unix_socket'"), plugin.getMessage());
            for (String name : List.of("acc_locked", "acc_expired", "acc_sock")) {
                assertNull(pool(sluice, name), name);
            }
        }
    }

    @Test
    void maxUserConnectionsLimitsSessionModeClientsAndEveryPool() throws Exception {
        try (Sluice sluice = Sluice.start(server, config("session", ""))) {
            try (Connection a = sluice.connect("acc_limited", "lim-pw"); Connection b = sluice.connect("acc_limited", "lim-pw")) {
                currentUser(a);
                currentUser(b);
                SQLException third = assertThrows(SQLException.class, () -> sluice.connect("acc_limited", "lim-pw"));
                assertEquals(1226, third.getErrorCode(), third.getMessage());
                assertTrue(third.getMessage().contains("max_user_connections"), third.getMessage());
            }
            assertEquals(2, pool(sluice, "acc_limited").max());
        }
        assertEquals(0, server.awaitConnectionCount("acc_limited", 0, Duration.ofSeconds(5))); // the first Sluice's are gone
        try (Sluice sluice = Sluice.start(server, config("transaction", ""))) {
            List<Connection> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    clients.add(sluice.connect("acc_limited", "lim-pw"));
                }
                for (Connection c : clients) {
                    assertEquals("acc_limited@%", currentUser(c)); // four clients, multiplexed
                }
                assertEquals(2, pool(sluice, "acc_limited").max());
                assertTrue(server.connectionCount("acc_limited") <= 2);
            } finally {
                for (Connection c : clients) {
                    c.close();
                }
            }
        }
    }

    @Test
    void perAccountSettingsFromAnEntryWithoutPassword() throws Exception {
        try (Sluice sluice = Sluice.start(server, config("transaction", "sluice.users.acc_app { pool-max = 1, pool-mode = session }\n"))) {
            try (Connection c = sluice.connect("acc_app", "app-pw")) {
                assertEquals("acc_app@%", currentUser(c));
                assertEquals(1, pool(sluice, "acc_app").max());
                assertEquals(1, server.connectionCount("acc_app")); // session mode: held from the first command
            }
        }
    }

    @Test
    void aChangedPasswordIsPickedUpAtTheNextLogin() throws Exception {
        server.execute("ALTER USER 'acc_rotate'@'%' IDENTIFIED BY 'old-pw'");
        try (Sluice sluice = Sluice.start(server, config("transaction", ""))) {
            try (Connection c = sluice.connect("acc_rotate", "old-pw")) {
                currentUser(c);
            }
            long lookups = sluice.proxy.accounts().lookups();
            server.execute("ALTER USER 'acc_rotate'@'%' IDENTIFIED BY 'new-pw'");
            Thread.sleep(1100);
            // The cached hash says no; the account is read again once, and the new password works.
            try (Connection c = sluice.connect("acc_rotate", "new-pw")) {
                assertEquals("acc_rotate@%", currentUser(c));
            }
            assertEquals(lookups + 1, sluice.proxy.accounts().lookups());
            assertEquals(1045, loginError(sluice, "acc_rotate", "old-pw"));
        }
    }

    @Test
    void aBackendLoginRefusedByTheServerDropsTheCachedAccount() throws Exception {
        server.execute("ALTER USER 'acc_stale'@'%' IDENTIFIED BY 'old-pw'");
        try (Sluice sluice = Sluice.start(server, config("session", "sluice.pool.validate-after-idle = 0s\n"))) {
            try (Connection c = sluice.connect("acc_stale", "old-pw")) {
                currentUser(c);
            }
            server.execute("ALTER USER 'acc_stale'@'%' IDENTIFIED BY 'new-pw'");
            for (String id : server.queryString("SELECT GROUP_CONCAT(ID) FROM information_schema.PROCESSLIST "
                    + "WHERE USER = 'acc_stale'").split(",")) {
                server.execute("KILL " + id);
            }
            // Still cached: Sluice accepts the old password, but the server refuses its backend login.
            SQLException e = assertThrows(SQLException.class, () -> {
                try (Connection c = sluice.connect("acc_stale", "old-pw")) {
                    currentUser(c);
                }
            });
            assertTrue(e.getMessage().contains("1045"), e.getMessage());
            assertEquals(1, sluice.proxy.accounts().invalidations());
            // Dropped at once: read again, the old password is refused and the new one works.
            assertEquals(1045, loginError(sluice, "acc_stale", "old-pw"));
            try (Connection c = sluice.connect("acc_stale", "new-pw")) {
                assertEquals("acc_stale@%", currentUser(c));
            }
        }
    }

    @Test
    void theCacheExpiresAfterItsTtlAndReloadDropsIt() throws Exception {
        try (Sluice sluice = Sluice.start(server, config("transaction", "sluice.auth.cache-ttl = 1s\n"))) {
            ServerAccounts accounts = sluice.proxy.accounts();
            sluice.connect("acc_app", "app-pw").close();
            sluice.connect("acc_app", "app-pw").close();
            assertEquals(1, accounts.lookups());
            Thread.sleep(1100);
            sluice.connect("acc_app", "app-pw").close();
            assertEquals(2, accounts.lookups());
            sluice.proxy.reload(sluice.proxy.config());
            assertTrue(accounts.learnedAccounts().isEmpty());
            sluice.connect("acc_app", "app-pw").close();
            assertEquals(3, accounts.lookups());
        }
    }

    @Test
    void aCachingSha2AccountNeedsOneFullAuthenticationThenTheFastPathServes() throws Exception {
        // MariaDB has no caching_sha2_password plugin, so the account's row is made to read as MySQL 8 would
        // hold it: only the table changes (no FLUSH PRIVILEGES), the server itself still checks the same
        // password with mysql_native_password when Sluice logs in as the account.
        String crypt = CachingSha2Password.createCrypt("sha2-pw".getBytes(StandardCharsets.UTF_8));
        server.execute("DROP USER IF EXISTS 'acc_sha2'@'%'", "CREATE USER 'acc_sha2'@'%' IDENTIFIED BY 'sha2-pw'",
                "UPDATE mysql.global_priv SET Priv = JSON_SET(Priv, '$.plugin', 'caching_sha2_password', "
                        + "'$.authentication_string', '" + crypt + "') WHERE User = 'acc_sha2'");
        try (Sluice sluice = Sluice.start(server, config("transaction", "sluice.frontend.server-version = \"5.7.19-sluice\"\n"
                + "sluice.auth.cache-ttl = 1s\n"))) {
            String noRsa = "jdbc:mysql://127.0.0.1:" + sluice.port() + "/?useSSL=false&allowPublicKeyRetrieval=false"
                    + "&defaultAuthenticationPlugin=caching_sha2_password";
            // First login without TLS and without fetching Sluice's RSA key: the password cannot reach Sluice.
            assertThrows(SQLException.class, () -> DriverManager.getConnection(noRsa, "acc_sha2", "sha2-pw").close());
            assertNull(pool(sluice, "acc_sha2"));
            // Full authentication with the RSA key: checked against the $A$005$ crypt string, and Sluice logs in.
            try (Connection c = sluice.connect("acc_sha2", "sha2-pw", null, "defaultAuthenticationPlugin=caching_sha2_password")) {
                assertEquals("acc_sha2@%", currentUser(c));
            }
            assertEquals("caching_sha2_password", sluice.proxy.accounts().learnedAccounts().stream()
                    .filter(v -> v.name().equals("acc_sha2")).findFirst().orElseThrow().plugin());
            // Later logins take the fast path: no RSA key, no TLS needed.
            try (Connection c = DriverManager.getConnection(noRsa, "acc_sha2", "sha2-pw")) {
                assertEquals("acc_sha2@%", currentUser(c));
            }
            assertThrows(SQLException.class, () -> DriverManager.getConnection(noRsa, "acc_sha2", "wrong").close());
            // Read again after its TTL with the same hash: the fast path goes on, no second full authentication.
            long lookups = sluice.proxy.accounts().lookups();
            Thread.sleep(1100);
            try (Connection c = DriverManager.getConnection(noRsa, "acc_sha2", "sha2-pw")) {
                assertEquals("acc_sha2@%", currentUser(c));
            }
            assertEquals(lookups + 1, sluice.proxy.accounts().lookups());
        } finally {
            server.execute("DROP USER IF EXISTS 'acc_sha2'@'%'");
        }
    }

    @Test
    void aLookupWhileTheServerIsFullWaitsInTheQueueLikeAnyRequest() throws Exception {
        try (Sluice sluice = Sluice.start(server, config("session", "sluice.pool { global-max = 2, max-per-user = 2, acquire-timeout = 10s }\n"))) {
            Connection a = sluice.connect("acc_app", "app-pw");
            try (Connection b = sluice.connect("acc_app", "app-pw")) {
                currentUser(a);
                currentUser(b);
                assertEquals(2, sluice.proxy.pools().total());
                // acc_local is not cached: its lookup needs a backend, and the cap is reached.
                java.util.concurrent.CompletableFuture<String> login = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                    try (Connection c = sluice.connect("acc_local", "local-pw")) {
                        return currentUser(c);
                    } catch (SQLException e) {
                        return "failed: " + e;
                    }
                });
                Thread.sleep(500);
                assertFalse(login.isDone(), "the lookup waits for a backend under the cap");
                assertEquals(1, pool(sluice, "acc_lookup").waiting());
                assertTrue(server.connectionCount("acc_lookup") == 0, "no connection around the cap");
                a.close(); // a backend comes free: the lookup, then the login, get it
                assertEquals("acc_local@127.0.0.1", login.get(10, java.util.concurrent.TimeUnit.SECONDS));
                assertTrue(sluice.proxy.pools().total() <= 2);
            } finally {
                a.close();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"transaction", "session"})
    void changeUserToAServerAccount(String mode) throws Exception {
        try (Sluice sluice = Sluice.start(server, config(mode, ""))) {
            try (Connection c = sluice.connect("acc_app", "app-pw")) {
                // acc_local has not logged in through this Sluice: it is read from the server now.
                ((com.mysql.cj.jdbc.JdbcConnection) c).changeUser("acc_local", "local-pw");
                assertEquals("acc_local@127.0.0.1", currentUser(c));
                ((com.mysql.cj.jdbc.JdbcConnection) c).changeUser("acc_app", "app-pw"); // cached
                assertEquals("acc_app@%", currentUser(c));
                SQLException e = assertThrows(SQLException.class,
                        () -> ((com.mysql.cj.jdbc.JdbcConnection) c).changeUser("acc_app", "wrong"));
                assertEquals(1045, e.getErrorCode());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"transaction", "session"})
    void serverAccountsAreIsolatedFromEachOtherUnderTheGlobalCap(String mode) throws Exception {
        server.execute("DROP USER IF EXISTS 'acc_iso_a'@'%', 'acc_iso_b'@'%'",
                "CREATE USER 'acc_iso_a'@'%' IDENTIFIED BY 'iso-a'", "CREATE USER 'acc_iso_b'@'%' IDENTIFIED BY 'iso-b'");
        int clients = mode.equals("transaction") ? 40 : 8;
        java.util.concurrent.ConcurrentLinkedQueue<String> wrong = new java.util.concurrent.ConcurrentLinkedQueue<>();
        java.util.concurrent.atomic.AtomicInteger peak = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean sampling = new java.util.concurrent.atomic.AtomicBoolean(true);
        try (Sluice sluice = Sluice.start(server, config(mode, "sluice.pool { max-per-user = 3, global-max = 4, "
                + "acquire-timeout = 20s }\n"))) {
            Thread sampler = new Thread(() -> {
                try (Connection root = server.rootConnection(); Statement s = root.createStatement()) {
                    while (sampling.get()) {
                        try (ResultSet r = s.executeQuery("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                + "WHERE USER IN ('acc_iso_a', 'acc_iso_b', 'acc_lookup')")) {
                            r.next();
                            peak.accumulateAndGet(r.getInt(1), Math::max);
                        }
                    }
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            sampler.start();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                int n = i;
                Thread t = new Thread(() -> {
                    String user = n % 2 == 0 ? "acc_iso_a" : "acc_iso_b";
                    String mine = "client-" + n;
                    String tz = String.format("+%02d:00", n % 12);
                    try (Connection c = sluice.connect(user, n % 2 == 0 ? "iso-a" : "iso-b"); Statement s = c.createStatement()) {
                        s.execute("SET time_zone = '" + tz + "'");
                        s.execute("SET @mine = '" + mine + "'");
                        for (int round = 0; round < 3; round++) {
                            try (ResultSet r = s.executeQuery("SELECT CURRENT_USER(), @@time_zone, @mine")) {
                                r.next();
                                String seen = r.getString(1) + "|" + r.getString(2) + "|" + r.getString(3);
                                String want = user + "@%|" + tz + "|" + mine;
                                if (!seen.equals(want)) {
                                    wrong.add("client " + n + ": saw " + seen + ", expected " + want);
                                }
                            }
                            Thread.sleep(5);
                        }
                    } catch (Exception e) {
                        wrong.add("client " + n + ": " + e);
                    }
                });
                threads.add(t);
                t.start();
            }
            for (Thread t : threads) {
                t.join(60_000);
            }
            sampling.set(false);
            sampler.join();
            assertTrue(wrong.isEmpty(), wrong.size() + " wrong, first: " + wrong.peek());
            assertTrue(peak.get() <= 4, "the server saw " + peak.get() + " connections of the accounts and the lookups, cap 4");
            assertTrue(pool(sluice, "acc_iso_a").max() == 3 && pool(sluice, "acc_iso_b").max() == 3);
        }
    }

    @Test
    void aLoginStormOfAccountsNotYetKnownReadsEachAccountOnce() throws Exception {
        try (Sluice sluice = Sluice.start(server, config("transaction", ""))) {
            List<String[]> who = List.of(new String[] {"acc_app", "app-pw"}, new String[] {"acc_local", "local-pw"},
                    new String[] {"acc_mask", "mask-pw"}, new String[] {"acc_limited", "lim-pw"});
            java.util.concurrent.ConcurrentLinkedQueue<String> wrong = new java.util.concurrent.ConcurrentLinkedQueue<>();
            java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                String[] u = who.get(i % who.size());
                Thread t = new Thread(() -> {
                    try (RawClient c = new RawClient(sluice.port())) {
                        go.await();
                        byte[] reply = c.login(u[0], u[1], null);
                        if (!RawClient.isOk(reply) || !RawClient.isOk(c.execute("DO 1"))) {
                            wrong.add(u[0] + ": " + (RawClient.isErr(reply) ? RawClient.errMessage(reply) : "statement failed"));
                        }
                    } catch (Exception e) {
                        wrong.add(u[0] + ": " + e);
                    }
                });
                threads.add(t);
                t.start();
            }
            go.countDown();
            for (Thread t : threads) {
                t.join(30_000);
            }
            assertTrue(wrong.isEmpty(), wrong.size() + " failed, first: " + wrong.peek());
            assertEquals(4, sluice.proxy.accounts().lookups(), "one lookup per account, shared by its simultaneous logins");
            assertTrue(pool(sluice, "acc_limited").max() == 2);
        }
    }

    @Test
    void theMariadbCommandLineClientLogsIn() throws Exception {
        ExternalClient.requireProgram("mariadb", "apt-get install mariadb-client");
        try (Sluice sluice = Sluice.start(server, config("transaction", ""))) {
            int port = sluice.port();
            ExternalClient.Result r = ExternalClient.run(ExternalClient.env(port, "acc_app", "app-pw"), "mariadb",
                    "-h127.0.0.1", "-P" + port, "-uacc_app", "--skip-ssl", "-N", "-e", "SELECT CURRENT_USER()").ok();
            assertEquals("acc_app@%", r.out().trim());
            ExternalClient.Result bad = ExternalClient.run(ExternalClient.env(port, "acc_app", "nope"), "mariadb",
                    "-h127.0.0.1", "-P" + port, "-uacc_app", "--skip-ssl", "-N", "-e", "SELECT 1");
            assertTrue(bad.stderr().contains("1045"), bad.stderr());
        }
    }
}
