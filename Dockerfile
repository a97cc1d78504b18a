# Multi-stage build: the same `mvn package` as README.md, then only the JRE and the jar.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml ./
COPY config/pom.xml config/
COPY testkit/pom.xml testkit/
COPY proxy/pom.xml proxy/
COPY admin/pom.xml admin/
COPY launcher/pom.xml launcher/
COPY config config
COPY testkit testkit
COPY proxy proxy
COPY admin admin
COPY launcher launcher
RUN mvn -B -q package -DskipTests

FROM eclipse-temurin:17-jre
RUN useradd --system --uid 10001 --no-create-home sluice
COPY --from=build /src/launcher/target/sluice.jar /opt/sluice/sluice.jar
USER 10001
# Clients on 6033, admin on 6034. In a container the admin endpoint must listen beyond loopback
# for probes; set SLUICE_ADMIN_TOKEN to protect its action routes.
ENV SLUICE_LISTEN_HOST=0.0.0.0 SLUICE_ADMIN_HOST=0.0.0.0
EXPOSE 6033 6034
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-jar", "/opt/sluice/sluice.jar"]
