package io.sluice.proxy.frontend;

import io.sluice.config.UserConfig;
import io.sluice.proxy.protocol.auth.CachingSha2Password;
import io.sluice.proxy.protocol.auth.NativePassword;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * What Sluice can check a front-end user's login against, derived once from its config: the
 * mysql_native_password stage-2 hash, the caching_sha2_password stage-2 hash, or only a
 * caching_sha2 crypt string (then the first login of each user needs the clear password, sent
 * over TLS or RSA-encrypted, and later logins use the fast path through {@link #learnSha2}).
 */
final class Credentials {
    final UserConfig user;
    /** SHA1(SHA1(password)), or null when unknown. */
    final byte[] nativeStage2;
    /** SHA256(SHA256(password)), or null until known. */
    private volatile byte[] sha2Stage2;
    /** "$A$005$..." crypt string, or null. */
    final String sha2Crypt;
    final boolean emptyPassword;
    /**
     * Checked against a server account rather than configured: a successful check yields what
     * Sluice logs in to the server with ({@link AuthExchange#backendSecret()}).
     */
    final boolean serverAccount;

    Credentials(UserConfig user) {
        this.user = user;
        this.serverAccount = false;
        Optional<String> clear = user.password();
        if (clear.isPresent()) {
            byte[] pw = clear.get().getBytes(StandardCharsets.UTF_8);
            emptyPassword = pw.length == 0;
            nativeStage2 = NativePassword.hashStage2(pw);
            sha2Stage2 = CachingSha2Password.stage2(pw);
            sha2Crypt = null;
        } else {
            String hash = user.passwordHash().orElseThrow();
            emptyPassword = false;
            nativeStage2 = nativeStage2Of(hash);
            sha2Crypt = sha2CryptOf(hash);
            sha2Stage2 = null;
        }
    }

    /**
     * A server account's row (sluice.auth.source = server): {@code hash} is its authentication_string,
     * {@code "*"+hex} (mysql_native_password), {@code "$A$..."} (caching_sha2_password) or
     * {@code ""} (no password).
     */
    Credentials(UserConfig user, String hash) {
        this.user = user;
        this.serverAccount = true;
        emptyPassword = hash.isEmpty();
        if (emptyPassword) {
            nativeStage2 = new byte[0];
            sha2Crypt = null;
        } else {
            nativeStage2 = nativeStage2Of(hash);
            sha2Crypt = sha2CryptOf(hash);
        }
        sha2Stage2 = null;
    }

    /** The stage-2 hash of a {@code "*"+hex} authentication string (mysql_native_password), else null. */
    private static byte[] nativeStage2Of(String hash) {
        return hash.startsWith("*") ? NativePassword.parseServerHash(hash) : null;
    }

    /** A caching_sha2_password crypt string as it is; null for a native hash. */
    private static String sha2CryptOf(String hash) {
        return hash.startsWith("*") ? null : hash;
    }

    byte[] sha2Stage2() {
        return sha2Stage2;
    }

    /** Remembers the fast-path hash after a successful full authentication. */
    void learnSha2(byte[] clearPassword) {
        sha2Stage2 = CachingSha2Password.stage2(clearPassword);
    }

    /** The plugin to ask for when the client's choice cannot be checked. */
    String preferredPlugin() {
        return nativeStage2 != null ? AuthExchange.NATIVE : AuthExchange.SHA2;
    }
}
