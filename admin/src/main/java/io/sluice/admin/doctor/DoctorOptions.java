package io.sluice.admin.doctor;

/**
 * What-if inputs of a diagnosis.
 *
 * @param instances            application instances sharing the server, for pool sizing; 0 = assume one
 *                             per distinct client host seen
 * @param idleThresholdSeconds a connection sleeping longer than this counts as idle (leaked) and gets
 *                             a KILL statement
 */
public record DoctorOptions(int instances, long idleThresholdSeconds) {
    public static final long DEFAULT_IDLE_THRESHOLD_SECONDS = 60;

    public DoctorOptions {
        if (instances < 0) {
            throw new IllegalArgumentException("instances must be >= 0, got " + instances);
        }
        if (idleThresholdSeconds < 0) {
            throw new IllegalArgumentException("idle threshold must be >= 0 seconds, got " + idleThresholdSeconds);
        }
    }

    public static DoctorOptions defaults() {
        return new DoctorOptions(0, DEFAULT_IDLE_THRESHOLD_SECONDS);
    }
}
