/**
 * {@code sluice doctor}: diagnoses "Too many connections" (ERROR 1040) on any MySQL or MariaDB
 * server from live data. {@link io.sluice.admin.doctor.SnapshotCollector} reads the server over JDBC
 * into a {@link io.sluice.admin.doctor.ServerSnapshot}; {@link io.sluice.admin.doctor.Diagnoser}
 * turns a snapshot into a ranked {@link io.sluice.admin.doctor.Diagnosis} without I/O. Runs on the
 * caller's thread (blocking JDBC: never on an event loop). Must not import io.sluice.proxy: it also
 * diagnoses servers Sluice does not front, and reads Sluice only through its admin HTTP endpoint.
 */
package io.sluice.admin.doctor;
