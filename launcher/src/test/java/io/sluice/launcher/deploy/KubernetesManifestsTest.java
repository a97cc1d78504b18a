package io.sluice.launcher.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecretKeySelector;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.openshift.api.model.monitoring.v1.Endpoint;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;
import io.sluice.launcher.Main;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * deploy/kubernetes against Sluice itself: every manifest parses strictly into fabric8's model
 * ({@link Manifests}), and the Sluice container's effective configuration — the ConfigMap's file
 * loaded by Sluice's own {@link ConfigLoader} with the container's environment, as the image's
 * ENTRYPOINT would load it — decides the ports the probes, container ports and scrape targets must
 * use. Probe and scrape paths are asked of a running admin endpoint ({@link LiveAdmin}).
 */
class KubernetesManifestsTest {
    /**
     * SLUICE_* variables the manifests may set although Sluice does not read them yet, each with the
     * issue that will make it real. The manifest must say in a comment that Sluice ignores it.
     */
    static final Map<String, String> FUTURE_ENV = Map.of();
    /** MySQL's default max_connections (151) minus the slot it keeps for an administrator. */
    private static final int SERVER_BUDGET = 150;
    private static final Path DIR = Repo.path("deploy/kubernetes");

    private static List<Manifests.Doc> docs;
    private static LiveAdmin admin;
    private final Dockerfile docker = Dockerfile.read();

    @BeforeAll
    static void readManifestsAndStartAnAdminEndpoint() {
        docs = Manifests.readAll(DIR);
        admin = LiveAdmin.start();
    }

    @AfterAll
    static void stopAdmin() {
        if (admin != null) {
            admin.close();
        }
    }

    // ---- strict parsing ------------------------------------------------------------------------

    @Test
    void everyManifestParsesStrictlyIntoTheKubernetesModel() {
        Set<String> kinds = new HashSet<>();
        for (Manifests.Doc d : docs) {
            kinds.add(d.resource().getKind());
            assertNotNull(d.resource().getMetadata().getName(), d + " has a name");
        }
        assertEquals(Set.of("Deployment", "ConfigMap", "PodDisruptionBudget", "Service", "ServiceMonitor"), kinds);
    }

    @Test
    void strictParsingRejectsUnknownFieldsAndDuplicateKeys() {
        String typo = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n"
                + "      containers:\n        - name: c\n          livenessProbe:\n            httpGet: {paht: /health, port: 6034}\n";
        IOException e = assertThrows(IOException.class, () -> Manifests.parse(Path.of("typo.yaml"), typo));
        assertTrue(e.getMessage().contains("paht"), e.getMessage());

        String misplaced = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nspec: {data: {a: b}}\n";
        assertThrows(IOException.class, () -> Manifests.parse(Path.of("misplaced.yaml"), misplaced));

        String duplicate = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\ndata: {a: c}\n";
        assertThrows(IOException.class, () -> Manifests.parse(Path.of("duplicate.yaml"), duplicate));

        String unknownKind = "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n";
        assertThrows(IOException.class, () -> Manifests.parse(Path.of("pod.yaml"), unknownKind));
    }

    // ---- the Sluice container against Sluice ---------------------------------------------------

    @Test
    void sluiceRunsTheImageEntrypointWithTheConfigMapAndAValidConfig(@TempDir Path tmp) throws IOException {
        Container sluice = sluiceContainer();
        assertTrue(sluice.getCommand() == null || sluice.getCommand().isEmpty(), "no command: the image's ENTRYPOINT runs");
        assertTrue(sluice.getArgs() == null || sluice.getArgs().isEmpty(), "no args: the ENTRYPOINT's -c file is the ConfigMap");
        SluiceConfig config = effectiveConfig(tmp);
        assertEquals(1, config.users().size(), "one user, from SLUICE_USER");
        assertEquals("127.0.0.1", config.listen().host(), "only the pod's own app connects");
        assertEquals("0.0.0.0", config.admin().host(), "the kubelet and Prometheus come in on the pod IP");
        assertTrue(config.admin().token().isEmpty(),
                "no admin token while the kubelet's HTTP probes cannot send one (see the comment in deployment.yaml)");
        assertTrue(config.admin().allowNoToken(), "without a token beyond loopback, Sluice starts only when told to");
    }

