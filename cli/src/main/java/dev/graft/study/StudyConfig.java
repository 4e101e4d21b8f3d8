package dev.graft.study;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.graft.train.Initialization;
import dev.graft.train.OptionException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A study's grid, read from {@code study.yaml|yml|json} (docs/study.md):
 *
 * <pre>
 * architectures:                      # each: name, and arch (an --arch value) and/or weights (a --weights file)
 *   - {name: resnet10, weights: demo/fashion/pretrained.safetensors}
 *   - {name: cbr_tiny, arch: "family=cbr kernel=5 channels=16,32,64,128 pools=1,1,1,1 classes=2 in_channels=3"}
 * initializations: [random, pretrained, stats]   # random|pretrained|stats|mean-var|up-to:UNIT[:stats|random]
 * datasets:                           # each: name, data (a --data folder), optional val and test folders
 *   - {name: fashion, data: demo/fashion/task}
 * seeds: [1, 2, 3]
 * metric: auc                         # auc (default), accuracy or balanced-accuracy
 * train: {image-size: 32, batch-size: 8, head-epochs: 3, finetune-epochs: 6, lr-mult: 10, augment: none, monitor: auc}
 * </pre>
 *
 * Relative paths are relative to the configuration file's folder. {@code train} holds {@code graft train}'s long
 * options without their dashes (a flag takes true); the options the grid sets itself are refused there. Every error
 * names the file and the entry.
 */
