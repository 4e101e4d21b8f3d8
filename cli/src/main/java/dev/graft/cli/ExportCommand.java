package dev.graft.cli;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.graft.models.PrintableText;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import dev.graft.runtime.Classifier;
import dev.graft.train.ModelFile;
import dev.graft.train.OptionException;
import dev.graft.train.OutputFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code graft export --model M --onnx FILE}: the network as an ONNX model (opset 17, batch norm folded, the
 * preprocessing in its metadata; see {@link OnnxExport} and docs/onnx.md).
 *
 * <p>{@code graft export --model M --runtime DIR}: a folder that classifies images on a machine with only a Java 17
 * runtime: {@code graft-runtime.jar} (see {@link RuntimeJar}), oneDNN's jars in {@code lib/} (the jar's manifest
 * names them; without them it runs on the pure-Java backend), the model file and {@code classify} /
 * {@code classify.bat} launchers with the JVM flags docs/embedding.md measured.
 */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a trained model as a folder that classifies images with only Java installed, or as an ONNX model.",
            "--runtime DIR gets graft-runtime.jar (the inference runtime, pure Java), lib/ with oneDNN's jars for "
                + "Linux x86-64 (about 27 MB; leave them out with --no-onednn and the pure-Java backend is used), the "
                + "model file, and the launchers classify (sh) and classify.bat: './classify IMAGE...' prints "
                + "IMAGE<TAB>LABEL<TAB>PROBABILITY per image, as graft predict decides.",
            "--onnx FILE writes the network as an ONNX model (opset 17, batch norm folded into the convolutions): input "
                + "'input' float32 [N, C, H, W], output 'logits' [N, classes]; the preprocessing, class names, threshold "
                + "and temperature are in its metadata (docs/onnx.md). A vision transformer or Swin Transformer is written "
                + "from its modules at a fixed image size, [N, C, S, S]. Give --runtime, --onnx or both."})
final class ExportCommand implements Callable<Integer> {
    /** The platform of the oneDNN jars shipped: the one the runtime jar's manifest names (runtime/pom.xml). */
    static final String PLATFORM = "linux-x86_64";

    /** Classes in the oneDNN jars the runtime can use (JavaCPP, oneDNN, OpenCL: dnnl's jar links against it). */
    static final List<String> ONEDNN_PARTS = List.of(
            "org.bytedeco.javacpp.Loader",
            "org.bytedeco.dnnl.global.dnnl",
            "org.bytedeco.opencl.global.OpenCL");

    @Option(names = "--model", required = true, paramLabel = "FILE", description = "The model file to ship (what graft train wrote).")
    Path model;

    @Option(names = "--runtime", paramLabel = "DIR", description = "The folder to write; it must not exist or be empty (see --force).")
    Path runtime;

    @Option(names = "--onnx", paramLabel = "FILE", description = "The ONNX model to write (a name ending in .onnx, in an existing folder; see --force).")
    Path onnx;

    @Option(names = "--force", description = "Write into a --runtime folder that is not empty, replacing the files of an earlier export,"
            + " and replace an existing --onnx file.")
    boolean force;

    @Option(names = "--no-onednn", description = "Leave oneDNN's jars out: 1 MB instead of 28 MB, about 200x slower per image.")
    boolean noOnednn;

