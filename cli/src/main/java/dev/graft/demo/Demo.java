package dev.graft.demo;

import dev.graft.engine.backend.Backends;
import dev.graft.loaders.images.DataLoader;
import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.ImageFolder;
import dev.graft.loaders.images.Sampling;
import dev.graft.models.ResNet;
import dev.graft.train.Bootstrap;
import dev.graft.train.HtmlReport;
import dev.graft.train.Uncertainty;
import dev.graft.train.Metrics;
import dev.graft.train.ModelFile;
import dev.graft.train.Plots;
import dev.graft.train.Predictions;
import dev.graft.train.Progress;
import dev.graft.train.Report;
import dev.graft.train.Roc;
import dev.graft.train.TrainConfig;
import dev.graft.train.Trainer;
import dev.graft.train.TrainingException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The demo: the same small network trained twice on the same 120 labelled images, once from weights
 * pretrained on other classes (freeze, train the head, fine-tune) and once from random initialisation
 * (Raghu et al., "Transfusion: Understanding Transfer Learning for Medical Imaging", NeurIPS 2019, compare
 * exactly these two), then both evaluated on 1,000 held-out test images.
 */
public final class Demo {
    private Demo() {
    }

    /** {@code demo/fashion} in the checkout the launcher runs from ({@code graft.home}), else under the working directory. */
    public static Path defaultDataDir() {
        String home = System.getProperty("graft.home");
        return (home != null ? Path.of(home) : Path.of("")).resolve("demo").resolve("fashion");
    }

    /** One trained arm of the comparison, evaluated on the test set. */
    record Arm(String name, Path runDir, Metrics test, Roc roc, double seconds, int bestEpoch) {
    }

    public static void run(Path dataDir, Path out, String device, long seed, boolean progress) {
        run(dataDir, out, device, seed, progress, "fp32");
    }

    /** The demo with both arms training in {@code precision} (a --precision name: fp32 or bf16); evaluation is fp32. */
    public static void run(Path dataDir, Path out, String device, long seed, boolean progress, String precision) {
        Path weights = dataDir.resolve("pretrained.safetensors");
        for (Path p : List.of(weights, dataDir.resolve("task/train"), dataDir.resolve("task/val"), dataDir.resolve("task/test"))) {
            if (!Files.exists(p)) {
                throw new DatasetException("demo data missing: " + p + " (run from the Graft checkout, pass --data DIR, or "
                        + "rebuild it with 'graft demo --remake')");
            }
        }
        long t0 = System.nanoTime();
        System.out.println("Graft demo: transfer learning vs random initialisation on held-out Fashion-MNIST classes");
        System.out.println("  task: " + DemoRecipe.TASK_NAMES[0] + " vs " + DemoRecipe.TASK_NAMES[1] + ", "
                + (DemoRecipe.TASK_TRAIN[0] + DemoRecipe.TASK_TRAIN[1]) + " training images (" + DemoRecipe.TASK_TRAIN[0] + ":"
                + DemoRecipe.TASK_TRAIN[1] + "), " + (DemoRecipe.TASK_VAL[0] + DemoRecipe.TASK_VAL[1]) + " validation, "
                + (DemoRecipe.TASK_TEST[0] + DemoRecipe.TASK_TEST[1]) + " test; pretrained network saw only the other 8 classes");
        TrainConfig transferCfg = config(dataDir, out.resolve("transfer"), weights.toString(), null, device, seed).withPrecision(precision);
        if (!transferCfg.precision().equals("fp32")) {
            System.out.println("  training precision: " + transferCfg.precision());
        }
        Arm transfer = arm("transfer", transferCfg, dataDir, progress);
        Arm scratch = arm("random init", config(dataDir, out.resolve("random-init"), null, DemoRecipe.ARCH, device, seed)
                .withPrecision(precision), dataDir, progress);
        double total = (System.nanoTime() - t0) / 1e9;
        report(out, transfer, scratch, total);
    }

