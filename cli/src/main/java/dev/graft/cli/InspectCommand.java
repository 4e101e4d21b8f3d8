package dev.graft.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.engine.Shape;
import dev.graft.loaders.LoadOptions;
import dev.graft.loaders.SkippedEntry;
import dev.graft.loaders.StateDictSummary;
import dev.graft.loaders.StateDicts;
import dev.graft.loaders.TensorInfo;
import dev.graft.models.PrintableText;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/**
 * {@code graft inspect FILE}: what a weights file holds, from its headers and pickle only (tensor data is never
 * read, so a 500 MB checkpoint inspects in milliseconds).
 */
@Command(name = "inspect", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Show what a weights file holds: format, architecture, keys, shapes, dtypes, metadata.",
            "Prints the format, the architecture (a torchvision name, a custom ResNet's configuration, or why it is "
                + "not a ResNet), the parameter count, every key with its stored dtype and shape, the metadata, and "
                + "the entries beside the state dict that are not tensors.",
            "Reads PyTorch .pth (zip, legacy and tar formats), .safetensors and .npy; tensor data is not read.",
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

    @Override
    public Integer call() throws Exception {
        StateDictSummary s = StateDicts.inspect(FileChecks.input("", file), LoadOptions.parseKeyPath(keyPath));
        Map<String, Shape> shapes = new LinkedHashMap<>();
        s.tensors().forEach(t -> shapes.put(t.name(), t.shape()));
        ModelGuess guess = ModelGuess.of(shapes);
        Counts counts = Counts.of(s);
        PrintStream out = System.out;
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(toJson(s, guess, counts)));
        } else {
            printTables(out, s, guess, counts);
        }
        return 0;
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

    private static void printTables(PrintStream out, StateDictSummary s, ModelGuess guess, Counts c) {
        field(out, "file", s.file());
        field(out, "format", s.format().displayName());
        if (!s.selectedKey().isEmpty()) {
            field(out, "state dict", "at key path '" + s.selectedKey() + "' of a wrapped checkpoint");
        }
        field(out, "architecture", guess.describe());
        field(out, "parameters", String.format(Locale.ROOT, "%,d in %d tensors", c.parameters(), c.parameterTensors()));
        field(out, "buffers", String.format(Locale.ROOT, "%,d in %d tensors (running statistics, counters)",
                c.buffers(), c.bufferTensors()));
        out.println();
        Table keys = new Table("key", "dtype", "shape", "elements");
        for (TensorInfo t : s.tensors()) {
            keys.row(t.name(), t.storedType(), t.shape(), String.format(Locale.ROOT, "%,d", t.numel()));
        }
        out.print(keys);
        if (!s.metadata().isEmpty()) {
            out.println();
            // key/value lines rather than a Table: values are free text, and numbers would be right-aligned
            out.println("metadata");
            int width = s.metadata().keySet().stream().mapToInt(String::length).max().orElse(0);
            // Escaped: metadata is the file author's text, and may hold escape sequences.
            new TreeMap<>(s.metadata()).forEach((k, v) -> out.println("  " + PrintableText.escape(k)
                    + " ".repeat(Math.max(0, width - k.length())) + "  " + PrintableText.escape(v)));
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

    private static void field(PrintStream out, String name, String value) {
        out.printf("%-13s %s%n", name, PrintableText.escape(value));
    }

    private static ObjectNode toJson(StateDictSummary s, ModelGuess guess, Counts c) {
        ObjectMapper m = new ObjectMapper();
        ObjectNode root = m.createObjectNode();
        root.put("file", s.file());
        root.put("format", s.format().displayName());
        root.put("state_dict_key", s.selectedKey());
        ObjectNode arch = root.putObject("architecture");
        arch.put("resnet", guess.isResNet());
        if (guess.isResNet()) {
            arch.put("name", guess.config().architecture());
            arch.put("config", guess.config().describe());
            arch.put("classes", guess.config().numClasses());
            arch.put("in_channels", guess.config().inChannels());
            arch.put("key_prefix", guess.prefix());
        } else {
            arch.put("reason", guess.notResNetBecause());
        }
        root.put("parameters", c.parameters());
        root.put("parameter_tensors", c.parameterTensors());
        root.put("buffers", c.buffers());
        root.put("buffer_tensors", c.bufferTensors());
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
