package io.sluice.proxy;

import io.sluice.testkit.LeakCheckExtension;
import io.sluice.testkit.TestServer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * sysbench (libmariadb, server-side prepared statements) through Sluice: short OLTP runs with no
 * errors, in each pool mode.
 */
@ExtendWith(LeakCheckExtension.class)
class SysbenchIT {

    /** Session mode holds one backend per client, so the pool is as large as the thread count. */
    @Test
    void oltpReadWriteThroughSluice() throws Exception {
        oltpReadWrite("sluice.pool { mode = session, max-per-user = 8 }\n");
    }

    /**
     * Transaction mode with fewer backends than sysbench threads: its prepared statements (prepared
     * by every thread, executed on whichever backend is free) are virtualized, so 8 threads share 3
     * backends with no error.
     */
    @Test
    void oltpReadWriteWithPreparedStatementsOnFewerBackendsThanThreads() throws Exception {
        oltpReadWrite("sluice.pool { mode = transaction, max-per-user = 3, acquire-timeout = 20s }\n");
    }

    /** A short sysbench oltp_read_write run with 8 threads through a Sluice with {@code pool} settings: no error. */
    private static void oltpReadWrite(String pool) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/sysbench")), "sysbench is not installed");
        TestServer server = TestServer.shared();
        server.createUser("sb", "sb-pw");
        server.createDatabase("sbtest");
        try (Sluice sluice = Sluice.start(server, "sluice.users.sb.password = \"sb-pw\"\n" + pool)) {
            assertEquals(0, sysbench(sluice, "prepare", 1).exit, "prepare failed");
            Result run = sysbench(sluice, "run", 8);
            assertEquals(0, run.exit, run.out);
            Matcher tx = Pattern.compile("transactions:\\s+(\\d+)").matcher(run.out);
            assertTrue(tx.find() && Long.parseLong(tx.group(1)) > 0, run.out);
            // sysbench retries the server's own deadlocks (1213) as "ignored errors", as it does
            // directly; anything else would be FATAL and a non-zero exit.
            assertTrue(!run.out.contains("FATAL"), run.out);
            sysbench(sluice, "cleanup", 1);
        }
    }

    record Result(int exit, String out) {
    }

    static Result sysbench(Sluice sluice, String command, int threads) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("sysbench", "oltp_read_write", "--db-driver=mysql",
                "--mysql-host=127.0.0.1", "--mysql-port=" + sluice.port(), "--mysql-user=sb", "--mysql-password=sb-pw",
                "--mysql-db=sbtest", "--tables=2", "--table-size=500", "--threads=" + threads, "--time=3",
                "--report-interval=0", command));
        java.io.File log = java.io.File.createTempFile("sysbench-", ".out");
        log.deleteOnExit();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log).start();
        if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            return new Result(-1, "sysbench " + command + " did not finish within 60 s:\n" + Files.readString(log.toPath()));
        }
        return new Result(p.exitValue(), Files.readString(log.toPath()));
    }
}