    private static TrainConfig config(Path dataDir, Path runDir, String weights, String arch, String device, long seed) {
        deleteRun(runDir);
        int size = DemoRecipe.IMAGE_SIZE;
        return new TrainConfig(dataDir.resolve("task/train").toString(), dataDir.resolve("task/val").toString(), 0.2, arch, weights,
                runDir.toString(), size, size, DemoRecipe.BATCH, DemoRecipe.HEAD_EPOCHS, DemoRecipe.FINETUNE_EPOCHS, 2e-3,
                DemoRecipe.LR_MULT, "adamw", 0.9, 0.01, false, "onecycle", 0, "none", 0, 0, "hold", null, "none", "shuffle", seed,
                Runtime.getRuntime().availableProcessors(), device, "auc", "youden", DemoRecipe.POSITIVE, false, null, false);
    }

    private static Arm arm(String name, TrainConfig cfg, Path dataDir, boolean progress) {
        System.out.println();
        System.out.println("== " + name + (cfg.weights() != null ? " (freeze, train the head, fine-tune)" : " (every layer from random weights)"));
        long t0 = System.nanoTime();
        Trainer.Result r = Trainer.train(cfg, new Trainer.Options(progress, System.out, w -> Progress.printLine("warning: " + w), 0));
        double seconds = (System.nanoTime() - t0) / 1e9;
        Path best = r.runDir().resolve("best.safetensors");
        ModelFile mf = ModelFile.read(best);
        ImageFolder test = ImageFolder.scan(dataDir.resolve("task/test"));
        int threads = Runtime.getRuntime().availableProcessors();
        try (ResNet net = mf.build(Backends.resolve(cfg.device()).device());
             DataLoader loader = new DataLoader(test.samples(), mf.classes().size(), mf.preprocessing().evaluation(),
                     new DataLoader.Options(64, Sampling.Order.SEQUENTIAL, 0, threads, threads + 1, false, true), w -> { })) {
            Predictions p = Predictions.of(net, loader, net.config().inChannels(), mf.temperature(), Progress.start("test " + name, test.samples().size(), progress));
            // Test figures with 95% intervals (stratified bootstrap, 1000 resamples): 1000 images still leave a few points of AUC open.
            Metrics m = Metrics.compute(p.probabilities(), p.labels(), mf.decision(), Bootstrap.DEFAULT_RESAMPLES, cfg.seed());
            try {
                Report.writePlotsFor(r.runDir().resolve("test-plots"), m, "test set");
            } catch (IOException e) {
                throw new TrainingException("cannot write plots: " + e.getMessage(), e);
            }
            return new Arm(name, r.runDir(), m, m.binary().roc(), seconds, r.report().bestEpoch());
        }
    }

