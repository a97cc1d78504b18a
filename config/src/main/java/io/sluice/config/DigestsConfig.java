package io.sluice.config;

/**
 * Per-statement statistics (statement digests, issue #29): whether Sluice keeps them, and their bounds.
 *
 * @param enabled       normalize each statement and count it per digest, front-end user and server
 * @param maxDigests    digests kept at most; beyond it the least recently seen are evicted (and counted)
 * @param maxTextLength characters of a digest's normalized text kept at most (longer ones end in "...")
 */
public record DigestsConfig(boolean enabled, int maxDigests, int maxTextLength) {

    /** The reference.conf defaults. */
    public static final DigestsConfig DEFAULT = new DigestsConfig(true, 5000, 1024);
}