    @Override
    public Integer call() throws Exception {
        if (runtime == null && onnx == null) {
            throw new OptionException("give --runtime DIR (a folder that classifies with only Java installed), --onnx FILE (an ONNX"
                    + " model), or both");
        }
        if (noOnednn && runtime == null) {
            throw new OptionException("--no-onednn applies to --runtime DIR, which was not given; leave it out, or give --runtime");
        }
        ModelFile mf = ModelFile.read(FileChecks.input("--model", model));
        // Everything is checked and built before anything is written: a refused ONNX export leaves no runtime folder.
        ModelProto onnxModel = null;
        if (onnx != null) {
            FileChecks.output("--onnx", onnx, ".onnx", force);
            onnxModel = OnnxExport.model(model.toString(), mf, Version.version());
        }
        if (runtime != null) {
            exportRuntime(mf);
        }
        if (onnxModel != null) {
            ModelProto written = onnxModel;
            OutputFiles.write(onnx, written::writeTo);
            ResNetConfig config = ResNet.configOf(mf.state());
            System.out.println("exported " + PrintableText.escape(model.toString()) + " (" + mf.describe() + ") to "
                    + PrintableText.escape(onnx.toString()));
            if (config.isTransformer()) { // a fixed image size (OnnxExport.imageSize)
                int size = OnnxExport.imageSize(mf, config);
                System.out.printf(Locale.ROOT, "  ONNX opset %d, %.1f MB: input '%s' float32 [N, %d, %d, %d], output '%s' [N, %d]; the"
                                + " transformer's eval forward pass; preprocessing in its metadata (docs/onnx.md)%n", OnnxExport.OPSET,
                        Files.size(onnx) / 1e6, OnnxExport.INPUT, config.inChannels(), size, size, OnnxExport.OUTPUT, config.numClasses());
            } else {
                System.out.printf(Locale.ROOT, "  ONNX opset %d, %.1f MB: input '%s' float32 [N, %d, H, W] (trained at %dx%d), output '%s' "
                                + "[N, %d]; batch norm folded; preprocessing in its metadata (docs/onnx.md)%n", OnnxExport.OPSET,
                        Files.size(onnx) / 1e6, OnnxExport.INPUT, config.inChannels(), mf.preprocessing().imageSize(),
                        mf.preprocessing().imageSize(), OnnxExport.OUTPUT, config.numClasses());
            }
        }
        return 0;
    }

    private void exportRuntime(ModelFile mf) throws IOException {
        // The runtime's own loader must accept the file too (a state dict graft predict reads may still lack what the
        // runtime folds, such as batch-norm statistics): refused here, not on the machine it is shipped to.
        try (Classifier c = Classifier.load(model, Classifier.Options.defaults().withDevice("reference"))) {
            c.classes();
        }
        checkFolder(runtime, force);
        List<Path> onednn = noOnednn ? List.of() : onednnJars();
        String modelName = "model" + extension(model);

        List<String> classPath = new ArrayList<>();
        for (Path jar : onednn) {
            OutputFiles.copy(jar, runtime.resolve("lib").resolve(jar.getFileName().toString()));
            classPath.add("lib/" + jar.getFileName());
        }
        ByteArrayOutputStream jar = new ByteArrayOutputStream();
        RuntimeJar.write(jar, classPath, Version.version());
        OutputFiles.write(runtime.resolve("graft-runtime.jar"), jar.toByteArray());
        OutputFiles.copy(model, runtime.resolve(modelName));
        int heapMiB = heapMiB(Files.size(model));
        Path sh = runtime.resolve("classify");
        OutputFiles.write(sh, shellLauncher(modelName, heapMiB).getBytes(StandardCharsets.UTF_8));
        executable(sh);
        OutputFiles.write(runtime.resolve("classify.bat"), batchLauncher(modelName, heapMiB).getBytes(StandardCharsets.UTF_8));

        System.out.println("exported " + PrintableText.escape(model.toString()) + " (" + mf.describe() + ") to " + PrintableText.escape(runtime.toString()));
        System.out.printf(Locale.ROOT, "  graft-runtime.jar (%.1f MB), %s, classify, classify.bat%n", jar.size() / 1e6, modelName);
        System.out.println(onednn.isEmpty() ? "  no oneDNN jars: the pure-Java backend classifies (seconds per image)"
                : "  lib/: oneDNN for " + PLATFORM + " (" + onednn.size() + " jars); elsewhere the pure-Java backend is used");
        System.out.println("run: " + PrintableText.escape(runtime.resolve("classify").toString()) + " IMAGE...   (needs Java 17 or later)");
    }