    private static void report(Path out, Arm a, Arm b, double total) {
        String[][] rows = {
            {"test ROC AUC", withInterval(a.test(), "roc_auc"), withInterval(b.test(), "roc_auc")},
            {"test accuracy (argmax)", pct(a.test().argmaxAccuracy()), pct(b.test().argmaxAccuracy())},
            {"test accuracy at the threshold", pct(a.test().accuracy()), pct(b.test().accuracy())},
            {"test balanced accuracy at the threshold", pct(a.test().balancedAccuracy()), pct(b.test().balancedAccuracy())},
            {"sensitivity (" + DemoRecipe.POSITIVE + ")", pct(a.test().binary().sensitivity()), pct(b.test().binary().sensitivity())},
            {"specificity", pct(a.test().binary().specificity()), pct(b.test().binary().specificity())},
            {"PPV", pct(a.test().binary().ppv()), pct(b.test().binary().ppv())},
            {"NPV", pct(a.test().binary().npv()), pct(b.test().binary().npv())},
            {"threshold (chosen on validation)", num(a.test().binary().threshold()), num(b.test().binary().threshold())},
            {"best epoch (validation AUC)", Integer.toString(a.bestEpoch()), Integer.toString(b.bestEpoch())},
            {"training time", String.format(Locale.ROOT, "%.1f s", a.seconds()), String.format(Locale.ROOT, "%.1f s", b.seconds())},
        };
        dev.graft.cli.Table t = new dev.graft.cli.Table("", a.name(), b.name());
        for (String[] r : rows) {
            t.row((Object[]) r);
        }
        System.out.println();
        System.out.println("Results on " + a.test().count() + " test images never used for training or model selection:");
        System.out.print(t);
        double gain = a.test().macroAucOneVsRest() - b.test().macroAucOneVsRest();
        System.out.printf(Locale.ROOT, "transfer %s test ROC AUC by %.3f ([lo, hi]: 95%% bootstrap intervals of each arm alone)%n",
                gain >= 0 ? "raises" : "lowers", Math.abs(gain));
        try {
            Map<String, Roc> curves = new LinkedHashMap<>();
            curves.put(a.name(), a.roc());
            curves.put(b.name(), b.roc());
            Plots.rocCurves(out.resolve("roc-comparison.png"), "Test ROC: transfer vs random init", curves);
            StringBuilder md = new StringBuilder("# Graft demo: transfer learning vs random initialisation\n\n");
            md.append("Fashion-MNIST (Zalando SE, MIT licence), held-out classes ").append(DemoRecipe.TASK_NAMES[0]).append(" vs ")
                    .append(DemoRecipe.TASK_NAMES[1]).append(". Both arms train the same narrow ResNet-10 on the same images; ")
                    .append("the transfer arm starts from weights pretrained on the other eight classes.\n\n");
            md.append("| | ").append(a.name()).append(" | ").append(b.name()).append(" |\n|---|---|---|\n");
            for (String[] r : rows) {
                md.append("| ").append(r[0]).append(" | ").append(r[1]).append(" | ").append(r[2]).append(" |\n");
            }
            md.append(String.format(Locale.ROOT, "%nTotal demo time: %.1f s. Plots: roc-comparison.png, transfer/plots, random-init/plots, "
                    + "*/test-plots.%n", total));
            Files.writeString(out.resolve("report.md"), md);
            HtmlReport html = new HtmlReport("Graft demo: transfer learning vs random initialisation");
            html.paragraph("Fashion-MNIST (Zalando SE, MIT licence), held-out classes " + DemoRecipe.TASK_NAMES[0] + " vs "
                    + DemoRecipe.TASK_NAMES[1] + ". Both arms train the same narrow ResNet-10 on the same images; the transfer arm "
                    + "starts from weights pretrained on the other eight classes. Figures on " + a.test().count() + " test images.");
            List<List<String>> table = new java.util.ArrayList<>();
            for (String[] r : rows) {
                table.add(List.of(r));
            }
            html.table(List.of("", a.name(), b.name()), table).image(out.resolve("roc-comparison.png"), "ROC comparison");
            for (Arm arm : List.of(a, b)) {
                html.heading(arm.name() + " on the test set").metrics(arm.test())
                        .image(arm.runDir().resolve("test-plots/roc.png"), arm.name() + " ROC")
                        .image(arm.runDir().resolve("test-plots/confusion.png"), arm.name() + " confusion matrix")
                        .image(arm.runDir().resolve("test-plots/reliability.png"), arm.name() + " reliability diagram")
                        .paragraph("Training report: " + out.relativize(arm.runDir().resolve("report.html")));
            }
            html.write(out.resolve("report.html"));
            Map<String, Object> json = new LinkedHashMap<>();
            json.put(a.name(), a.test().toMap());
            json.put(b.name(), b.test().toMap());
            json.put("seconds", total);
            Report.writeJson(out.resolve("report.json"), json);
        } catch (IOException e) {
            throw new TrainingException("cannot write the demo report to " + out + ": " + e.getMessage(), e);
        }
        System.out.printf(Locale.ROOT, "wrote %s (report.html, report.md, report.json, roc-comparison.png, models and plots) in %.1f s%n", out, total);
    }

    /** "0.866 [0.843, 0.888]": the figure and its bootstrap 95% interval (the figure alone where there is none). */
    private static String withInterval(Metrics m, String figure) {
        Uncertainty.Interval i = m.uncertainty() == null ? null : m.uncertainty().bootstrap().get(figure);
        return i == null || Double.isNaN(i.lower()) ? num(i == null ? m.macroAucOneVsRest() : i.value())
                : num(i.value()) + " [" + num(i.lower()) + ", " + num(i.upper()) + "]";
    }

    private static String pct(double v) {
        return dev.graft.cli.Table.pct(v);
    }

    private static String num(double v) {
        return dev.graft.cli.Table.num(v, 3);
    }