    @Test
    void containerPortsAreTheListenAndAdminPorts(@TempDir Path tmp) {
        SluiceConfig config = effectiveConfig(tmp);
        Map<String, Integer> ports = new HashMap<>();
        for (ContainerPort p : sluiceContainer().getPorts()) {
            ports.put(p.getName(), p.getContainerPort());
        }
        assertEquals(Map.of("mysql", config.listen().port(), "admin", config.admin().port()), ports);
    }

    @Test
    void probesAreAdminRoutesOnTheAdminPort(@TempDir Path tmp) {
        SluiceConfig config = effectiveConfig(tmp);
        Container sluice = sluiceContainer();
        HTTPGetAction readiness = sluice.getReadinessProbe().getHttpGet();
        HTTPGetAction liveness = sluice.getLivenessProbe().getHttpGet();
        assertEquals("/ready", readiness.getPath());
        assertEquals("/health", liveness.getPath());
        for (HTTPGetAction probe : List.of(readiness, liveness)) {
            assertEquals(config.admin().port(), containerPort(sluice, probe.getPort()), probe.getPath() + " probe port");
            assertTrue(admin.isRoute(probe.getPath()), probe.getPath() + " is a route of the admin endpoint");
        }
        assertEquals(200, admin.status(liveness.getPath()), "alive");
    }

    @Test
    void everySluiceVariableIsOneSluiceReadsOrADocumentedFutureOne() throws IOException {
        Set<String> known = new HashSet<>(ConfigLoader.ENV_TO_PATH.keySet());
        known.addAll(ConfigLoader.USER_ENV_TO_PATH.keySet());
        Set<String> futureUsed = new HashSet<>();
        for (Manifests.Doc d : docs) {
            for (Container c : containers(d)) {
                assertTrue(c.getEnvFrom() == null || c.getEnvFrom().isEmpty(), d + " " + c.getName()
                        + ": envFrom hides variable names from review and from this test");
                for (EnvVar e : c.getEnv()) {
                    if (!e.getName().startsWith("SLUICE_")) {
                        continue;
                    }
                    if (FUTURE_ENV.containsKey(e.getName())) {
                        assertFalse(known.contains(e.getName()), e.getName() + " is read by Sluice now: drop it from FUTURE_ENV and "
                                + "the 'ignores' comment in " + d.file().getFileName());
                        futureUsed.add(e.getName());
                        Pattern ignored = Pattern.compile("(?m)^\\s*#.*ignores " + e.getName());
                        assertTrue(ignored.matcher(Files.readString(d.file())).find(),
                                d.file().getFileName() + " must say in a comment that current Sluice ignores " + e.getName());
                    } else {
                        assertTrue(known.contains(e.getName()), d + " sets " + e.getName()
                                + ", which Sluice does not read (ConfigLoader.ENV_TO_PATH, USER_ENV_TO_PATH)");
                    }
                }
            }
        }
        assertEquals(FUTURE_ENV.keySet(), futureUsed, "every future variable is shown in the example");
    }

    @Test
    void fleetSizeIsTheReplicaCount() {
        Deployment d = deployment();
        assertEquals(Integer.toString(d.getSpec().getReplicas()), env(sluiceContainer()).get("SLUICE_FLEET_SIZE").getValue());
    }

    @Test
    void passwordComesFromTheSecretTheReadmeCreates() {
        Matcher create = Pattern.compile("kubectl create secret generic (\\S+) --from-literal=([A-Za-z0-9._-]+)=")
                .matcher(Repo.read("deploy/kubernetes/README.md"));
        assertTrue(create.find(), "README.md shows the kubectl create secret command");
        SecretKeySelector expected = new SecretKeySelector(create.group(2), create.group(1), null);
        assertTrue(Repo.read("deploy/kubernetes/deployment.yaml").contains(create.group(0)),
                "deployment.yaml's comment shows the same command");
        EnvVar password = env(sluiceContainer()).get("SLUICE_PASSWORD");
        assertNull(password.getValue(), "never a literal password");
        assertEquals(expected, password.getValueFrom().getSecretKeyRef());
        for (Manifests.Doc d : docs) {
            for (Container c : containers(d)) {
                for (EnvVar e : c.getEnv()) {
                    if (e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null) {
                        assertEquals(expected, e.getValueFrom().getSecretKeyRef(), d + " " + c.getName() + " " + e.getName());
                    }
                }
            }
        }
    }