    /** The folder may not exist (it is made), or be empty; a non-empty one only with --force; never a file. */
    static void checkFolder(Path dir, boolean force) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new OptionException("--runtime " + dir + " is a file, not a folder; give a new or empty folder");
        }
        if (Files.isDirectory(dir) && !force) {
            try (Stream<Path> s = Files.list(dir)) {
                if (s.findAny().isPresent()) {
                    throw new OptionException("--runtime " + dir + " is not empty; give a new or empty folder, or --force"
                            + " to write into it (files of the same names are replaced, others are left)");
                }
            }
        }
        Files.createDirectories(dir);
    }

    /**
     * oneDNN's jars for {@link #PLATFORM}: the jar each of {@link #ONEDNN_PARTS} was loaded from and its
     * platform jar beside it (as Maven's repository and a lib/ folder keep them). None, with a warning, when they
     * cannot be found: the export then runs on the pure-Java backend.
     */
    static List<Path> onednnJars() {
        List<Path> out = new ArrayList<>();
        for (String cls : ONEDNN_PARTS) {
            Path jar = RuntimeJar.location(cls);
            if (jar == null || !Files.isRegularFile(jar) || !jar.getFileName().toString().endsWith(".jar")) {
                System.err.println("warning: oneDNN's jars were not found (" + cls + " is not loaded from a jar); the export"
                        + " will run on the pure-Java backend");
                return List.of();
            }
            String name = jar.getFileName().toString();
            Path natives = jar.resolveSibling(name.substring(0, name.length() - 4) + "-" + PLATFORM + ".jar");
            if (!Files.isRegularFile(natives)) {
                System.err.println("warning: " + natives + " is missing; the export will run on the pure-Java backend");
                return List.of();
            }
            out.add(jar);
            out.add(natives);
        }
        return out;
    }

    /** The heap cap of the launcher: the runtime's own advice ({@link dev.graft.runtime.HeapAdvice}). */
    static int heapMiB(long modelBytes) {
        return dev.graft.runtime.HeapAdvice.suggestedMiB(modelBytes);
    }

    static String shellLauncher(String modelName, int heapMiB) {
        return """
                #!/bin/sh
                # Classifies images with the model beside this script: ./classify [--device auto|cpu|reference] [--timing] IMAGE...
                # prints IMAGE<TAB>LABEL<TAB>PROBABILITY per image. Written by graft export.
                # JAVA_HOME picks the Java runtime (17 or later); GRAFT_JAVA_OPTS adds JVM options (a later -Xmx wins);
                # OMP_NUM_THREADS sets oneDNN's threads (default: one per core).
                # -XX:+UseSerialGC -XX:TieredStopAtLevel=1 start fastest for a short run (docs/embedding.md); for a long-running
                # service drop TieredStopAtLevel.
                here="$(cd "$(dirname "$0")" && pwd)"
                if [ -n "${JAVA_HOME:-}" ]; then java="$JAVA_HOME/bin/java"; else java=java; fi
                exec "$java" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx%dm -Dorg.bytedeco.javacpp.nopointergc=true \\
                  ${GRAFT_JAVA_OPTS:-} -jar "$here/graft-runtime.jar" "$here/%s" "$@"
                """.formatted(heapMiB, modelName);
    }

    static String batchLauncher(String modelName, int heapMiB) {
        // CRLF: cmd.exe reads LF-only files too, but Notepad and some editors do not show them as lines.
        return String.join("\r\n",
                "@echo off",
                "rem Classifies images with the model beside this file: classify [--device auto|cpu|reference] IMAGE...",
                "rem prints IMAGE<TAB>LABEL<TAB>PROBABILITY per image. Written by graft export. oneDNN's jars in lib\\",
                "rem are for Linux; on Windows the pure-Java backend classifies (seconds per image).",
                "setlocal",
                "set \"JAVA=java\"",
                "if defined JAVA_HOME set \"JAVA=%JAVA_HOME%\\bin\\java\"",
                "\"%JAVA%\" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx" + heapMiB + "m %GRAFT_JAVA_OPTS% -jar \"%~dp0graft-runtime.jar\" \"%~dp0"
                        + modelName + "\" %*",
                "") ;
    }

    private static String extension(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = name.lastIndexOf('.');
        return dot < 0 ? ".safetensors" : name.substring(dot);
    }

    /** Adds execute permission wherever read permission is (so the umask's choice of who may read carries over). */
    private static void executable(Path file) throws IOException {
        try {
            Set<PosixFilePermission> p = Files.getPosixFilePermissions(file);
            if (p.contains(PosixFilePermission.OWNER_READ)) {
                p.add(PosixFilePermission.OWNER_EXECUTE);
            }
            if (p.contains(PosixFilePermission.GROUP_READ)) {
                p.add(PosixFilePermission.GROUP_EXECUTE);
            }
            if (p.contains(PosixFilePermission.OTHERS_READ)) {
                p.add(PosixFilePermission.OTHERS_EXECUTE);
            }
            Files.setPosixFilePermissions(file, p);
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system (Windows): classify.bat is the launcher there
        }
    }
}