    /** Removes an earlier demo run folder (only the demo's own sub-folders are ever passed here). */
    static void deleteRun(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new TrainingException("cannot clear the earlier demo output " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Rebuilds demo/fashion: the task images, and the network pretrained on the other eight classes. */
    public static void remake(Path fashionMnist, Path dataDir, String device, boolean progress) {
        FashionMnist train = FashionMnist.read(fashionMnist, "train");
        FashionMnist test = FashionMnist.read(fashionMnist, "t10k");
        deleteRun(dataDir.resolve("task"));
        int[] none = {0, 0};
        DemoData.export(train, DemoRecipe.TASK_CLASSES, DemoRecipe.TASK_NAMES, none, DemoRecipe.TASK_TRAIN, dataDir.resolve("task/train"), 21);
        DemoData.export(train, DemoRecipe.TASK_CLASSES, DemoRecipe.TASK_NAMES, DemoRecipe.TASK_TRAIN, DemoRecipe.TASK_VAL,
                dataDir.resolve("task/val"), 21);
        DemoData.export(test, DemoRecipe.TASK_CLASSES, DemoRecipe.TASK_NAMES, none, DemoRecipe.TASK_TEST, dataDir.resolve("task/test"), 22);
        DemoLabels.write(dataDir); // the CheXpert-shaped label CSVs over the new images
        pretrain(train, DemoRecipe.ARCH, dataDir.resolve("pretrained.safetensors"), device, progress);
        pretrain(train, DemoStudy.CBR_NARROW.replace("classes=2", "classes=" + DemoRecipe.PRETRAIN_CLASSES.length),
                dataDir.resolve(DemoStudy.CBR_WEIGHTS), device, progress);
    }

    /**
     * Trains {@code arch} on the eight pretraining classes with one recipe (the ResNet's and, for {@code demo --study},
     * the narrow CBR-Tiny's) and copies its best model to {@code target}.
     */
    static void pretrain(FashionMnist train, String arch, Path target, String device, boolean progress) {
        Path work;
        try {
            work = Files.createTempDirectory("graft-pretrain");
        } catch (IOException e) {
            throw new TrainingException("cannot create a temporary folder: " + e.getMessage(), e);
        }
        int k = DemoRecipe.PRETRAIN_CLASSES.length;
        String[] names = new String[k];
        int[] skip = new int[k];
        int[] perClass = new int[k];
        int[] val = new int[k];
        for (int i = 0; i < k; i++) {
            names[i] = FashionMnist.CLASSES.get(DemoRecipe.PRETRAIN_CLASSES[i]);
            skip[i] = DemoRecipe.PRETRAIN_PER_CLASS;
            perClass[i] = DemoRecipe.PRETRAIN_PER_CLASS;
            val[i] = DemoRecipe.PRETRAIN_VAL_PER_CLASS;
        }
        DemoData.export(train, DemoRecipe.PRETRAIN_CLASSES, names, new int[k], perClass, work.resolve("train"), 11);
        DemoData.export(train, DemoRecipe.PRETRAIN_CLASSES, names, skip, val, work.resolve("val"), 11);
        TrainConfig cfg = new TrainConfig(work.resolve("train").toString(), work.resolve("val").toString(), 0.2, arch, null,
                work.resolve("run").toString(), DemoRecipe.IMAGE_SIZE, DemoRecipe.IMAGE_SIZE, 64, 4, 4, 2e-3, 100, "adamw", 0.9, 0.01, false,
                "onecycle", 0, "none", 0, 0, "hold", null, "crop=0.8,flip=0.5", "shuffle", 0, Runtime.getRuntime().availableProcessors(),
                device, "loss", "youden", null, true, null, false);
        Trainer.Result r = Trainer.train(cfg, new Trainer.Options(progress, System.out, w -> Progress.printLine("warning: " + w), 0));
        try {
            Files.copy(r.runDir().resolve("best.safetensors"), target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            System.out.printf(Locale.ROOT, "wrote %s (validation accuracy on the 8 pretraining classes: %.1f%%)%n",
                    target, 100 * r.report().validation().accuracy());
        } catch (IOException e) {
            throw new TrainingException("cannot write " + target + ": " + e.getMessage(), e);
        } finally {
            deleteRun(work);
        }
    }
}
