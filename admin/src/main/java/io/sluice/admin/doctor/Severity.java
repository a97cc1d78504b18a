package io.sluice.admin.doctor;

/** How bad a finding is; the worst finding's severity is the process exit code of {@code sluice doctor}. */
public enum Severity {
    /** Nothing needs doing. */
    OK(0),
    /** Close to a limit, or a limit was reached in the past: act before it becomes an outage. */
    WARNING(1),
    /** At a limit now: new connections are (or are about to be) refused. */
    CRITICAL(2);

    private final int exitCode;

    Severity(int exitCode) {
        this.exitCode = exitCode;
    }

    /** 0, 1 or 2; exit code 3 (could not connect, usage error) belongs to the command, not to a diagnosis. */
    public int exitCode() {
        return exitCode;
    }

    static Severity worst(Severity a, Severity b) {
        return a.compareTo(b) >= 0 ? a : b;
    }
}
