package dev.graft.cli;

import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import dev.graft.loaders.LoadOptions;
import dev.graft.loaders.LoadResult;
import dev.graft.loaders.SafeTensors;
import dev.graft.loaders.SkippedEntry;
import dev.graft.loaders.StateDicts;
import dev.graft.models.ResNet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code graft convert IN OUT}: a state dict from any readable format to safetensors, keys mapped, provenance recorded. */
@Command(name = "convert", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Convert a state dict (.pth, .safetensors, .npy) to .safetensors, mapping keys.",
            "Reads PyTorch .pth files (zip, legacy or tar format), .safetensors and .npy.",
            "Keys: known wrapper prefixes (module., model., backbone., _orig_mod.) are stripped while every key "
                + "carries one, unless --strip-prefix says otherwise; then --rename rules apply.",
            "Values are written as read: float32, float64 and int64 unchanged; float16/bfloat16 widen to float32 "
                + "and other integer types to int64.",
            "Metadata: the source's own (safetensors __metadata__) is kept, and graft.source, graft.source_format, "
                + "graft.source_key, graft.key_mapping and, for a ResNet, graft.architecture and graft.resnet are "
                + "added, with graft.sha256: the SHA-256 of each tensor's bytes, checked whenever the file is read. The "
                + "output is written atomically and never replaces a file without --force."})
final class ConvertCommand implements Callable<Integer> {
    static final String META_SOURCE = "graft.source";
    static final String META_SOURCE_FORMAT = "graft.source_format";
    static final String META_SOURCE_KEY = "graft.source_key";
    static final String META_KEY_MAPPING = "graft.key_mapping";

    @Parameters(index = "0", paramLabel = "IN", description = "a .pth, .safetensors or .npy file")
    Path in;

    @Parameters(index = "1", paramLabel = "OUT", description = "the .safetensors file to write")
    Path out;

    @Option(names = "--strip-prefix", paramLabel = "auto|none|PREFIX", defaultValue = KeyMapping.AUTO,
            description = "auto (default): strip known wrapper prefixes; none: keep keys; or a prefix to remove "
                    + "from every key that starts with it (e.g. encoder.)")
    String stripPrefix;

    @Option(names = "--rename", paramLabel = "FROM=TO",
            description = "after stripping, replace the key prefix FROM with TO (repeatable; the first matching "
                    + "rule applies; FROM may be empty to add a prefix)")
    List<String> renames = new ArrayList<>();

    @Option(names = "--key-path", paramLabel = "PATH",
            description = "where the state dict sits in a wrapped checkpoint, '/'-separated (e.g. model/ema); "
                    + "default: found automatically")
    String keyPath;

    @Option(names = "--force", description = "replace OUT if it exists")
    boolean force;

    @Override
    public Integer call() {
        FileChecks.input("", in);
        FileChecks.output("", out, ".safetensors", force);
        KeyMapping mapping = new KeyMapping(stripPrefix, renames);
        LoadResult r = StateDicts.load(in, LoadOptions.parseKeyPath(keyPath));
        KeyMapping.Result mapped = mapping.apply(r.stateDict(), in.toString());
        StateDict dict = mapped.dict();

        Map<String, String> meta = dict.metadata();
        meta.put(META_SOURCE, String.valueOf(in.getFileName()));
        meta.put(META_SOURCE_FORMAT, r.format().displayName());
        putOrRemove(meta, META_SOURCE_KEY, r.selectedKey());
        putOrRemove(meta, META_KEY_MAPPING, mapped.description());
        Map<String, Shape> shapes = new LinkedHashMap<>();
        dict.tensors().forEach((k, t) -> shapes.put(k, t.shape()));
        ModelGuess guess = ModelGuess.of(shapes, meta);
        if (guess.isResNet()) {
            meta.putIfAbsent(ResNet.META_ARCHITECTURE, guess.config().architecture());
            meta.putIfAbsent(ResNet.META_CONFIG, guess.config().describe());
        } else if (guess.isVit() && guess.headsKnown()) { // a custom width's head count is a guess unless a line said it
            meta.putIfAbsent(ResNet.META_ARCHITECTURE, guess.vit().architecture());
            meta.putIfAbsent(dev.graft.models.VisionTransformer.META_CONFIG, guess.vit().describe());
            meta.putIfAbsent(ResNet.META_CONFIG, dev.graft.models.ResNetConfig.vit(guess.vit()).describe()); // what train / predict read
        }

        StateDicts.write(out, dict);

        long elements = dict.tensors().values().stream().mapToLong(t -> t.shape().numel()).sum();
        System.out.printf(Locale.ROOT, "wrote %s: %d tensors, %,d elements (%s -> safetensors)%n", out, dict.size(),
                elements, r.format().displayName());
        if (!r.selectedKey().isEmpty()) {
            System.out.println("  state dict taken from key path '" + r.selectedKey() + "'");
        }
        System.out.println("  keys: " + (mapped.description().isEmpty() ? "unchanged" : mapped.description()));
        System.out.println("  architecture: " + guess.describe());
        System.out.println("  integrity: the SHA-256 of each tensor is recorded (" + SafeTensors.META_SHA256 + ")");
        List<String> widened = new ArrayList<>();
        for (Map.Entry<String, HostTensor> e : dict.tensors().entrySet()) {
            if (!e.getValue().sourceType().equals(e.getValue().dtype().torchName())) {
                widened.add(e.getKey() + " (" + e.getValue().sourceType() + " -> " + e.getValue().dtype().torchName() + ")");
            }
        }
        if (!widened.isEmpty()) {
            System.out.println("  widened " + widened.size() + " tensors: " + summarize(widened));
        }
        if (!r.skipped().isEmpty()) {
            System.out.println("  left out " + r.skipped().size() + " entries that are not tensors of the state dict: "
                    + summarize(r.skipped().stream().map(SkippedEntry::toString).toList()));
        }
        return 0;
    }

    /** Sets a provenance entry, or removes one a safetensors source carried from an earlier conversion. */
    private static void putOrRemove(Map<String, String> meta, String key, String value) {
        if (value.isEmpty()) {
            meta.remove(key);
        } else {
            meta.put(key, value);
        }
    }

    private static String summarize(List<String> items) {
        int shown = Math.min(items.size(), 5);
        return String.join(", ", items.subList(0, shown)) + (items.size() > shown ? ", ..." : "");
    }
}
