package io.sluice.launcher;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code sluice demo} where it cannot run: what it says and its exit code, without a server. */
class DemoCommandTest {
    record Run(int exit, String out, String err) {
    }

    private static Run run(DemoCommand demo, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine sub = new CommandLine(demo);
        sub.setOut(new PrintWriter(out, true));
        sub.setErr(new PrintWriter(err, true));
        int exit = sub.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void isASubcommandOfSluice() {
        StringWriter out = new StringWriter();
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(new PrintWriter(out, true));
        assertEquals(0, cl.execute("demo", "--help"));
        assertTrue(out.toString().contains("--keep-running"), out.toString());
        assertTrue(out.toString().contains("--replicas=N") && out.toString().contains("GTID replicas"), out.toString());
        assertTrue(cl.getSubcommands().containsKey("doctor"), "the doctor subcommand stays registered");
    }

    @Test
    void explainsWhatIsMissingWithoutAServerBinary() {
        DemoCommand demo = new DemoCommand();
        demo.findServer = Optional::empty;
        Run r = run(demo);
        assertEquals(DemoCommand.EXIT_UNUSABLE, r.exit());
        assertEquals("", r.out(), "nothing started, nothing printed on stdout");
        assertTrue(r.err().contains("no MariaDB or MySQL server binary found"), r.err());
        assertTrue(r.err().contains("mariadbd") && r.err().contains("/usr/sbin"), "says where it looked: " + r.err());
        assertTrue(r.err().contains("apt-get install mariadb-server"), r.err());
        assertTrue(r.err().contains("--mysqld /path/to/mysqld"), r.err());
        assertTrue(r.err().contains("Nothing was started."), r.err());
    }

    @Test
    void refusesABinaryThatIsNotThereAndOptionsThatMakeNoSense() {
        Run missing = run(new DemoCommand(), "--mysqld", "/nonexistent/mysqld");
        assertEquals(DemoCommand.EXIT_UNUSABLE, missing.exit());
        assertTrue(missing.err().contains("/nonexistent/mysqld is not an executable file"), missing.err());

        Run pool = run(new DemoCommand(), "--pool-size", "20", "--max-connections", "20");
        assertEquals(DemoCommand.EXIT_UNUSABLE, pool.exit());
        assertTrue(pool.err().contains("--pool-size (20) must be below --max-connections (20)"), pool.err());

        Run replicas = run(new DemoCommand(), "--replicas", "9");
        assertEquals(DemoCommand.EXIT_UNUSABLE, replicas.exit());
        assertTrue(replicas.err().contains("--replicas must be 0 (one server) to 4, got 9"), replicas.err());
        assertEquals(DemoCommand.EXIT_UNUSABLE, run(new DemoCommand(), "--replicas", "-1").exit());

        Run clients = run(new DemoCommand(), "--clients", "0");
        assertEquals(DemoCommand.EXIT_UNUSABLE, clients.exit());

        Run timeout = run(new DemoCommand(), "--acquire-timeout", "soon");
        assertEquals(DemoCommand.EXIT_UNUSABLE, timeout.exit());
        assertTrue(timeout.err().contains("--acquire-timeout soon is not a duration"), timeout.err());
        assertEquals("", timeout.out(), "no server was started");
    }
}
