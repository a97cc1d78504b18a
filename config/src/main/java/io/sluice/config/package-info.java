/**
 * Sluice's configuration: {@code reference.conf} is the schema, {@link io.sluice.config.ConfigLoader}
 * the one place that loads and validates it into immutable records.
 * Used once at startup (and on reload) from the launcher thread; the records are shared read-only.
 * Must not import anything of Sluice; the only module that touches typesafe-config.
 */
package io.sluice.config;
