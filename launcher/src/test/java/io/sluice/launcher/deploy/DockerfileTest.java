package io.sluice.launcher.deploy;

import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;
import io.sluice.launcher.Main;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URI;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Dockerfile against what it builds and runs, since no Docker engine runs the tests: the build
 * command is the README's, the jar is the one Maven makes, the ports are Sluice's, the health check
 * and config file are in the image. {@code DockerfileIT} then runs its commands against the jar.
 */
class DockerfileTest {
    private final Dockerfile docker = Dockerfile.read();

    @Test
    void buildStageRunsTheReadmesBuildCommandOverEveryModule() {
        List<Dockerfile.Instruction> runs = docker.all(0, "RUN");
        assertEquals(1, runs.size(), "the build stage runs one command: the README's");
        String command = runs.get(0).rest();
        assertTrue(command.startsWith("mvn "), command);
        assertTrue(Repo.read("README.md").contains(command),
                "README.md must show the image's build command `" + command + "` (the image builds what the README builds)");
        assertTrue(Repo.read("deploy/docker/README.md").contains(command), "deploy/docker/README.md names it too");
        assertEquals(Map.of("mount", "type=cache,target=/root/.m2"), runs.get(0).flags(), "only a cache mount beside it");

        Set<String> copied = docker.all(0, "COPY").stream().map(c -> c.words().get(0)).collect(Collectors.toSet());
        assertTrue(copied.contains("pom.xml"), "the root pom is copied");
        for (String module : Repo.modules()) {
            assertTrue(copied.contains(module), "module " + module + " of the root pom is not copied into the build stage");
        }
    }

    @Test
    void imageGetsTheJarMavenPackageMakes() {
        String launcherPom = Repo.read("launcher/pom.xml");
        assertTrue(launcherPom.contains("maven-shade-plugin") && launcherPom.contains("<mainClass>" + Main.class.getName() + "</mainClass>"),
                "the launcher's jar is the shaded one with Main as its main class");
        String outputFile = Repo.buildElement("launcher/pom.xml", "outputFile");
        String prefix = "${project.build.directory}/";
        assertTrue(outputFile != null && outputFile.startsWith(prefix), "launcher/pom.xml: the shade plugin's <outputFile> is in target: " + outputFile);
        String jarName = outputFile.substring(prefix.length());
        assertEquals("sluice.jar", jarName, "the shaded jar README.md runs");

        String workdir = docker.one(0, "WORKDIR").rest();
        List<String> copy = docker.copyFromBuild().words();
        assertEquals("build", docker.copyFromBuild().flags().get("from"));
        assertEquals(workdir + "/launcher/target/" + jarName, copy.get(0), "the jar mvn package leaves in launcher/target");
        assertEquals(List.of("-jar", docker.jarInImage()), docker.entrypoint().subList(
                docker.entrypoint().indexOf("-jar"), docker.entrypoint().indexOf("-jar") + 2), "ENTRYPOINT runs that jar");
    }

    @Test
    void exposesTheListenAndAdminPortsOfTheDefaultConfigWhichAreReferenceDefaults() {
        String source = docker.contextSourceOf(docker.configInImage());
        assertTrue(Files.isRegularFile(Repo.path(source)), source);
        Map<String, String> env = new java.util.HashMap<>(docker.env());
        env.put("SLUICE_USER", "app"); // what docker run -e adds; the default config names no user
        env.put("SLUICE_PASSWORD", "pw");
        env.put("SLUICE_ADMIN_TOKEN", "tok"); // beyond loopback, the image wants a token (or SLUICE_ADMIN_ALLOW_NO_TOKEN)
        SluiceConfig image = ConfigLoader.load(Optional.of(Repo.path(source)), Map.of(), env);
        SluiceConfig reference = ConfigLoader.parse("sluice.users.app.password = \"pw\"");

        Set<Integer> exposed = new TreeSet<>();
        for (String port : docker.one(docker.finalStage(), "EXPOSE").words()) {
            exposed.add(Integer.parseInt(port));
        }
        assertEquals(new TreeSet<>(List.of(image.listen().port(), image.admin().port())), exposed);
        assertEquals(reference.listen().port(), image.listen().port());
        assertEquals(reference.admin().port(), image.admin().port());
        assertEquals("0.0.0.0", image.listen().host(), "clients come in through the container's interface");
        assertEquals("0.0.0.0", image.admin().host(), "probes and published ports reach the admin endpoint");
    }

    @Test
    void healthCheckRunsAClassOfTheJarAgainstTheAdminHealthRoute() throws Exception {
        List<String> cmd = docker.healthcheck();
        assertEquals("java", cmd.get(0));
        int cp = cmd.indexOf("-cp");
        assertEquals(docker.jarInImage(), cmd.get(cp + 1), "the jar the image holds");
        Class<?> main = Class.forName(cmd.get(cp + 2));
        Method m = main.getMethod("main", String[].class);
        assertTrue(Modifier.isStatic(m.getModifiers()) && Modifier.isPublic(main.getModifiers()), main + " has a public static main");

        List<String> args = cmd.subList(cp + 3, cmd.size());
        int tokenEnv = args.indexOf("--token-env");
        assertTrue(tokenEnv >= 0, "sends the admin token when there is one: " + args);
        assertEquals("sluice.admin.token", ConfigLoader.ENV_TO_PATH.get(args.get(tokenEnv + 1)),
                "the variable Sluice reads its admin token from");

        URI url = URI.create(args.get(args.size() - 1));
        SluiceConfig defaults = ConfigLoader.parse("sluice.users.app.password = \"pw\"");
        assertEquals("127.0.0.1", url.getHost());
        assertEquals(defaults.admin().port(), url.getPort(), "the admin port");
        assertEquals("/health", url.getPath());
        try (LiveAdmin admin = LiveAdmin.start()) {
            assertEquals(200, admin.status(url.getPath()), url.getPath() + " on a running admin endpoint");
        }
        assertTrue(docker.one(docker.finalStage(), "HEALTHCHECK").flags().keySet().containsAll(
                List.of("interval", "timeout", "start-period", "retries")));
    }

    @Test
    void runsAsANonRootUserOnAJreWithTheHeapSizedByTheContainer() {
        int stage = docker.finalStage();
        String user = docker.one(stage, "USER").rest();
        assertTrue(user.matches("\\d+"), "numeric USER, so Kubernetes' runAsNonRoot can verify it: " + user);
        assertNotEquals("0", user);
        Matcher useradd = Pattern.compile("useradd .*--uid (\\d+)").matcher(
                docker.all(stage, "RUN").stream().map(Dockerfile.Instruction::rest).collect(Collectors.joining("\n")));
        assertTrue(useradd.find(), "the user exists in the image");
        assertEquals(user, useradd.group(1));

        assertTrue(docker.one(stage, "FROM").rest().contains("-jre"), "a JRE, not a JDK: " + docker.one(stage, "FROM").rest());
        List<String> entry = docker.entrypoint();
        assertTrue(entry.stream().anyMatch(a -> a.matches("-XX:MaxRAMPercentage=\\d+(\\.\\d+)?")), entry.toString());
        assertFalse(entry.stream().anyMatch(a -> a.startsWith("-Xmx")), "a fixed -Xmx would ignore the container's limit");
        List<String> jvmFlags = new ArrayList<>(entry.subList(1, entry.indexOf("-jar")));
        assertTrue(jvmFlags.stream().allMatch(f -> f.startsWith("-XX:")), jvmFlags.toString());
    }
}