    @Test
    void preStopWaitsForClientsWithinTheGracePeriod(@TempDir Path tmp) throws Exception {
        SluiceConfig config = effectiveConfig(tmp);
        List<String> command = sluiceContainer().getLifecycle().getPreStop().getExec().getCommand();
        int cp = command.indexOf("-cp");
        assertEquals(docker.jarInImage(), command.get(cp + 1), "the jar in the image");
        Class<?> hook = Class.forName(command.get(cp + 2));
        assertNotNull(hook.getMethod("main", String[].class));
        List<String> args = command.subList(cp + 3, command.size());
        URI stats = URI.create(args.get(args.size() - 2));
        long waitSeconds = Long.parseLong(args.get(args.size() - 1));
        assertEquals(config.admin().port(), stats.getPort());
        assertEquals("/stats", stats.getPath());
        assertTrue(admin.isRoute(stats.getPath()));

        long grace = deployment().getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds();
        long drain = drainTimeout(config).toSeconds();
        assertTrue(waitSeconds + drain + 10 <= grace, "terminationGracePeriodSeconds " + grace + " must cover the preStop wait ("
                + waitSeconds + " s), Sluice's drain on TERM (" + drain + " s) and 10 s to spare");
    }

    @Test
    void everyContainerHasRequestsAndAMemoryLimitAndSluicesHeapFits() {
        for (Container c : deployment().getSpec().getTemplate().getSpec().getContainers()) {
            var r = c.getResources();
            assertNotNull(r.getRequests().get("cpu"), c.getName() + " cpu request");
            assertNotNull(r.getRequests().get("memory"), c.getName() + " memory request");
            assertNotNull(r.getLimits().get("memory"), c.getName() + " memory limit");
        }
        Container sluice = sluiceContainer();
        assertNotNull(sluice.getResources().getLimits().get("cpu"), "a CPU limit: it sizes Sluice's event loops");
        BigDecimal limit = Quantity.getAmountInBytes(sluice.getResources().getLimits().get("memory"));
        String percent = docker.entrypoint().stream().filter(a -> a.startsWith("-XX:MaxRAMPercentage="))
                .findFirst().orElseThrow().substring("-XX:MaxRAMPercentage=".length());
        BigDecimal heap = limit.multiply(new BigDecimal(percent)).divide(BigDecimal.valueOf(100));
        assertTrue(heap.compareTo(BigDecimal.valueOf(128L << 20)) >= 0, "heap " + heap + " bytes: at least 128 MiB");
    }

    @Test
    void sluiceRunsAsTheImagesUserWithAReadOnlyRootAndAWritableTmp() {
        Container sluice = sluiceContainer();
        assertEquals(docker.one(docker.finalStage(), "USER").rest(), String.valueOf(sluice.getSecurityContext().getRunAsUser()));
        assertTrue(deployment().getSpec().getTemplate().getSpec().getSecurityContext().getRunAsNonRoot());
        assertTrue(sluice.getSecurityContext().getReadOnlyRootFilesystem());
        assertFalse(sluice.getSecurityContext().getAllowPrivilegeEscalation());
        assertTrue(sluice.getVolumeMounts().stream().anyMatch(m -> m.getMountPath().equals("/tmp")),
                "Netty unpacks its native transport to /tmp");
    }

    @Test
    void sluiceImageIsTheOneTheDockerReadmeBuilds() {
        Matcher build = Pattern.compile("docker build -t (\\S+) \\.").matcher(Repo.read("deploy/docker/README.md"));
        assertTrue(build.find());
        assertEquals(build.group(1), sluiceContainer().getImage());
        String version = new CommandLine(new Main()).getCommandSpec().version()[0]; // "Sluice 0.1.0"
        assertEquals(version.substring(version.indexOf(' ') + 1), build.group(1).substring(build.group(1).indexOf(':') + 1),
                "the image tag is Sluice's version");
    }

