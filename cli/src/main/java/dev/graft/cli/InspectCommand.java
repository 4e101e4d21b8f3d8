package dev.graft.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.engine.Shape;
import dev.graft.loaders.IntegrityException;
import dev.graft.loaders.LoadOptions;
import dev.graft.loaders.SafeTensors;
import dev.graft.loaders.SkippedEntry;
import dev.graft.loaders.StateDictSummary;
import dev.graft.loaders.StateDicts;
import dev.graft.loaders.TensorInfo;
import dev.graft.loaders.Verification;
import dev.graft.models.Architectures;
import dev.graft.models.DecisionRule;
import dev.graft.models.PrintableText;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/**
 * {@code graft inspect FILE}: what a weights file holds, from its headers and pickle; tensor data is read only to
 * check the SHA-256 digests that files written by Graft record (hashing, no conversion: about 0.5 s per 100 MB
 * here; {@code --no-verify} skips it). Files without digests inspect in milliseconds whatever their size. A digest
 * that does not match is reported with everything else, then as the error (exit code 2).
 */
@Command(name = "inspect", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Show what a weights file holds: format, architecture, keys, shapes, dtypes, metadata.",
            "Prints the format, the architecture (a registry name such as resnet50, swin_t or deit_s, a custom "
                + "network's configuration, or why it is none the registry knows), the parameter count, every key with its stored dtype and shape, the metadata, and "
                + "the entries beside the state dict that are not tensors.",
            "Reads PyTorch .pth (zip, legacy and tar formats), .safetensors and .npy; tensor data is read only to check "
                + "the SHA-256 of each tensor that files written by Graft record (graft.sha256), unless --no-verify.",
            "Parameters are the floating-point tensors other than batch-norm running statistics; buffers are the "
                + "running statistics and integer tensors (num_batches_tracked)."})
