package io.sluice.proxy.backend;

import java.util.HexFormat;

/**
 * What Sluice logs in to the server with is carried as a String from the config to the backend
 * login (pools, KILL connections, resets). Usually the account's clear password; for a server
 * account learned at a client's login (sluice.auth.source = server) it may instead be the
 * mysql_native_password stage-1 hash {@code SHA1(pw)} recovered from the client's scramble, which
 * logs in with mysql_native_password only. That form is marked by a leading NUL, which no password
 * can hold (the protocol ends clear passwords at a NUL). Never log either form.
 */
public final class BackendSecret {
    private static final String NATIVE_STAGE1 = "\u0000native-stage1:";

    private BackendSecret() {
    }

    /** The secret for an account of which only {@code SHA1(pw)} is known. */
    public static String nativeStage1(byte[] stage1) {
        return NATIVE_STAGE1 + HexFormat.of().formatHex(stage1);
    }

    /** The stage-1 hash in {@code secret}, or null when it is a clear password. */
    static byte[] nativeStage1Of(String secret) {
        if (!secret.startsWith(NATIVE_STAGE1) || secret.length() != NATIVE_STAGE1.length() + 40) {
            return null;
        }
        try {
            return HexFormat.of().parseHex(secret, NATIVE_STAGE1.length(), secret.length());
        } catch (IllegalArgumentException e) {
            return null; // not ours: a (very odd) clear password
        }
    }
}