    @Test
    void tierStaysWithinTheServersDefaultConnectionBudget(@TempDir Path tmp) {
        SluiceConfig config = effectiveConfig(tmp);
        int replicas = deployment().getSpec().getReplicas();
        var rolling = deployment().getSpec().getStrategy().getRollingUpdate();
        assertEquals(0, rolling.getMaxSurge().getIntVal(), "a surge pod would add a whole pool");
        assertTrue(replicas * config.pool().globalMax() <= SERVER_BUDGET,
                replicas + " x " + config.pool().globalMax() + " server connections exceed " + SERVER_BUDGET);
    }

    // ---- selectors and scraping ----------------------------------------------------------------

    @Test
    void selectorsSelectTheDeploymentsPods() {
        Map<String, String> labels = deployment().getSpec().getTemplate().getMetadata().getLabels();
        assertSelects(deployment().getSpec().getSelector().getMatchLabels(), labels, "Deployment selector");
        PodDisruptionBudget pdb = one(PodDisruptionBudget.class);
        assertSelects(pdb.getSpec().getSelector().getMatchLabels(), labels, "PodDisruptionBudget selector");
        assertEquals(1, pdb.getSpec().getMaxUnavailable().getIntVal());
        assertSelects(one(Service.class).getSpec().getSelector(), labels, "Service selector");
    }

    @Test
    void prometheusScrapesMetricsOnTheAdminPort(@TempDir Path tmp) {
        SluiceConfig config = effectiveConfig(tmp);
        Map<String, String> annotations = deployment().getSpec().getTemplate().getMetadata().getAnnotations();
        assertEquals("true", annotations.get("prometheus.io/scrape"));
        assertEquals(Integer.toString(config.admin().port()), annotations.get("prometheus.io/port"));
        assertEquals("/metrics", annotations.get("prometheus.io/path"));
        assertEquals(200, admin.status("/metrics"));

        Service service = one(Service.class);
        ServiceMonitor monitor = one(ServiceMonitor.class);
        assertSelects(monitor.getSpec().getSelector().getMatchLabels(), service.getMetadata().getLabels(), "ServiceMonitor selector");
        for (Endpoint e : monitor.getSpec().getEndpoints()) {
            assertEquals("/metrics", e.getPath());
            ServicePort port = service.getSpec().getPorts().stream().filter(p -> p.getName().equals(e.getPort()))
                    .findFirst().orElseThrow(() -> new AssertionError("no Service port named " + e.getPort()));
            assertEquals(config.admin().port(), containerPort(sluiceContainer(), port.getTargetPort()), "Service targetPort");
            assertEquals(config.admin().port(), port.getPort());
        }
        assertEquals("None", service.getSpec().getClusterIP(), "headless: every pod is scraped, none balanced");
    }

    // ---- helpers -------------------------------------------------------------------------------

