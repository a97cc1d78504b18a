/**
 * Test support shared by every Sluice module (test scope only): throwaway MySQL/MariaDB servers
 * ({@link io.sluice.testkit.TestServer}: local ones are localdb's {@code LocalServer}), a fault-injecting TCP relay ({@link io.sluice.testkit.TcpRelay})
 * and Netty leak checks ({@link io.sluice.testkit.LeakCheckExtension}).
 *
 * <p>{@link io.sluice.testkit.TestCluster} is a replicated MariaDB cluster for the cluster tests: a
 * primary and N GTID replicas (default 2), each a local {@code TestServer} with its own data
 * directory and port on 127.0.0.1 (localdb's {@code Options.withReplication}: server_id, binary log,
 * replication account), attached with {@code MASTER_USE_GTID=slave_pos}, replicas read-only. One call
 * each: {@code awaitReplicated} (MASTER_GTID_WAIT on the primary's gtid_binlog_pos),
 * {@code stopReplicaSql}/{@code startReplicaSql} (hold a replica behind), {@code setReadOnly},
 * {@code switchover} (planned), {@code crashPrimary} + {@code failover} (SIGKILL, then promote the
 * most advanced replica), and {@code relay(server)}: a {@code TcpRelay} in front of one server, so a
 * test can cut Sluice off from it while replication goes on. MariaDB only; a cluster starts in
 * about 2 s once the template data directory exists.
 * Called from test threads; the relay and server watchers run on their own daemon threads.
 * Must not import Sluice's main modules (they depend on this one); localdb is the exception, a leaf.
 */
package io.sluice.testkit;
