/**
 * A throwaway MariaDB/MySQL server from this machine's binaries ({@link io.sluice.localdb.LocalServer}),
 * and a MariaDB primary with GTID replicas made of them ({@link io.sluice.localdb.LocalCluster}),
 * for tests (through testkit) and for {@code sluice demo}. Called from any thread; the server runs in
 * its own process, watched by a shell wrapper so that it never outlives the JVM.
 * Must not import Sluice's other modules, JUnit or Testcontainers: the launcher ships it.
 */
package io.sluice.localdb;
