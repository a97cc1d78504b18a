package io.sluice.launcher.deploy;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.MapperConfig;
import com.fasterxml.jackson.databind.introspect.Annotated;
import com.fasterxml.jackson.databind.introspect.AnnotatedMethod;
import com.fasterxml.jackson.databind.introspect.JacksonAnnotationIntrospector;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Kubernetes manifests read into fabric8's model classes, strictly: a field the model does not know
 * (a typo, a field of another API version, a wrong nesting) is an error, as the API server's strict
 * field validation makes it. fabric8's classes would otherwise collect unknown fields in their
 * {@code additionalProperties} map through a {@code @JsonAnySetter}; the introspector below hides
 * those setters (and any {@code ignoreUnknown}), so Jackson's FAIL_ON_UNKNOWN_PROPERTIES applies.
 * Duplicate keys, which YAML would silently let the last one win, are errors too.
 */
final class Manifests {
    /** The kinds the examples may use, by apiVersion/kind. An unlisted kind is an error, not skipped. */
    static final Map<String, Class<? extends HasMetadata>> KINDS = Map.of(
            "v1/ConfigMap", ConfigMap.class,
            "v1/Secret", Secret.class,
            "v1/Service", Service.class,
            "apps/v1/Deployment", Deployment.class,
            "policy/v1/PodDisruptionBudget", PodDisruptionBudget.class,
            "monitoring.coreos.com/v1/ServiceMonitor", ServiceMonitor.class);

    static final ObjectMapper STRICT = YAMLMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .annotationIntrospector(new JacksonAnnotationIntrospector() {
                @Override
                public Boolean hasAnySetter(Annotated a) {
                    return Boolean.FALSE;
                }

                @Override
                @SuppressWarnings("deprecation")
                public boolean hasAnySetterAnnotation(AnnotatedMethod am) {
                    return false;
                }

                @Override
                public JsonIgnoreProperties.Value findPropertyIgnoralByName(MapperConfig<?> config, Annotated a) {
                    return super.findPropertyIgnoralByName(config, a).withoutIgnoreUnknown();
                }
            })
            .build();

    /** One document of one file. */
    record Doc(Path file, int index, HasMetadata resource) {
        @Override
        public String toString() {
            return Repo.root().relativize(file) + "#" + index + " " + resource.getKind() + "/" + resource.getMetadata().getName();
        }
    }

    private Manifests() {
    }

    /** Every {@code *.yaml}/{@code *.yml} under {@code dir}, recursively, every document in each. */
    static List<Doc> readAll(Path dir) {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(dir)) {
            files = walk.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Doc> docs = new ArrayList<>();
        for (Path f : files) {
            try {
                docs.addAll(parse(f, Files.readString(f)));
            } catch (IOException e) {
                throw new AssertionError(Repo.root().relativize(f) + ": " + e.getMessage(), e);
            }
        }
        return docs;
    }

    /** The documents of one YAML text, each bound to its kind's model class. */
    static List<Doc> parse(Path file, String yaml) throws IOException {
        List<Doc> docs = new ArrayList<>();
        try (MappingIterator<JsonNode> it = STRICT.readerFor(JsonNode.class).readValues(yaml)) {
            int index = 0;
            while (it.hasNextValue()) {
                JsonNode node = it.nextValue();
                if (node == null || node.isNull() || node.isMissingNode()) {
                    continue; // an empty document (a trailing ---)
                }
                String key = node.path("apiVersion").asText() + "/" + node.path("kind").asText();
                Class<? extends HasMetadata> type = KINDS.get(key);
                if (type == null) {
                    throw new IOException("document " + index + ": unknown apiVersion/kind " + key + "; known: " + KINDS.keySet());
                }
                docs.add(new Doc(file, index++, STRICT.treeToValue(node, type)));
            }
        }
        return docs;
    }
}
