package io.sluice.admin.doctor;

/** The root causes the doctor tells apart; each finding names one. */
public enum Verdict {
    /** Connections mostly sleeping: leaked by the application, or pools sized far above their use. */
    IDLE_LEAK("idle leak / oversized pools"),
    /** Connections mostly running statements: the demand is real. */
    GENUINE_LOAD("genuine load"),
    /** max_connections is small for what connects (a default, or lowered by mysqld), whatever the mix. */
    LIMIT_TOO_LOW("max_connections too low"),
    /** An account is at (or near) its MAX_USER_CONNECTIONS (ERROR 1226) or max_user_connections (ERROR 1203). */
    PER_USER_CAP("per-user cap"),
    /** File descriptors bound the number of connections before max_connections does. */
    FD_CEILING("file descriptor ceiling"),
    /** No limit is near. */
    HEALTHY("healthy");

    private final String label;

    Verdict(String label) {
        this.label = label;
    }

    /** A short human name, as printed in the verdict table. */
    public String label() {
        return label;
    }
}