final class InspectCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "a .pth, .safetensors or .npy file")
    Path file;

    @Option(names = "--json", description = "print JSON instead of tables")
    boolean json;

    @Option(names = "--key-path", paramLabel = "PATH",
            description = "where the state dict sits in a wrapped checkpoint, '/'-separated (e.g. model/ema); "
                    + "default: the top level, else a usual wrapper key (state_dict, model, ...)")
    String keyPath;

    @Option(names = "--no-verify", description = "do not read tensor data to check recorded SHA-256 digests")
    boolean noVerify;

    @Override
    public Integer call() throws Exception {
        LoadOptions options = LoadOptions.parseKeyPath(keyPath);
        StateDictSummary s = StateDicts.inspect(FileChecks.input("", file), options);
        Verification v = s.recordsDigests() && !noVerify ? StateDicts.verify(file, options) : null;
        Map<String, Shape> shapes = new LinkedHashMap<>();
        s.tensors().forEach(t -> shapes.put(t.name(), t.shape()));
        ModelGuess guess = ModelGuess.of(shapes, s.metadata());
        Counts counts = Counts.of(s);
        PrintStream out = System.out;
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(toJson(s, v, guess, counts)));
        } else {
            printTables(out, s, v, guess, counts);
        }
        out.flush();
        if (v != null && !v.failures().isEmpty()) {
            IntegrityException first = v.failures().get(0);
            int more = v.failures().size() - 1;
            throw more == 0 ? first : new IntegrityException(first.file(), first.offset(), first.tensor(),
                    v.failures().size() + " tensors do not match the SHA-256 recorded when the file was written ("
                            + String.join(", ", v.failures().stream().map(f -> "'" + f.tensor() + "'").toList())
                            + "): the file was damaged after it was written; use an intact copy or write it again");
        }
        return 0;
    }

    /** The integrity line: what the file records and whether it verified. */
    private static String integrity(StateDictSummary s, Verification v) {
        if (!s.recordsDigests()) {
            return "no digests recorded (a file not written by Graft): not verified";
        }
        if (v == null) {
            return "SHA-256 per tensor (" + SafeTensors.META_SHA256 + "): not checked (--no-verify)";
        }
        if (v.failures().isEmpty()) {
            return String.format(Locale.ROOT, "SHA-256 per tensor (%s): verified, all %d tensors (%,d bytes) match",
                    SafeTensors.META_SHA256, v.verified(), v.bytes());
        }
        return "FAILED: " + v.failures().size() + " of " + s.tensors().size() + " tensors do not match their SHA-256: "
                + String.join(", ", v.failures().stream().map(f -> "'" + f.tensor() + "'").toList());
    }

    private static String status(StateDictSummary s, Verification v) {
        return !s.recordsDigests() ? "none" : v == null ? "not checked" : v.failures().isEmpty() ? "verified" : "failed";
    }

    /** Parameters versus buffers, by the names PyTorch gives batch-norm buffers (a state dict does not say). */
    record Counts(long parameters, int parameterTensors, long buffers, int bufferTensors) {
        static Counts of(StateDictSummary s) {
            long p = 0;
            long b = 0;
            int pt = 0;
            int bt = 0;
            for (TensorInfo t : s.tensors()) {
                if (isParameter(t)) {
                    p += t.numel();
                    pt++;
                } else {
                    b += t.numel();
                    bt++;
                }
            }
            return new Counts(p, pt, b, bt);
        }

        private static boolean isParameter(TensorInfo t) {
            boolean floating = t.storedType().startsWith("float") || t.storedType().equals("bfloat16");
            return floating && !t.name().endsWith("running_mean") && !t.name().endsWith("running_var");
        }
    }

    private static void printTables(PrintStream out, StateDictSummary s, Verification v, ModelGuess guess, Counts c) {
        field(out, "file", s.file());
        field(out, "format", s.format().displayName());
        if (!s.selectedKey().isEmpty()) {
            field(out, "state dict", "at key path '" + s.selectedKey() + "' of a wrapped checkpoint");
        }
        field(out, "architecture", guess.describe());
        if (DecisionRule.PerLabel.isMultiLabel(s.metadata())) {
            List<String> labels = multiLabels(s);
            field(out, "outputs", (labels == null ? "" : labels.size() + " ") + "labels (multi-label: one sigmoid per label"
                    + (labels == null ? "" : ", " + labels) + "; the architecture's classes are its labels)");
        }
        field(out, "parameters", String.format(Locale.ROOT, "%,d in %d tensors", c.parameters(), c.parameterTensors()));
        field(out, "buffers", String.format(Locale.ROOT, "%,d in %d tensors (running statistics, counters)",
                c.buffers(), c.bufferTensors()));
        field(out, "integrity", integrity(s, v));
        out.println();
        // the first 16 hex digits of each recorded SHA-256 (--json prints all 64)
        Table keys = s.recordsDigests() ? new Table("key", "dtype", "shape", "elements", "sha256")
                : new Table("key", "dtype", "shape", "elements");
        for (TensorInfo t : s.tensors()) {
            String n = String.format(Locale.ROOT, "%,d", t.numel());
            if (s.recordsDigests()) {
                keys.row(t.name(), t.storedType(), t.shape(), n, t.sha256().substring(0, 16));
            } else {
                keys.row(t.name(), t.storedType(), t.shape(), n);
            }
        }
        out.print(keys);
        if (!s.metadata().isEmpty()) {
            out.println();
            // key/value lines rather than a Table: values are free text, and numbers would be right-aligned
            out.println("metadata");
            int width = s.metadata().keySet().stream().mapToInt(String::length).max().orElse(0);
            // Escaped: metadata is the file author's text, and may hold escape sequences.
            new TreeMap<>(s.metadata()).forEach((k, val) -> out.println("  " + PrintableText.escape(k)
                    + " ".repeat(Math.max(0, width - k.length())) + "  " + PrintableText.escape(val)));
        }
        if (!s.skipped().isEmpty()) {
            out.println();
            Table skipped = new Table("not loaded", "why");
            for (SkippedEntry e : s.skipped()) {
                skipped.row(e.key(), e.reason());
            }
            out.print(skipped);
        }
    }

    /** A multi-label file's labels from its metadata (graft's class list), or null when it does not hold them. */
    private static List<String> multiLabels(StateDictSummary s) {
        String raw = s.metadata().get(dev.graft.models.ModelMetadata.META_CLASSES);
        if (raw == null) {
            return null;
        }
        try {
            return List.of(new ObjectMapper().readValue(raw, String[].class));
        } catch (com.fasterxml.jackson.core.JsonProcessingException | RuntimeException e) {
            return null; // malformed: the metadata table below shows it as it is
        }
    }

    private static void field(PrintStream out, String name, String value) {
        out.printf("%-13s %s%n", name, PrintableText.escape(value));
    }

    private static ObjectNode toJson(StateDictSummary s, Verification v, ModelGuess guess, Counts c) {
        ObjectMapper m = new ObjectMapper();
        ObjectNode root = m.createObjectNode();
        root.put("file", s.file());
        root.put("format", s.format().displayName());
        root.put("state_dict_key", s.selectedKey());
        ObjectNode arch = root.putObject("architecture");
        // "resnet": a torchvision ResNet (resnet18 ... wide_resnet101_2 or a custom one) and nothing else; "registry":
        // any network train / evaluate / predict take (ResNet, CBR, InceptionV3, Swin, ViT / DeiT)
        arch.put("resnet", guess.isResNet() && Architectures.RESNET.equals(guess.config().family()));
        arch.put("registry", guess.isResNet() || guess.isVit());
        if (guess.isResNet()) {
            arch.put("family", guess.config().family()); // resnet, cbr, inception or swin
            arch.put("name", guess.config().architecture());
            arch.put("config", guess.config().describe());
            arch.put("classes", guess.config().numClasses());
            arch.put("in_channels", guess.config().inChannels());
            arch.put("key_prefix", guess.prefix());
        } else if (guess.isVit()) {
            arch.put("family", Architectures.VIT);
            arch.put("name", guess.vit().architecture());
            arch.put("config", guess.vit().describe());
            arch.put("classes", guess.vit().numClasses());
            arch.put("in_channels", guess.vit().inChannels());
            arch.put("image_size", guess.vit().imageSize());
            arch.put("key_prefix", guess.prefix());
        } else {
            arch.put("reason", guess.notResNetBecause());
        }
        if (DecisionRule.PerLabel.isMultiLabel(s.metadata())) {
            arch.put("multi_label", true); // "classes" then counts labels, one sigmoid each
            List<String> labels = multiLabels(s);
            if (labels != null) {
                labels.forEach(arch.putArray("labels")::add);
            }
        }
        root.put("parameters", c.parameters());
        root.put("parameter_tensors", c.parameterTensors());
        root.put("buffers", c.buffers());
        root.put("buffer_tensors", c.bufferTensors());
        ObjectNode integrity = root.putObject("integrity");
        integrity.put("status", status(s, v));
        integrity.put("digest", s.recordsDigests() ? "sha256 per tensor (" + SafeTensors.META_SHA256 + ")" : "");
        integrity.put("verified", v == null ? 0 : v.verified());
        ArrayNode failed = integrity.putArray("failed");
        if (v != null) {
            v.failures().forEach(f -> failed.add(f.tensor()));
        }
        ArrayNode tensors = root.putArray("tensors");
        for (TensorInfo t : s.tensors()) {
            ObjectNode n = tensors.addObject();
            n.put("name", t.name());
            n.put("dtype", t.storedType());
            ArrayNode dims = n.putArray("shape");
            for (int d : t.shape().dims()) {
                dims.add(d);
            }
            n.put("elements", t.numel());
            if (s.recordsDigests()) {
                n.put("sha256", t.sha256());
            }
        }
        ObjectNode meta = root.putObject("metadata");
        new TreeMap<>(s.metadata()).forEach(meta::put);
        ArrayNode skipped = root.putArray("skipped");
        for (SkippedEntry e : s.skipped()) {
            skipped.addObject().put("key", e.key()).put("reason", e.reason());
        }
        return root;
    }
}
