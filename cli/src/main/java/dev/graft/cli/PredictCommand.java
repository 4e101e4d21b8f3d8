package dev.graft.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.graft.engine.Grad;
import dev.graft.engine.Precision;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Backends;
import dev.graft.explain.CamImage;
import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.FloatImage;
import dev.graft.loaders.images.ImageInputs;
import dev.graft.loaders.images.ImagePipeline;
import dev.graft.loaders.images.InputChannels;
import dev.graft.models.ClassProbabilities;
import dev.graft.models.DecisionRule;
import dev.graft.models.GradCam;
import dev.graft.models.InferencePlan;
import dev.graft.models.Int8Calibration;
import dev.graft.models.ModelException;
import dev.graft.models.NonFiniteOutputException;
import dev.graft.models.PrintableText;
import dev.graft.models.ResNet;
import dev.graft.train.ModelFile;
import dev.graft.train.OptionChecks;
import dev.graft.train.OptionException;
import dev.graft.train.TestTimeAugmentation;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code graft predict}: class probabilities and the decision for each image, from a model file alone. Folders are
 * searched recursively ({@link ImageInputs}: images sorted by path, arguments in the order given). An image that
 * cannot be used gets a row with its error, in its place, and the others are still predicted; the exit code is then 2.
 * Every format states the decision rule: the table's footer line, the JSON fields {@code threshold} and
 * {@code positive_class}, the CSV column {@code threshold}. Messages on stderr come after the output, never before.
 */
@Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Classify images with a model file; prints a table (or JSON / CSV). Folders are searched recursively "
                + "(images in path order). The decision is the model file's rule, as in the runtime: its graft.threshold on the "
                + "positive class's probability, or the most probable class when it has none; the output states which.")
