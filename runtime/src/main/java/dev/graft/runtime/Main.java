package dev.graft.runtime;

import dev.graft.engine.GraftException;
import dev.graft.engine.Precision;
import dev.graft.engine.backend.Backends;
import dev.graft.loaders.images.ImageInputs;
import dev.graft.models.DecisionRule;
import dev.graft.models.NonFiniteOutputException;
import dev.graft.models.PrintableText;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code java -jar graft-runtime-standalone.jar [--device auto|cpu|reference] [--precision fp32|bf16|int8] [--timing] MODEL IMAGE|DIR...}: loads
 * the model file once and prints one line per image, {@code IMAGE<TAB>LABEL<TAB>PROBABILITY} (control characters in a
 * name escaped, see {@link PrintableText}). A folder stands for the images under it, found as {@code graft predict}
 * finds them ({@link ImageInputs}: recursively, sorted by path; arguments keep their order).
 *
 * <p>Standard error gets, after the last result line: {@code # decision: ...} (the model file's rule), then one
 * {@code error: ...} line per image or argument that could not be classified (the others are still classified) and a
 * count. With {@code --timing}, the phases (load and when its header was read; each image, the first with when it was
 * read on its own thread) go there too, as they happen. Exit status 0;
 * 1 when the model cannot be loaded or any image failed (one line each, no stack trace); 2 on bad usage. Images are
 * read as {@link Classifier#classify(Path)} reads them; {@code -Dgraft.image.maxPixels=N} moves the pixel limit.
 * {@code --precision} overrides the model file's precision (int8 for a file from {@code graft quantize}, else fp32).
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        long t0 = System.nanoTime();
        if (System.getProperty("org.bytedeco.javacpp.nopointergc") == null) {
            // Graft frees native memory itself; JavaCPP's GC-driven deallocator thread is not needed.
            System.setProperty("org.bytedeco.javacpp.nopointergc", "true");
        }
        String device = "auto";
        boolean timing = false;
        Precision precision = null; // the model file's
        List<String> files = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--device" -> {
                    if (i + 1 >= args.length) {
                        return usage("--device needs a value");
                    }
                    device = args[++i];
                }
                case "--precision" -> {
                    if (i + 1 >= args.length) {
                        return usage("--precision needs a value");
                    }
                    try {
                        precision = Precision.parse(args[++i]);
                    } catch (IllegalArgumentException e) {
                        return usage("--precision: " + e.getMessage());
                    }
                }
                case "--timing" -> timing = true;
                case "-h", "--help" -> {
                    usage(null);
                    return 0;
                }
                default -> {
                    if (args[i].startsWith("--")) {
                        return usage("unknown option " + args[i]);
                    }
                    files.add(args[i]);
                }
            }
        }
        if (files.size() < 2) {
            return usage("give a model file and at least one image or folder");
        }
        // Loading oneDNN (about 150 ms) overlaps reading the model file's header; Classifier.load waits for it.
        String name = device;
        Thread probe = new Thread(() -> {
            try {
                Backends.resolve(name);
            } catch (RuntimeException e) {
                // reported by Classifier.load, on the main thread
            }
        }, "graft-device-probe");
        probe.setDaemon(true);
        probe.start();
        // The first image is read on its own thread as soon as the model's header says how, while the weights load.
        FirstImage first = FirstImage.of(files.get(1));
        long[] header = new long[1];
        try (Classifier c = Classifier.load(path(files.get(0)), Classifier.Options.defaults().withDevice(device)
                .withPrecision(precision), info -> {
            header[0] = System.nanoTime();
            first.start(info);
        })) {
            long loaded = System.nanoTime();
            if (timing) {
                System.err.printf(Locale.ROOT, "# loaded %s on %s in %.0f ms (from main; header read at %.0f ms)%n",
                        files.get(0), c.description(), ms(t0, loaded), ms(t0, header[0]));
            }
            long prev = loaded;
            List<Path> arguments = new ArrayList<>();
            for (String image : files.subList(1, files.size())) {
                arguments.add(path(image));
            }
            List<ImageInputs.Entry> entries = ImageInputs.expand(arguments);
            List<String> failures = new ArrayList<>();
            for (ImageInputs.Entry entry : entries) {
                if (!entry.ok()) {
                    failures.add(entry.problem());
                    continue;
                }
                String image = entry.file().toString();
                try {
                    float[] read = first.take(entry.file());
                    Prediction p = read != null ? c.classifyRead(entry.file(), read) : c.classify(entry.file());
                    // Escaped: a class name (or file name) with a tab, newline or escape sequence cannot break the line or
                    // reach the terminal.
                    System.out.printf(Locale.ROOT, "%s\t%s\t%.4f%n", PrintableText.escape(image), PrintableText.escape(p.label()),
                            p.probability());
                } catch (ImageInputException | NonFiniteOutputException e) {
                    failures.add(e.getMessage()); // names the image
                }
                long now = System.nanoTime();
                if (timing) {
                    System.err.printf(Locale.ROOT, "# %s: %.1f ms%s%n", PrintableText.escape(image), ms(prev, now), first.timing(t0));
                }
                prev = now;
            }
            System.out.flush();
            DecisionRule rule = c.info().decision();
            System.err.println("# decision: " + PrintableText.escape(rule.hasThreshold()
                    ? rule.describe() + " (the model file's rule)" : "most probable class (the model file sets no threshold)"));
            for (String f : failures) {
                System.err.println("error: " + PrintableText.escape(f));
            }
            if (!failures.isEmpty()) {
                System.err.println("error: " + failures.size() + " of " + entries.size() + " image" + (entries.size() == 1 ? "" : "s")
                        + " could not be classified");
                return 1;
            }
            return 0;
        } catch (GraftException e) {
            System.err.println("error: " + PrintableText.escape(e.getMessage()));
            return 1;
        } catch (OutOfMemoryError e) {
            // The heap (not native memory) ran out: loading and folding hold about twice the model file's size.
            System.err.printf(Locale.ROOT, "error: out of Java heap (-Xmx is %d MiB) running %s; give the JVM more, e.g. -Xmx%dm%n", Runtime.getRuntime().maxMemory() >> 20,
                    PrintableText.escape(files.get(0)), suggestedHeapMiB(files.get(0)));
            return 1;
        }
    }

    private static long suggestedHeapMiB(String model) {
        try {
            return HeapAdvice.suggestedMiB(java.nio.file.Files.size(Path.of(model)));
        } catch (java.io.IOException | RuntimeException e) {
            return HeapAdvice.suggestedMiB(0);
        }
    }

    private static Path path(String name) {
        try {
            return Path.of(name);
        } catch (java.nio.file.InvalidPathException e) {
            throw new GraftException("'" + name + "' is not a valid path: " + e.getReason());
        }
    }

    private static double ms(long from, long to) {
        return (to - from) / 1e6;
    }

    private static int usage(String problem) {
        if (problem != null) {
            System.err.println("error: " + problem);
        }
        System.err.println("usage: java -jar graft-runtime-standalone.jar [--device auto|cpu|reference] [--precision fp32|bf16|int8] [--timing] MODEL IMAGE|DIR...");
        System.err.println("  prints IMAGE<TAB>LABEL<TAB>PROBABILITY per image (folders: every .png/.jpg/.jpeg/.bmp/.dcm under them, sorted);");
        System.err.println("  then, on stderr, the decision rule and the images that failed; oneDNN is used when its jars are in lib/ beside the jar");
        return problem == null ? 0 : 2;
    }
}
