# syntax=docker/dockerfile:1
# Sluice's container image: the build stage runs README.md's build command, the runtime stage holds a
# JRE, the jar and a default config, and runs as a non-root user. How to build and run it:
# deploy/docker/README.md. launcher's DockerfileTest checks this file against the Maven build and
# reference.conf; DockerfileIT runs its ENTRYPOINT and HEALTHCHECK commands against the built jar.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
# Every module of the root pom (DockerfileTest checks the list).
COPY pom.xml ./
COPY config config
COPY localdb localdb
COPY testkit testkit
COPY proxy proxy
COPY admin admin
COPY launcher launcher
# BuildKit keeps the Maven repository between builds, so only changed dependencies are downloaded.
RUN --mount=type=cache,target=/root/.m2 mvn -B -q package -DskipTests

FROM eclipse-temurin:17-jre
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin sluice
COPY --from=build /src/launcher/target/sluice.jar /opt/sluice/sluice.jar
# Listen and admin on all interfaces; everything else from SLUICE_* variables or a file mounted here.
COPY deploy/docker/sluice.conf /etc/sluice/sluice.conf
USER 10001
# Clients on 6033, the admin endpoint (health, readiness, metrics) on 6034: reference.conf's defaults.
EXPOSE 6033 6034
# A JVM of its own with a 16 MiB heap and no JIT beyond C1: a fraction of a second, next to a busy Sluice.
# With SLUICE_ADMIN_TOKEN set (which an admin endpoint beyond loopback wants on every route) it sends the token.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx16m", "-cp", "/opt/sluice/sluice.jar", "io.sluice.launcher.HealthCheck", "--token-env", "SLUICE_ADMIN_TOKEN", "http://127.0.0.1:6034/health"]
# Heap = half the container's memory limit: Netty's direct buffers (up to the heap size by default),
# metaspace and thread stacks live outside it. Out of memory ends the process, for the orchestrator to
# restart, rather than leaving a half-working proxy. Arguments after the image name are appended:
# `docker run IMAGE --pool-size 20`, `docker run IMAGE demo`.
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=50", "-XX:+ExitOnOutOfMemoryError", "-jar", "/opt/sluice/sluice.jar", "-c", "/etc/sluice/sluice.conf"]