final class PredictCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "A model file written by 'graft train'.")
    Path model;
    @Parameters(arity = "1..*", paramLabel = "IMAGE|DIR", description = "PNG, JPEG, BMP or DICOM (.dcm) files, or folders of them "
            + "(searched recursively, sorted by path; other files skipped). Results keep this order.")
    List<Path> images;
    @ArgGroup(exclusive = true)
    FormatChoice format = new FormatChoice();
    @Option(names = "--threshold", description = "Decide P(positive class) >= this instead of the model file's rule; in [0, 1].")
    Double threshold;
    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, reference or cuda[:N].")
    String device;
    @Option(names = "--precision", paramLabel = "fp32|bf16|int8", description = "Arithmetic of the convolutions (default: the "
            + "model file's: int8 for a file written by 'graft quantize', else fp32). bf16: bfloat16 products, fp32 sums (CPUs "
            + "with bf16 instructions); int8 needs a file from 'graft quantize'. Not with --tta or --cam.")
    String precision;
    @Option(names = "--batch-size", defaultValue = "16", description = "Images per forward pass, >= 1 (default ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--cam", paramLabel = "DIR", description = "Also write a Grad-CAM heat map over each image, for its "
            + "decided class, into this folder (created if missing): <image name>.cam.png, as 'graft explain'.")
    Path cam;
    @Option(names = "--cam-method", defaultValue = "gradcam", description = "With --cam: gradcam or gradcam++ "
            + "(default ${DEFAULT-VALUE}).")
    String camMethod;
    @Option(names = "--tta", description = "Test-time augmentation: average the probabilities of each image and its left-right "
            + "mirror (each view at the model file's temperature).")
    boolean tta;
    @Mixin
    ImageOptions imageOptions;

    /** The image files of {@link #images}, folders expanded; a problem entry's row is its error. */
    private List<Path> files;
    /** Lines for stderr, printed after the results so that nothing comes before them. */
    private final List<String> messages = new ArrayList<>();
    private CamWriter camWriter;
    private List<Path> camOutputs;
    private int camWritten;
    private int camFailed;

    static final class FormatChoice {
        @Option(names = "--json", description = "JSON on stdout.")
        boolean json;
        @Option(names = "--csv", description = "CSV on stdout.")
        boolean csv;
    }

    /** {@code positives}: a multi-label model's per-label calls (null otherwise). */
    record Row(String file, String predicted, double confidence, double[] probabilities, String error, boolean[] positives) {
        Row(String file, String predicted, double confidence, double[] probabilities, String error) {
            this(file, predicted, confidence, probabilities, error, null);
        }

        static Row failed(Path file, String error) {
            return new Row(file.toString(), null, Double.NaN, null, error);
        }
    }

    /** The bf16 or int8 plan the images run through, or null (fp32: the model's own forward pass). */
    private InferencePlan lowp;

    /** The precision to run: --precision, else the model file's; int8 only for a file with a calibration. */
    private Precision precision(ModelFile mf) {
        Int8Calibration cal = Int8Calibration.fromMetadata(model.toString(), mf.state().metadata());
        Precision p;
        try {
            p = precision == null ? (cal != null ? Precision.INT8 : Precision.FP32) : Precision.parse(precision);
        } catch (IllegalArgumentException e) {
            throw new OptionException("--precision: " + e.getMessage());
        }
        if (p == Precision.INT8 && cal == null) {
            throw new OptionException("--precision int8: --model " + model + " is an fp32 model without int8 calibration; run "
                    + "graft quantize first (graft quantize --model " + model + " --data DIR --out MODEL-int8.safetensors) and "
                    + "predict with its output");
        }
        if (p != Precision.FP32 && (tta || cam != null)) {
            throw new OptionException((tta ? "--tta" : "--cam") + " runs the fp32 model; with a " + p + " model pass "
                    + "--precision fp32 or leave " + (tta ? "--tta" : "--cam") + " out");
        }
        return p;
    }

    /** The folded plan of {@code net} in {@code p}, or null for fp32; refuses a model without a fused plan (Swin). */
    private InferencePlan lowPrecision(ResNet net, Precision p, ModelFile mf) {
        if (p == Precision.FP32) {
            return null;
        }
        net.eval();
        InferencePlan plan;
        try {
            plan = InferencePlan.compile(net).detach();
        } catch (ModelException e) {
            throw new OptionException("--precision " + p + ": " + e.getMessage() + "; use --precision fp32");
        }
        try {
            plan.withPrecision(p, p == Precision.INT8 ? Int8Calibration.fromMetadata(model.toString(), mf.state().metadata()) : null);
        } catch (RuntimeException e) {
            plan.close();
            throw e;
        }
        messages.add("note: " + (p == Precision.INT8 ? "int8 inference (" + plan.quantizableLayers().size()
                + " convolutions in int8, first convolution and fc in fp32)" : "bf16 inference (bfloat16 products, fp32 sums)"));
        return plan;
    }

    /** A multi-label model's decision (one sigmoid per label, a threshold each), or null. */
    private DecisionRule.PerLabel perLabel;

    @Override
    public Integer call() throws Exception {
        OptionChecks.batchSize("--batch-size", batchSize);
        ModelFile mf = ModelFile.read(FileChecks.input("--model", model));
        var sel = Backends.resolve(device);
        perLabel = mf.perLabel();
        if (perLabel != null && (threshold != null || tta || cam != null)) {
            throw new OptionException("--model " + model + " is multi-label (one sigmoid per label, thresholds chosen on validation); "
                    + (threshold != null ? "--threshold" : tta ? "--tta" : "--cam") + " is for single-label models; leave it out");
        }
        DecisionRule rule = threshold != null ? mf.decision().withThreshold(threshold, "--threshold") : mf.decision();
        ImagePipeline pipeline = new ImagePipeline(mf.preprocessing().evaluation(), imageOptions.decoding(),
                w -> messages.add("warning: " + PrintableText.escape(w)));
        GradCam.Method camWith = cam == null ? null
                : GradCam.Method.parse(OptionChecks.oneOf("--cam-method", camMethod, ExplainCommand.METHODS));
        Path camFolder = cam == null ? null : CamOutputs.folder("--cam", cam);
        List<ImageInputs.Entry> entries = ImageInputs.expand(images, camFolder);
        files = entries.stream().map(ImageInputs.Entry::file).toList();
        Row[] rows = new Row[files.size()];
        Precision prec = precision(mf);
        try (ResNet net = mf.build(sel.device()); InferencePlan lowp = lowPrecision(net, prec, mf)) {
            net.eval();
            this.lowp = lowp;
            if (camFolder != null) {
                camWriter = new CamWriter(net, camWith, mf.classes(), mf.preprocessing(), CamImage.DEFAULT_ALPHA, mf.temperature());
                camOutputs = CamOutputs.items(entries, camFolder).stream().map(CamOutputs.Item::output).toList();
            }
            for (int start = 0; start < files.size(); start += batchSize) {
                List<FloatImage> ok = new ArrayList<>();
                List<Integer> okIndex = new ArrayList<>();
                for (int i = start; i < Math.min(files.size(), start + batchSize); i++) {
                    Path p = files.get(i);
                    ImageInputs.Entry entry = entries.get(i);
                    String problem = !entry.ok() ? entry.problem() : entry.folder() == null ? FileChecks.problem(p) : null;
                    if (problem != null) {
                        rows[i] = Row.failed(p, problem);
                        continue;
                    }
                    try {
                        ok.add(pipeline.load(p, null));
                        okIndex.add(i);
                    } catch (DatasetException e) {
                        rows[i] = Row.failed(p, e.getMessage());
                    }
                }
                if (!ok.isEmpty()) {
                    classify(net, mf, rule, ok, okIndex, rows);
                }
            }
        }
        print(List.of(rows), mf.classes(), rule);
        System.out.flush();
        long failed = java.util.Arrays.stream(rows).filter(r -> r.error() != null).count();
        if (!format.json && !format.csv) {
            // The table shows "error" in the row; the reasons follow it, in the same order.
            for (Row r : rows) {
                if (r.error() != null) {
                    messages.add("error: " + PrintableText.escape(r.error()));
                }
            }
        }
        messages.forEach(System.err::println);
        if (camFolder != null) {
            System.err.println("wrote " + camWritten + " heat map" + (camWritten == 1 ? "" : "s") + " to " + camFolder
                    + (camFailed > 0 ? "; " + camFailed + " failed" : ""));
        }
        if (failed > 0) {
            System.err.println(failed + " of " + rows.length + " image" + (rows.length == 1 ? "" : "s") + " could not be "
                    + "classified" + (format.json || format.csv ? " (see the error " + (format.json ? "field" : "column") + ")" : ""));
        }
        return failed == 0 && camFailed == 0 ? 0 : ErrorHandler.USER_ERROR;
    }

    /** Decides each image of the batch; an image whose output is not finite gets an error row, never a class. */
    private void classify(ResNet net, ModelFile mf, DecisionRule rule, List<FloatImage> imgs, List<Integer> index, Row[] rows) {
        FloatImage first = imgs.get(0);
        int per = first.data().length;
        int channels = net.config().inChannels();
        float[] data = new float[imgs.size() * per / first.channels() * channels];
        int plane = first.height() * first.width();
        for (int i = 0; i < imgs.size(); i++) {
            InputChannels.copy(imgs.get(i).data(), plane, channels, data, i * channels * plane);
        }
        try (Scope s = Scope.open("predict"); Grad.Mode off = Grad.off()) {
            Tensor x = Tensor.fromArray(net.device(), data, imgs.size(), channels, first.height(), first.width());
            float[] logits = (lowp != null ? lowp.forward(x) : net.forward(x)).toFloatArray();
            float[] mirrored = tta ? TestTimeAugmentation.mirroredLogits(net, x) : null;
            int c = mf.classes().size();
            for (int i = 0; i < imgs.size(); i++) {
                Path file = files.get(index.get(i));
                try {
                    if (perLabel != null) {
                        double[] p = ClassProbabilities.sigmoid(logits, i * c, c, file.toString());
                        boolean[] calls = perLabel.decide(p);
                        List<String> positive = new ArrayList<>();
                        for (int j = 0; j < c; j++) {
                            if (calls[j]) {
                                positive.add(mf.classes().get(j));
                            }
                        }
                        rows[index.get(i)] = new Row(file.toString(), String.join("|", positive), Double.NaN, p, null, calls);
                        continue;
                    }
                    double[] p = tta ? TestTimeAugmentation.average(logits, mirrored, i * c, c, mf.temperature(), file.toString())
                            : ClassProbabilities.softmax(logits, i * c, c, mf.temperature(), file.toString());
                    int k = rule.decide(p);
                    rows[index.get(i)] = new Row(file.toString(), mf.classes().get(k), p[k], p, null);
                } catch (NonFiniteOutputException e) {
                    rows[index.get(i)] = Row.failed(file, e.getMessage());
                }
            }
        }
        if (camWriter != null) {
            writeCams(mf, imgs, index, rows);
        }
    }

    /** The --cam pictures for the images of this batch that got a decision, for the decided class. */
    private void writeCams(ModelFile mf, List<FloatImage> imgs, List<Integer> index, Row[] rows) {
        List<FloatImage> keep = new ArrayList<>();
        List<Integer> at = new ArrayList<>();
        for (int i = 0; i < imgs.size(); i++) {
            if (rows[index.get(i)].error() == null) {
                keep.add(imgs.get(i));
                at.add(index.get(i));
            }
        }
        if (keep.isEmpty()) {
            return;
        }
        int[] decided = at.stream().mapToInt(j -> mf.classes().indexOf(rows[j].predicted())).toArray();
        String[] problems = camWriter.write(keep, decided, decided, at.stream().map(j -> files.get(j).toString()).toList(),
                at.stream().map(camOutputs::get).toList());
        for (int i = 0; i < problems.length; i++) {
            if (problems[i] == null) {
                camWritten++;
            } else {
                camFailed++;
                messages.add("error: " + PrintableText.escape(files.get(at.get(i)) + ": " + problems[i]));
            }
        }
    }

    /** The decision rule in force, for the table's footer. */
    private String decisionLine(DecisionRule rule) {
        String source = threshold != null ? "--threshold" : rule.hasThreshold() ? "the model file's rule"
                : "the model file sets no threshold";
        return "decision: " + (rule.hasThreshold() ? rule.describe() : "most probable class") + " (" + source + ")";
    }

    private void print(List<Row> rows, List<String> classes, DecisionRule rule) throws Exception {
        if (perLabel != null) {
            printMultiLabel(rows, classes);
            return;
        }
        Double t = rule.hasThreshold() ? rule.threshold() : null;
        String positive = rule.hasThreshold() ? rule.classes().get(rule.positiveIndex()) : null;
        if (format.json) {
            List<Map<String, Object>> out = new ArrayList<>();
            for (Row r : rows) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("file", r.file());
                if (r.error() != null) {
                    m.put("error", r.error());
                } else {
                    m.put("predicted", r.predicted());
                    Map<String, Double> probs = new LinkedHashMap<>();
                    for (int k = 0; k < classes.size(); k++) {
                        probs.put(classes.get(k), r.probabilities()[k]);
                    }
                    m.put("probabilities", probs);
                }
                m.put("threshold", t);
                m.put("positive_class", positive);
                out.add(m);
            }
            System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
            return;
        }
        if (format.csv) {
            StringBuilder b = new StringBuilder();
            List<String> header = new ArrayList<>(List.of("file", "predicted"));
            classes.forEach(c -> header.add("p_" + c));
            header.add("error");
            header.add("threshold"); // last, so the earlier columns keep their places; empty: the most probable class wins
            b.append(Csv.record(header));
            for (Row r : rows) {
                List<String> fields = new ArrayList<>(List.of(r.file(), r.predicted() == null ? "" : r.predicted()));
                for (int k = 0; k < classes.size(); k++) {
                    fields.add(r.probabilities() == null ? "" : String.format(Locale.ROOT, "%.6f", r.probabilities()[k]));
                }
                fields.add(r.error() == null ? "" : r.error());
                fields.add(t == null ? "" : Double.toString(t));
                b.append(Csv.record(fields));
            }
            System.out.print(b);
            return;
        }
        String[] head = new String[classes.size() + 2];
        head[0] = "image";
        head[1] = "predicted";
        for (int k = 0; k < classes.size(); k++) {
            head[k + 2] = "P(" + classes.get(k) + ")";
        }
        Table table = new Table(head);
        for (Row r : rows) {
            Object[] cells = new Object[head.length];
            cells[0] = r.file();
            cells[1] = r.error() != null ? "error (below)" : r.predicted();
            for (int k = 0; k < classes.size(); k++) {
                cells[k + 2] = r.probabilities() == null ? "" : Table.num(r.probabilities()[k], 4);
            }
            table.row(cells);
        }
        System.out.print(table);
        System.out.println(PrintableText.escape(decisionLine(rule)));
    }

    /**
     * A multi-label model's output: per label its probability and its call at the label's threshold. Table: one column
     * per label, "0.8123 +" (positive) or "0.1234 -"; CSV: file, positive (labels joined by |), p_LABEL per label,
     * LABEL per label (1 positive, 0 negative), error; JSON: probabilities, positive (per label), positive_labels and
     * thresholds.
     */
    private void printMultiLabel(List<Row> rows, List<String> labels) throws Exception {
        double[] t = perLabel.thresholds();
        if (format.json) {
            List<Map<String, Object>> out = new ArrayList<>();
            Map<String, Double> thresholds = new LinkedHashMap<>();
            for (int j = 0; j < labels.size(); j++) {
                thresholds.put(labels.get(j), t[j]);
            }
            for (Row r : rows) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("file", r.file());
                if (r.error() != null) {
                    m.put("error", r.error());
                } else {
                    Map<String, Double> probs = new LinkedHashMap<>();
                    Map<String, Boolean> calls = new LinkedHashMap<>();
                    List<String> positive = new ArrayList<>();
                    for (int j = 0; j < labels.size(); j++) {
                        probs.put(labels.get(j), r.probabilities()[j]);
                        calls.put(labels.get(j), r.positives()[j]);
                        if (r.positives()[j]) {
                            positive.add(labels.get(j));
                        }
                    }
                    m.put("probabilities", probs);
                    m.put("positive", calls);
                    m.put("positive_labels", positive);
                }
                m.put("thresholds", thresholds);
                out.add(m);
            }
            System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
            return;
        }
        if (format.csv) {
            StringBuilder b = new StringBuilder();
            List<String> header = new ArrayList<>(List.of("file", "positive"));
            labels.forEach(l -> header.add("p_" + l));
            header.addAll(labels);
            header.add("error");
            b.append(Csv.record(header));
            for (Row r : rows) {
                List<String> fields = new ArrayList<>(List.of(r.file(), r.predicted() == null ? "" : r.predicted()));
                for (int j = 0; j < labels.size(); j++) {
                    fields.add(r.probabilities() == null ? "" : String.format(Locale.ROOT, "%.6f", r.probabilities()[j]));
                }
                for (int j = 0; j < labels.size(); j++) {
                    fields.add(r.positives() == null ? "" : r.positives()[j] ? "1" : "0");
                }
                fields.add(r.error() == null ? "" : r.error());
                b.append(Csv.record(fields));
            }
            System.out.print(b);
            return;
        }
        String[] head = new String[labels.size() + 1];
        head[0] = "image";
        for (int j = 0; j < labels.size(); j++) {
            head[j + 1] = "P(" + labels.get(j) + ")";
        }
        Table table = new Table(head);
        for (Row r : rows) {
            Object[] cells = new Object[head.length];
            cells[0] = r.file();
            for (int j = 0; j < labels.size(); j++) {
                cells[j + 1] = r.error() != null ? (j == 0 ? "error (below)" : "")
                        : Table.num(r.probabilities()[j], 4) + (r.positives()[j] ? " +" : " -");
            }
            table.row(cells);
        }
        System.out.print(table);
        StringBuilder line = new StringBuilder("decision: per label, positive (+) when P >= its threshold (the model file's, chosen on validation): ");
        for (int j = 0; j < labels.size(); j++) {
            line.append(j == 0 ? "" : ", ").append(labels.get(j)).append(' ').append(String.format(Locale.ROOT, "%.4f", t[j]));
        }
        System.out.println(PrintableText.escape(line.toString()));
    }
}