public record StudyConfig(Path file, List<Architecture> architectures, List<String> initializations, List<Dataset> datasets,
                          List<Long> seeds, String metric, Map<String, String> train) {

    /** One architecture of the grid: its label, an {@code --arch} value (or null) and a {@code --weights} file (or null). */
    public record Architecture(String name, String arch, Path weights) {
    }

    /** One data set: its label and its folders ({@code val} and {@code test} may be null: train's defaults apply). */
    public record Dataset(String name, Path data, Path val, Path test) {
    }

    public static final List<String> METRICS = List.of("auc", "accuracy", "balanced-accuracy");
    /** Options the grid sets for each run (or the study command passes on); refused under {@code train}. */
    static final Set<String> SET_BY_STUDY = Set.of("data", "val", "test", "out", "arch", "weights", "init", "transfer-up-to",
            "init-above", "seed", "resume", "workers", "device", "no-progress", "labels", "images", "stop-after-epochs");
    private static final Set<String> TOP_LEVEL = Set.of("architectures", "initializations", "datasets", "seeds", "metric", "train");
    private static final String NAME_CHARS = "[A-Za-z0-9][A-Za-z0-9._-]{0,63}";

    public StudyConfig {
        architectures = List.copyOf(architectures);
        initializations = List.copyOf(initializations);
        datasets = List.copyOf(datasets);
        seeds = List.copyOf(seeds);
        train = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(train));
    }

    /** Reads and checks {@code file} (YAML for .yaml/.yml, else JSON). */
    public static StudyConfig read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new OptionException("--config " + file + ": no such file; give a study.yaml or study.json (see docs/study.md)");
        }
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        ObjectMapper mapper = name.endsWith(".yaml") || name.endsWith(".yml") ? new ObjectMapper(new YAMLFactory()) : new ObjectMapper();
        JsonNode root;
        try {
            root = mapper.readTree(file.toFile());
        } catch (JacksonException e) {
            throw new OptionException("--config " + file + " is not valid " + (mapper.getFactory() instanceof YAMLFactory ? "YAML" : "JSON")
                    + ": " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new OptionException("--config " + file + " cannot be read: " + e.getMessage());
        }
        return parse(file, root);
    }

    static StudyConfig parse(Path file, JsonNode root) {
        Path base = file.toAbsolutePath().getParent();
        String where = "--config " + file;
        if (root == null || !root.isObject()) {
            throw new OptionException(where + ": the top level must be a mapping with architectures, initializations, datasets and seeds");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!TOP_LEVEL.contains(k)) {
                throw new OptionException(where + ": unknown entry '" + k + "'; the entries are " + new java.util.TreeSet<>(TOP_LEVEL));
            }
        }
        List<Architecture> archs = new ArrayList<>();
        for (JsonNode a : list(root, "architectures", where)) {
            String n = name(a, "architectures", where);
            only(a, Set.of("name", "arch", "weights"), "architectures '" + n + "'", where);
            String arch = text(a, "arch");
            Path weights = path(base, text(a, "weights"));
            if (arch == null && weights == null) {
                throw new OptionException(where + ": architecture '" + n + "' needs arch (an --arch value such as resnet18) or weights (a "
                        + "--weights file), or both");
            }
            if (weights != null && !Files.isRegularFile(weights)) {
                throw new OptionException(where + ": architecture '" + n + "': weights " + weights + " do not exist");
            }
            archs.add(new Architecture(n, arch, weights));
        }
        unique(archs.stream().map(Architecture::name).toList(), "architecture", where);
        List<String> inits = new ArrayList<>();
        for (JsonNode i : list(root, "initializations", where)) {
            inits.add(initialization(i.asText(), where));
        }
        unique(inits, "initialization", where);
        List<Dataset> sets = new ArrayList<>();
        for (JsonNode d : list(root, "datasets", where)) {
            String n = name(d, "datasets", where);
            only(d, Set.of("name", "data", "val", "test"), "datasets '" + n + "'", where);
            Path data = path(base, text(d, "data"));
            if (data == null) {
                throw new OptionException(where + ": data set '" + n + "' needs data: a training folder (DIR/CLASS/* or DIR/{train,val,test}/CLASS/*)");
            }
            Dataset ds = new Dataset(n, data, path(base, text(d, "val")), path(base, text(d, "test")));
            for (Path p : new Path[] {ds.data(), ds.val(), ds.test()}) {
                if (p != null && !Files.isDirectory(p)) {
                    throw new OptionException(where + ": data set '" + n + "': " + p + " is not a folder");
                }
            }
            sets.add(ds);
        }
        unique(sets.stream().map(Dataset::name).toList(), "data set", where);
        List<Long> seeds = new ArrayList<>();
        for (JsonNode s : list(root, "seeds", where)) {
            if (!s.canConvertToLong() || !s.isIntegralNumber()) {
                throw new OptionException(where + ": seeds must be whole numbers, not '" + s.asText() + "'");
            }
            seeds.add(s.asLong());
        }
        if (new LinkedHashSet<>(seeds).size() != seeds.size()) {
            throw new OptionException(where + ": seeds " + seeds + " repeat a seed; each seed is one paired replicate");
        }
        String metric = root.has("metric") ? metric(root.get("metric").asText(), where) : "auc";
        Map<String, String> train = new LinkedHashMap<>();
        JsonNode t = root.get("train");
        if (t != null && !t.isNull()) {
            if (!t.isObject()) {
                throw new OptionException(where + ": train must be a mapping of graft train options (without dashes) to values");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = t.fields(); it.hasNext(); ) {
                var e = it.next();
                String k = e.getKey().startsWith("--") ? e.getKey().substring(2) : e.getKey();
                if (SET_BY_STUDY.contains(k)) {
                    throw new OptionException(where + ": train: --" + k + " is set by the study for each run (from architectures, "
                            + "initializations, datasets, seeds or graft study's own options); leave it out of train");
                }
                if (e.getValue().isContainerNode()) {
                    throw new OptionException(where + ": train: " + k + " must be a single value");
                }
                train.put(k, e.getValue().asText());
            }
        }
        return new StudyConfig(file, archs, inits, sets, seeds, metric, train);
    }

    /** This study with its metric replaced ({@code graft study --metric}). */
    public StudyConfig withMetric(String m) {
        return new StudyConfig(file, architectures, initializations, datasets, seeds, metric(m, "--metric"), train);
    }

    /** random|pretrained|stats|mean-var, or up-to:UNIT[:random|stats] (weights up to UNIT, the rest as said). */
    static String initialization(String raw, String where) {
        String s = raw.trim().toLowerCase(Locale.ROOT);
        if (s.startsWith("up-to:")) {
            String[] p = raw.trim().split(":", -1);
            if (p.length < 2 || p.length > 3 || p[1].isBlank() || (p.length == 3 && !Initialization.ABOVE_KINDS.contains(p[2].toLowerCase(Locale.ROOT)))) {
                throw new OptionException(where + ": initialization '" + raw + "': write up-to:UNIT or up-to:UNIT:stats (UNIT as "
                        + "--unfreeze-from names it, e.g. layer2)");
            }
            return "up-to:" + p[1] + (p.length == 3 ? ":" + p[2].toLowerCase(Locale.ROOT) : "");
        }
        if (!Initialization.KINDS.contains(s)) {
            throw new OptionException(where + ": unknown initialization '" + raw + "'; use " + String.join(", ", Initialization.KINDS)
                    + " or up-to:UNIT[:stats]");
        }
        return s;
    }

    static String metric(String raw, String where) {
        String s = raw.trim().toLowerCase(Locale.ROOT);
        if (!METRICS.contains(s)) {
            throw new OptionException(where + ": unknown metric '" + raw + "'; use " + String.join(", ", METRICS));
        }
        return s;
    }

    /** True when the initialization starts from the pretrained tensors (everything but random). */
    static boolean needsWeights(String init) {
        return !init.equals(Initialization.RANDOM);
    }

    private static List<JsonNode> list(JsonNode root, String key, String where) {
        JsonNode n = root.get(key);
        if (n == null || !n.isArray() || n.isEmpty()) {
            throw new OptionException(where + ": " + key + " must be a non-empty list");
        }
        List<JsonNode> out = new ArrayList<>();
        n.forEach(out::add);
        return out;
    }

    private static String name(JsonNode n, String list, String where) {
        if (!n.isObject()) {
            throw new OptionException(where + ": each entry of " + list + " must be a mapping with a name, not '" + n.asText() + "'");
        }
        String name = text(n, "name");
        if (name == null || !name.matches(NAME_CHARS)) {
            throw new OptionException(where + ": an entry of " + list + " has " + (name == null ? "no name" : "the name '" + name + "'")
                    + "; names are 1-64 letters, digits, '.', '_' or '-' (they name run folders)");
        }
        return name;
    }

    private static void only(JsonNode n, Set<String> keys, String what, String where) {
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!keys.contains(k)) {
                throw new OptionException(where + ": " + what + ": unknown entry '" + k + "'; the entries are " + new java.util.TreeSet<>(keys));
            }
        }
    }

    private static void unique(List<String> names, String what, String where) {
        Set<String> seen = new LinkedHashSet<>();
        for (String n : names) {
            if (!seen.add(n)) {
                throw new OptionException(where + ": the " + what + " '" + n + "' is listed twice");
            }
        }
    }

    private static String text(JsonNode n, String key) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() || v.asText().isBlank() ? null : v.asText();
    }

    private static Path path(Path base, String p) {
        return p == null ? null : base.resolve(p).normalize();
    }
}
