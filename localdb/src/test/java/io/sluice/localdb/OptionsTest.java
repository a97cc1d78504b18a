package io.sluice.localdb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The options' rules, without a server. */
class OptionsTest {

  @Test
  void defaultsAndWithers() {
    LocalServer.Options o = LocalServer.Options.defaults()
        .withMaxConnections(20)
        .withServerArgs("--wait-timeout=5")
        .withServerArgs("--lock-wait-timeout=3")
        .withRootPassword("pw")
        .withDirPrefix("sluice-demo-")
        .withBinary(Path.of("/usr/sbin/mariadbd"));
    assertEquals(20, o.maxConnections());
    assertEquals(List.of("--wait-timeout=5", "--lock-wait-timeout=3"), o.serverArgs());
    assertEquals("pw", o.rootPassword());
    assertEquals("sluice-demo-", o.dirPrefix());
    assertEquals(Optional.of(Path.of("/usr/sbin/mariadbd")), o.binary());
    assertEquals(Optional.empty(), LocalServer.Options.defaults().binary());
    assertEquals(Optional.empty(), o.replication());
    assertEquals(Optional.of(LocalServer.Replication.of(3)), o.withReplication(3).replication());
  }

  @Test
  void rejectsWhatTheServerOrTheFileSystemWouldMisread() {
    LocalServer.Options d = LocalServer.Options.defaults();
    assertThrows(IllegalArgumentException.class, () -> d.withMaxConnections(0));
    assertThrows(IllegalArgumentException.class, () -> d.withServerArgs("wait-timeout=5"));
    assertThrows(IllegalArgumentException.class, () -> d.withDirPrefix(""));
    assertThrows(IllegalArgumentException.class, () -> d.withDirPrefix("a/b"));
    assertThrows(IllegalArgumentException.class, () -> d.withReplication(0));
    assertThrows(IllegalArgumentException.class, () -> d.withReplication(new LocalServer.Replication(1, "a'b", "pw")));
  }

  @Test
  void missingBinaryIsReportedWithWhatWasSearched() {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> LocalServer.start(LocalServer.Options.defaults().withBinary(Path.of("/nonexistent/mysqld"))));
    assertTrue(e.getMessage().contains("/nonexistent/mysqld is not an executable file"), e.getMessage());
    assertTrue(LocalServer.searchedPlaces().contains("/usr/sbin"), LocalServer.searchedPlaces());
  }

  @Test
  void sqlStringEscapesQuotesAndBackslashes() {
    assertEquals("p''a\\\\ss", LocalServer.sqlString("p'a\\ss"));
  }
}
