package dev.graft.cli;

import dev.graft.engine.GraftException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;

/**
 * The runtime's standalone jar, assembled from the classes this process runs: the same contents as the jar
 * {@code runtime/pom.xml}'s shade step builds (runtime, engine, models, loaders and jackson-core; no multi-release
 * variants, module descriptors or Maven metadata; service files merged), so {@code graft export} needs no Maven
 * build and always ships the code of the {@code graft} that trained and checked the model. Entries are sorted and
 * dated 1980-02-01, so the same build gives the same bytes. oneDNN's jars stay separate: the manifest names them
 * under {@code lib/}, as the Maven-built jar's does.
 */
final class RuntimeJar {
    /** One class from each part of the runtime jar; where each was loaded from is a folder or jar to copy. */
    static final List<String> PARTS = List.of(
            "dev.graft.runtime.Main",
            "dev.graft.engine.Tensor",
            "dev.graft.models.ResNet",
            "dev.graft.loaders.SafeTensors",
            "com.fasterxml.jackson.core.JsonFactory",
            // TwelveMonkeys' lossless JPEG reader for DICOM (loaders' DicomJpeg), one class per jar it needs.
            "com.twelvemonkeys.imageio.plugins.jpeg.JPEGImageReader",
            "com.twelvemonkeys.imageio.ImageReaderBase",
            "com.twelvemonkeys.imageio.metadata.AbstractCompoundDirectory",
            "com.twelvemonkeys.lang.BeanUtil",
            "com.twelvemonkeys.io.AbstractCachedSeekableStream",
            "com.twelvemonkeys.image.AbstractImageSource");

    static final String MAIN_CLASS = "dev.graft.runtime.Main";

    /** 1980-02-01 UTC: the earliest time a zip entry holds without an extended field; reproducible jars use it. */
    private static final long FIXED_TIME = 315_532_800_000L + 31L * 86_400_000L;

    private RuntimeJar() {
    }

    /** Writes the jar to {@code out}, with {@code classPath} (relative jar paths, may be empty) in its manifest. */
    static void write(OutputStream out, List<String> classPath, String version) throws IOException {
        Map<String, byte[]> entries = new TreeMap<>();
        Map<String, ByteArrayOutputStream> services = new TreeMap<>();
        for (Path source : sources()) {
            for (Map.Entry<String, byte[]> e : read(source).entrySet()) {
                String name = e.getKey();
                if (name.startsWith("META-INF/services/")) {
                    ByteArrayOutputStream merged = services.computeIfAbsent(name, n -> new ByteArrayOutputStream());
                    merged.write(e.getValue());
                    merged.write('\n');
                } else {
                    entries.putIfAbsent(name, e.getValue()); // the first part wins, as the shade plugin keeps the first
                }
            }
        }
        services.forEach((name, bytes) -> entries.put(name, bytes.toByteArray()));

        Manifest manifest = new Manifest();
        Attributes a = manifest.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.put(Attributes.Name.MAIN_CLASS, MAIN_CLASS);
        a.put(new Attributes.Name("Created-By"), "graft export " + version);
        if (!classPath.isEmpty()) {
            a.put(Attributes.Name.CLASS_PATH, String.join(" ", classPath));
        }
        try (JarOutputStream jar = new JarOutputStream(out)) {
            JarEntry m = new JarEntry(JarFile.MANIFEST_NAME);
            m.setTime(FIXED_TIME);
            jar.putNextEntry(m);
            manifest.write(jar);
            jar.closeEntry();
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                JarEntry je = new JarEntry(e.getKey());
                je.setTime(FIXED_TIME);
                jar.putNextEntry(je);
                jar.write(e.getValue());
                jar.closeEntry();
            }
        }
    }

    /** The folder or jar each of {@link #PARTS} was loaded from. */
    static List<Path> sources() {
        List<Path> out = new ArrayList<>();
        for (String cls : PARTS) {
            Path p = location(cls);
            if (p == null) {
                throw new GraftException("cannot find where " + cls + " was loaded from, so the runtime jar cannot be"
                        + " assembled; run graft from its launcher (./graft) or a normal class path");
            }
            if (!out.contains(p)) {
                out.add(p);
            }
        }
        return out;
    }

    /** The class-path entry (folder or jar) that holds {@code className}, or null; the class is not initialised. */
    static Path location(String className) {
        try {
            Class<?> c = Class.forName(className, false, RuntimeJar.class.getClassLoader());
            var source = c.getProtectionDomain().getCodeSource();
            return source == null || source.getLocation() == null ? null : Path.of(source.getLocation().toURI());
        } catch (ClassNotFoundException | URISyntaxException | IllegalArgumentException | SecurityException e) {
            return null;
        }
    }

    /** The entries of a class folder or jar that belong in the runtime jar: files only, '/'-separated names. */
    private static Map<String, byte[]> read(Path source) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        if (Files.isDirectory(source)) {
            try (Stream<Path> files = Files.walk(source)) {
                for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
                    String name = source.relativize(f).toString().replace(f.getFileSystem().getSeparator(), "/");
                    if (keep(name)) {
                        out.put(name, Files.readAllBytes(f));
                    }
                }
            }
        } else {
            try (JarFile jar = new JarFile(source.toFile())) {
                for (JarEntry e : (Iterable<JarEntry>) jar.stream()::iterator) {
                    if (!e.isDirectory() && keep(e.getName())) {
                        try (InputStream in = jar.getInputStream(e)) {
                            out.put(e.getName(), in.readAllBytes());
                        }
                    }
                }
            }
        }
        return out;
    }

    /** What the shade step leaves out: manifests, signatures, Maven metadata, module descriptors, Java 9+ variants. */
    static boolean keep(String name) {
        String upper = name.toUpperCase(java.util.Locale.ROOT);
        return !(name.equals(JarFile.MANIFEST_NAME) || name.startsWith("META-INF/versions/") || name.startsWith("META-INF/maven/")
                || name.endsWith("module-info.class") || upper.equals("META-INF/INDEX.LIST")
                || upper.startsWith("META-INF/") && (upper.endsWith(".SF") || upper.endsWith(".RSA") || upper.endsWith(".DSA")));
    }
}
