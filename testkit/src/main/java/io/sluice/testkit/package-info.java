/**
 * Test support shared by every Sluice module (test scope only): throwaway MySQL/MariaDB servers
 * ({@link io.sluice.testkit.TestServer}: local ones are localdb's {@code LocalServer}), a fault-injecting TCP relay ({@link io.sluice.testkit.TcpRelay})
 * and Netty leak checks ({@link io.sluice.testkit.LeakCheckExtension}).
 * Called from test threads; the relay and server watchers run on their own daemon threads.
 * Must not import Sluice's main modules (they depend on this one); localdb is the exception, a leaf.
 */
package io.sluice.testkit;
