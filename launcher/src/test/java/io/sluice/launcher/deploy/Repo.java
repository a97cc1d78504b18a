package io.sluice.launcher.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/** The repository around the launcher module: files the deploy tests read, and the poms. */
final class Repo {
    private Repo() {
    }

    /** The repository root: the nearest directory up from the working directory with a Dockerfile and a pom. */
    static Path root() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("Dockerfile")) && Files.isRegularFile(p.resolve("pom.xml"))) {
                return p;
            }
        }
        throw new IllegalStateException("no repository root (Dockerfile + pom.xml) above " + Path.of("").toAbsolutePath());
    }

    static Path path(String relative) {
        return root().resolve(relative);
    }

    static String read(String relative) {
        try {
            return Files.readString(path(relative), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Document pom(String relative) {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            return f.newDocumentBuilder().parse(path(relative).toFile());
        } catch (Exception e) {
            throw new IllegalStateException("cannot parse " + relative, e);
        }
    }

    /** The root pom's {@code <modules>}, in order. */
    static List<String> modules() {
        List<String> out = new ArrayList<>();
        NodeList modules = pom("pom.xml").getElementsByTagName("module");
        for (int i = 0; i < modules.getLength(); i++) {
            out.add(modules.item(i).getTextContent().trim());
        }
        return out;
    }

    /** The text of the first {@code <name>} element inside the project's {@code <build>}, or null. */
    static String buildElement(String pom, String name) {
        NodeList builds = pom(pom).getDocumentElement().getChildNodes();
        for (int i = 0; i < builds.getLength(); i++) {
            Node n = builds.item(i);
            if (n instanceof Element e && e.getTagName().equals("build")) {
                NodeList children = e.getElementsByTagName(name);
                return children.getLength() == 0 ? null : children.item(0).getTextContent().trim();
            }
        }
        return null;
    }
}
