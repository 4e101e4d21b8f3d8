package dev.graft.demo;

import dev.graft.loaders.images.DatasetException;
import dev.graft.study.StudyConfig;
import dev.graft.study.StudyReport;
import dev.graft.study.StudyRunner;
import dev.graft.train.TrainingException;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * {@code graft demo --study}: a small version of the seed papers' table on the shipped Fashion-MNIST task. Two
 * architectures (the demo's narrow ResNet-10 and a narrow CBR-Tiny, 5x5 convolutions 16-32-64-128) x three
 * initializations (random, pretrained, stats) x three seeds, each an ordinary {@code graft train} run with the demo's
 * recipe (32x32 inputs, no augmentation). Both networks were pretrained on the other eight classes by
 * {@code graft demo --remake} with one recipe ({@code pretrained.safetensors}, {@code pretrained-cbr-tiny.safetensors}).
 */
public final class DemoStudy {
    private DemoStudy() {
    }

    /** CBR-Tiny's layout (5x5 convolutions, a pool after every block) at a quarter of its widths, for 32x32 inputs. */
    static final String CBR_NARROW = "family=cbr kernel=5 channels=16,32,64,128 pools=1,1,1,1 classes=2 in_channels=3";
    /** The narrow CBR-Tiny pretrained on the eight other classes by {@code graft demo --remake}, as the ResNet is. */
    static final String CBR_WEIGHTS = "pretrained-cbr-tiny.safetensors";
    static final List<Long> SEEDS = List.of(1L, 2L, 3L);

    static StudyConfig config(Path dataDir) {
        Map<String, String> train = new LinkedHashMap<>();
        train.put("image-size", Integer.toString(DemoRecipe.IMAGE_SIZE));
        train.put("resize-size", Integer.toString(DemoRecipe.IMAGE_SIZE));
        train.put("batch-size", Integer.toString(DemoRecipe.BATCH));
        train.put("head-epochs", Integer.toString(DemoRecipe.HEAD_EPOCHS));
        train.put("finetune-epochs", Integer.toString(DemoRecipe.FINETUNE_EPOCHS));
        train.put("lr-mult", Double.toString(DemoRecipe.LR_MULT));
        train.put("augment", "none");
        train.put("monitor", "auc");
        train.put("positive-class", DemoRecipe.POSITIVE);
        return new StudyConfig(dataDir.resolve("study"), List.of(
                new StudyConfig.Architecture("resnet10_narrow", null, dataDir.resolve("pretrained.safetensors")),
                new StudyConfig.Architecture("cbr_tiny_narrow", null, dataDir.resolve(CBR_WEIGHTS))),
                List.of("random", "pretrained", "stats"),
                List.of(new StudyConfig.Dataset("fashion_tshirt_vs_shirt", dataDir.resolve("task"), null, null)),
                SEEDS, "auc", train);
    }

    /** Runs (or continues) the study in {@code out}, prints and writes its table; {@code train} runs one train command line. */
    public static void run(Path dataDir, Path out, String device, Function<String[], Integer> train, PrintStream terminal) {
        for (Path p : List.of(dataDir.resolve("pretrained.safetensors"), dataDir.resolve(CBR_WEIGHTS), dataDir.resolve("task/train"), dataDir.resolve("task/val"),
                dataDir.resolve("task/test"))) {
            if (!Files.exists(p)) {
                throw new DatasetException("demo data missing: " + p + " (run from the Graft checkout, pass --data DIR, or "
                        + "rebuild it with 'graft demo --remake')");
            }
        }
        StudyConfig cfg = config(dataDir);
        int cores = Runtime.getRuntime().availableProcessors();
        StudyRunner runner = new StudyRunner(cfg, out, 1, cores, device, train, terminal);
        terminal.println("Graft demo study: random vs pretrained vs stats (ST) init, 2 architectures x 3 seeds on "
                + DemoRecipe.TASK_NAMES[0] + " vs " + DemoRecipe.TASK_NAMES[1] + " (" + runner.cells().size() + " cells; runs in "
                + out.resolve("runs") + "; finished runs are kept and skipped when run again)");
        terminal.println("both networks were pretrained on the other eight Fashion-MNIST classes (graft demo --remake)");
        long t0 = System.nanoTime();
        List<StudyRunner.Outcome> outcomes = runner.run();
        StudyReport report = new StudyReport(cfg, outcomes);
        try {
            report.write(out);
        } catch (IOException e) {
            throw new TrainingException("cannot write the study's table to " + out + ": " + e.getMessage(), e);
        }
        terminal.println();
        terminal.print(report.markdown());
        reuseHook(out, outcomes, dataDir, device, train, terminal);
        terminal.printf(Locale.ROOT, "wrote %s (study.md, study.csv, study.json, study-%s.png) in %.1f s%n", out,
                cfg.datasets().get(0).name(), (System.nanoTime() - t0) / 1e9);
        if (outcomes.stream().anyMatch(o -> o.status().startsWith("failed"))) {
            throw new TrainingException("some demo study runs failed; their train.log under " + out.resolve("runs") + " says why");
        }
    }

    /**
     * The feature-reuse figure (issue 15 items 3-4): {@code graft reuse} between the shipped pretrained network and
     * the ResNet's pretrained run of the first seed, fine-tuned ({@code last.safetensors}: its backbone has moved; the
     * best epoch can be a head-only one, whose backbone is the pretrained one unchanged), on the task's test split.
     * The random and stats runs are not compared: Graft does not write a run's initial network to a file, which
     * {@code --before} needs. Only the failure of this step is reported; the table above stands without it.
     */
    static void reuseHook(Path out, List<StudyRunner.Outcome> outcomes, Path dataDir, String device,
                          Function<String[], Integer> cli, PrintStream terminal) {
        StudyRunner.Outcome run = outcomes.stream()
                .filter(o -> o.cell().arch().name().equals("resnet10_narrow") && o.cell().init().equals("pretrained")
                        && o.cell().seed() == SEEDS.get(0) && Double.isFinite(o.value()))
                .findFirst().orElse(null);
        Path after = run == null ? null : run.cell().dir().resolve("last.safetensors");
        if (after == null || !Files.exists(after)) {
            terminal.println("feature reuse: skipped (no finished pretrained ResNet run of seed " + SEEDS.get(0) + ")");
            return;
        }
        Path reuseOut = out.resolve("reuse");
        terminal.println();
        terminal.println("Feature reuse, resnet10_narrow pretrained seed " + SEEDS.get(0)
                + ": graft reuse --before pretrained.safetensors --after " + after);
        int rc = cli.apply(new String[] {"reuse", "--before", dataDir.resolve("pretrained.safetensors").toString(),
                "--after", after.toString(), "--data", dataDir.resolve("task").toString(), "--out", reuseOut.toString(),
                "--samples", "256", "--device", device, "--no-progress"});
        terminal.println(rc == 0 ? "CKA, weight distance, re-initialization and k-NN per layer (table above): " + reuseOut.resolve("reuse.json")
                + " and plots in " + reuseOut.resolve("plots")
                : "feature reuse failed (exit " + rc + "); the study table above is complete");
    }
}
