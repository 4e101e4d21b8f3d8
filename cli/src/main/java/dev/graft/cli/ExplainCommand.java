package dev.graft.cli;

import dev.graft.engine.Grad;
import dev.graft.engine.Scope;
import dev.graft.engine.backend.Backends;
import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.FloatImage;
import dev.graft.loaders.images.ImagePipeline;
import dev.graft.models.ClassProbabilities;
import dev.graft.models.DecisionRule;
import dev.graft.models.GradCam;
import dev.graft.models.NonFiniteOutputException;
import dev.graft.models.PrintableText;
import dev.graft.models.ResNet;
import dev.graft.train.ModelFile;
import dev.graft.train.OptionChecks;
import dev.graft.train.OptionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code graft explain}: a class activation map (Grad-CAM or Grad-CAM++ on the last convolutional stage, layer4)
 * per image, drawn over the image the model saw, as PNG. The class explained is {@code --class}, or the model file's
 * decision for the image (as {@code graft predict} makes it). An image that cannot be used is reported and the others
 * are still explained; the exit code is then 2.
 */
@Command(name = "explain", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Write a Grad-CAM heat map over each image (PNG, with a colour bar and a caption): where the model "
                + "looked for a class. Folders are searched recursively.")
final class ExplainCommand implements Callable<Integer> {
    static final List<String> METHODS = List.of("gradcam", "gradcam++");

    @Option(names = "--model", required = true, description = "A model file written by 'graft train'.")
    Path model;
    @Parameters(arity = "1..*", paramLabel = "IMAGE|DIR", description = "PNG, JPEG, BMP or DICOM (.dcm) files, or folders of them.")
    List<Path> inputs;
    @Option(names = "--out", required = true, description = "Folder for the pictures (created if missing): "
            + "<image name>.cam.png, keeping the sub-folders of a folder given.")
    Path out;
    @Option(names = "--class", paramLabel = "NAME", description = "Explain this class (one of the model's class names) "
            + "instead of the predicted one.")
    String className;
    @Option(names = "--method", defaultValue = "gradcam", description = "gradcam or gradcam++ (default ${DEFAULT-VALUE}).")
    String method;
    @Option(names = "--alpha", defaultValue = "0.45", description = "Weight of the heat map over the image, in [0, 1] "
            + "(default ${DEFAULT-VALUE}).")
    double alpha;
    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, reference or cuda[:N].")
    String device;
    @Option(names = "--batch-size", defaultValue = "16", description = "Images per pass, >= 1 (default ${DEFAULT-VALUE}).")
    int batchSize;
    @Mixin
    ImageOptions imageOptions;

    @Override
    public Integer call() {
        OptionChecks.batchSize("--batch-size", batchSize);
        OptionChecks.between("--alpha", alpha, 0.0, 1.0, "the heat map's weight in the blend");
        GradCam.Method m = GradCam.Method.parse(OptionChecks.oneOf("--method", method, METHODS));
        ModelFile mf = ModelFile.read(FileChecks.input("--model", model));
        int forced = className == null ? -1 : classIndex("--class", className, mf.classes());
        Path folder = CamOutputs.folder("--out", out);
        List<CamOutputs.Item> items = CamOutputs.plan(inputs, folder);
        var sel = Backends.resolve(device);
        ImagePipeline pipeline = new ImagePipeline(mf.preprocessing().evaluation(), imageOptions.decoding(),
                w -> System.err.println("warning: " + PrintableText.escape(w)));
        int written = 0;
        int failed = 0;
        try (ResNet net = mf.build(sel.device())) {
            net.eval();
            CamWriter writer = new CamWriter(net, m, mf.classes(), mf.preprocessing(), alpha, mf.temperature());
            List<CamOutputs.Item> pending = new ArrayList<>();
            List<FloatImage> loaded = new ArrayList<>();
            for (int i = 0; i < items.size(); i++) {
                CamOutputs.Item item = items.get(i);
                if (item.problem() != null) {
                    failed += report(item, item.problem());
                } else {
                    try {
                        loaded.add(pipeline.load(item.source(), null));
                        pending.add(item);
                    } catch (DatasetException e) {
                        failed += report(item, e.getMessage());
                    }
                }
                if (pending.size() == batchSize || (i == items.size() - 1 && !pending.isEmpty())) {
                    int[] done = explainBatch(net, mf.decision(), mf.temperature(), writer, forced, pending, loaded);
                    written += done[0];
                    failed += done[1];
                    pending.clear();
                    loaded.clear();
                }
            }
        }
        System.out.println("wrote " + written + " picture" + (written == 1 ? "" : "s") + " to " + folder
                + (failed > 0 ? "; " + failed + " image" + (failed == 1 ? "" : "s") + " failed" : ""));
        return failed == 0 ? 0 : ErrorHandler.USER_ERROR;
    }

    /** Decides each image, explains the batch, writes the pictures; returns {written, failed}. */
    private static int[] explainBatch(ResNet net, DecisionRule rule, double temperature, CamWriter writer, int forced,
                                      List<CamOutputs.Item> items, List<FloatImage> imgs) {
        int n = items.size();
        int[] decided = new int[n];
        boolean[] usable = new boolean[n];
        int failed = 0;
        try (Scope s = Scope.open("explain"); Grad.Mode off = Grad.off()) {
            float[] logits = net.forward(CamWriter.batch(net, imgs)).toFloatArray();
            int c = net.config().numClasses();
            for (int i = 0; i < n; i++) {
                try {
                    decided[i] = rule.decide(ClassProbabilities.softmax(logits, i * c, c, temperature, items.get(i).source().toString()));
                    usable[i] = true;
                } catch (NonFiniteOutputException e) {
                    failed += report(items.get(i), e.getMessage());
                }
            }
        }
        List<FloatImage> keep = new ArrayList<>();
        List<CamOutputs.Item> kept = new ArrayList<>();
        List<Integer> keptDecided = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (usable[i]) {
                keep.add(imgs.get(i));
                kept.add(items.get(i));
                keptDecided.add(decided[i]);
            }
        }
        if (keep.isEmpty()) {
            return new int[] {0, failed};
        }
        int[] dec = keptDecided.stream().mapToInt(Integer::intValue).toArray();
        int[] explain = dec.clone();
        if (forced >= 0) {
            java.util.Arrays.fill(explain, forced);
        }
        String[] problems = writer.write(keep, explain, dec, kept.stream().map(it -> it.source().toString()).toList(),
                kept.stream().map(CamOutputs.Item::output).toList());
        int written = 0;
        for (int i = 0; i < kept.size(); i++) {
            if (problems[i] != null) {
                failed += report(kept.get(i), problems[i]);
            } else {
                written++;
                System.out.println(PrintableText.escape(kept.get(i).source() + " -> " + kept.get(i).output()));
            }
        }
        return new int[] {written, failed};
    }

    private static int report(CamOutputs.Item item, String problem) {
        System.err.println("error: " + PrintableText.escape(item.source() + ": " + problem));
        return 1;
    }

    /** The index of class {@code name} in the model's classes, or an {@link OptionException} listing them. */
    static int classIndex(String option, String name, List<String> classes) {
        int k = classes.indexOf(name);
        if (k < 0) {
            throw new OptionException(option + " '" + name + "' is not one of the model's classes " + classes);
        }
        return k;
    }
}