    /**
     * What Sluice would load in the pod: the image's ENTRYPOINT reads {@code -c FILE}; FILE comes
     * from the volume mounted over its directory (a ConfigMap); the environment is the image's ENV
     * overlaid with the container's, secrets replaced by stand-ins.
     */
    private SluiceConfig effectiveConfig(Path tmp) {
        Container sluice = sluiceContainer();
        PodSpec pod = deployment().getSpec().getTemplate().getSpec();
        String configPath = docker.configInImage();
        VolumeMount mount = sluice.getVolumeMounts().stream()
                .filter(m -> configPath.equals(m.getMountPath()) || configPath.startsWith(m.getMountPath() + "/"))
                .findFirst().orElseThrow(() -> new AssertionError("nothing mounted over " + configPath));
        Volume volume = pod.getVolumes().stream().filter(v -> v.getName().equals(mount.getName())).findFirst()
                .orElseThrow(() -> new AssertionError("no volume " + mount.getName()));
        assertNotNull(volume.getConfigMap(), "the config comes from a ConfigMap");
        ConfigMap configMap = docs.stream().map(Manifests.Doc::resource).filter(r -> r instanceof ConfigMap)
                .map(r -> (ConfigMap) r).filter(c -> c.getMetadata().getName().equals(volume.getConfigMap().getName()))
                .findFirst().orElseThrow(() -> new AssertionError("no ConfigMap " + volume.getConfigMap().getName()));
        String file = mount.getSubPath() != null && !mount.getSubPath().isEmpty() ? mount.getSubPath()
                : configPath.substring(mount.getMountPath().length() + 1);
        String key = file;
        if (volume.getConfigMap().getItems() != null && !volume.getConfigMap().getItems().isEmpty()) {
            key = volume.getConfigMap().getItems().stream().filter(i -> i.getPath().equals(file)).map(KeyToPath::getKey)
                    .findFirst().orElseThrow(() -> new AssertionError("no item maps to " + file));
        }
        String text = configMap.getData().get(key);
        assertNotNull(text, "ConfigMap " + configMap.getMetadata().getName() + " has no key " + key);

        Map<String, String> env = new HashMap<>(docker.env());
        for (EnvVar e : sluice.getEnv()) {
            if (e.getValue() != null) {
                env.put(e.getName(), e.getValue());
            } else if (e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null) {
                env.put(e.getName(), "secret:" + e.getValueFrom().getSecretKeyRef().getName());
            } else {
                throw new AssertionError(e.getName() + ": only literal values and secretKeyRef are modelled here");
            }
        }
        try {
            Path conf = Files.writeString(tmp.resolve("sluice.conf"), text);
            return ConfigLoader.load(Optional.of(conf), Map.of(), env);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** sluice.frontend.drain-timeout when this Sluice has it (GET /config's rendering), else zero. */
    private static Duration drainTimeout(SluiceConfig config) throws IOException {
        JsonNode rendered = new ObjectMapper().readTree(ConfigLoader.render(config));
        JsonNode drain = rendered.path("sluice").path("frontend").path("drain-timeout");
        if (drain.isMissingNode()) {
            return Duration.ZERO;
        }
        Matcher m = Pattern.compile("(\\d+)(ms|s|m)").matcher(drain.asText());
        assertTrue(m.matches(), "drain-timeout rendered as " + drain.asText());
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            default -> Duration.ofMinutes(n);
        };
    }

    private static int containerPort(Container c, IntOrString port) {
        if (port.getIntVal() != null) {
            return port.getIntVal();
        }
        return c.getPorts().stream().filter(p -> port.getStrVal().equals(p.getName())).map(ContainerPort::getContainerPort)
                .findFirst().orElseThrow(() -> new AssertionError(c.getName() + " has no port named " + port.getStrVal()));
    }

    private static void assertSelects(Map<String, String> selector, Map<String, String> labels, String what) {
        assertFalse(selector == null || selector.isEmpty(), what + " is empty");
        assertTrue(labels.entrySet().containsAll(selector.entrySet()), what + " " + selector + " does not select " + labels);
    }

    private static Deployment deployment() {
        return one(Deployment.class);
    }

    private static <T> T one(Class<T> type) {
        List<T> found = new ArrayList<>();
        for (Manifests.Doc d : docs) {
            if (type.isInstance(d.resource())) {
                found.add(type.cast(d.resource()));
            }
        }
        assertEquals(1, found.size(), "one " + type.getSimpleName());
        return found.get(0);
    }

    private static List<Container> containers(Manifests.Doc d) {
        return d.resource() instanceof Deployment dep ? dep.getSpec().getTemplate().getSpec().getContainers() : List.of();
    }

    /** The Sluice container (its image is checked in {@link #sluiceImageIsTheOneTheDockerReadmeBuilds}). */
    private static Container sluiceContainer() {
        return deployment().getSpec().getTemplate().getSpec().getContainers().stream()
                .filter(c -> c.getName().equals("sluice")).findFirst()
                .orElseThrow(() -> new AssertionError("no container named sluice"));
    }

    private static Map<String, EnvVar> env(Container c) {
        Map<String, EnvVar> m = new HashMap<>();
        c.getEnv().forEach(e -> m.put(e.getName(), e));
        return m;
    }
}
