package io.sluice.proxy.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.sluice.proxy.protocol.auth.NativePassword;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The two forms of what Sluice logs in to the server with. */
class BackendSecretTest {

    @Test
    void aStageOneHashRoundTripsAndAPasswordIsNeverTakenForOne() {
        byte[] stage1 = NativePassword.hashStage1("pw".getBytes(StandardCharsets.UTF_8));
        assertArrayEquals(stage1, BackendSecret.nativeStage1Of(BackendSecret.nativeStage1(stage1)));
        assertNull(BackendSecret.nativeStage1Of("pw"));
        assertNull(BackendSecret.nativeStage1Of(""));
        assertNull(BackendSecret.nativeStage1Of("\u0000native-stage1:not-hex-at-all-but-forty-characters-long!!"));
        assertNull(BackendSecret.nativeStage1Of("\u0000native-stage1:abcd"));
    }
}
