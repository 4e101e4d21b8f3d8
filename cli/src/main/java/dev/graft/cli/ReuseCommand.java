package dev.graft.cli;

import dev.graft.engine.StateDict;
import dev.graft.engine.backend.Backends;
import dev.graft.loaders.StateDicts;
import dev.graft.loaders.images.DatasetException;
import dev.graft.models.KeyPrefixes;
import dev.graft.models.PrintableText;
import dev.graft.reuse.ReuseAnalysis;
import dev.graft.reuse.ReuseData;
import dev.graft.reuse.ReuseReport;
import dev.graft.train.ModelFile;
import dev.graft.train.OptionChecks;
import dev.graft.train.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code graft reuse}: how much of the initial model's features the fine-tuned model reuses, layer by layer (docs/reuse.md). */
@Command(name = "reuse", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Feature reuse between an initial model and the model fine-tuned from it, per layer: linear CKA, relative weight "
                + "distance, re-initialisation robustness and k-NN accuracy; table on the terminal, reuse.json, reuse.csv and plots/ on disk.")
final class ReuseCommand implements Callable<Integer> {
    @Option(names = "--before", required = true, description = "The initial model M0: weights (.pth, .safetensors) or a Graft model file.")
    Path before;
    @Option(names = "--after", required = true, description = "The fine-tuned model M1: a model file written by 'graft train'.")
    Path after;
    @Option(names = "--data", required = true, description = "Labelled images, class folders as M1's: DIR/{train,val,test}/CLASS/* "
            + "(bank: train/, queries: test/ else val/) or DIR/CLASS/* (queries: a seeded 20%% hold-out per class).")
    Path data;
    @Option(names = "--out", description = "Where reuse.json, reuse.csv and plots/ go (default: reuse/ next to M1).")
    Path out;
    @Option(names = "--samples", defaultValue = "256", description = "Query images in the CKA sample, 4 to 100000 (default ${DEFAULT-VALUE}).")
    int samples;
    @Option(names = "--seed", defaultValue = "0", description = "Seed of the CKA sample and of a hold-out split (default ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--cka", defaultValue = "debiased", description = "The CKA form the table shows: debiased or biased (both are "
            + "written to reuse.json; default ${DEFAULT-VALUE}).")
    String cka;
    @Option(names = "--knn-k", defaultValue = "20", description = "Neighbours that vote, 1 to 100000 (default ${DEFAULT-VALUE}).")
    int knnK;
    @Option(names = "--knn-temperature", defaultValue = "0.07", description = "Votes weigh exp(cosine / T) (default ${DEFAULT-VALUE}).")
    double knnTemperature;
    @Option(names = "--batch-size", defaultValue = "32", description = "Images per forward pass, >= 1 (default ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--workers", description = "Image decoding threads, 1 to 256 (default: cores).")
    Integer workers;
    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, reference or cuda[:N].")
    String device;
    @Option(names = "--no-progress", description = "No progress bars or stage lines on stderr.")
    boolean noProgress;

    @Override
    public Integer call() throws IOException {
        OptionChecks.between("--samples", samples, 4, 100_000, "the images in the CKA sample");
        OptionChecks.between("--knn-k", knnK, 1, 100_000, "the neighbours that vote");
        OptionChecks.positive("--knn-temperature", knnTemperature, "the k-NN temperature");
        OptionChecks.batchSize("--batch-size", batchSize);
        OptionChecks.oneOf("--cka", cka, List.of("debiased", "biased"));
        int threads = workers != null ? OptionChecks.workers("--workers", workers)
                : Math.min(OptionChecks.MAX_WORKERS, Runtime.getRuntime().availableProcessors());
        FileChecks.input("--before", before);
        ModelFile mf = ModelFile.read(FileChecks.input("--after", after));
        StateDict initial = KeyPrefixes.stripCommon(StateDicts.read(before)).state();
        ReuseData split = ReuseData.of(data, seed);
        if (!split.classes().equals(mf.classes())) {
            throw new DatasetException("the class folders of " + data + " " + split.classes() + " differ from M1's classes "
                    + mf.classes() + "; name the folders as in training");
        }
        var sel = Backends.resolve(device);
        boolean progress = !noProgress;
        ReuseAnalysis analysis = new ReuseAnalysis(
                new ReuseAnalysis.Options(samples, seed, knnK, knnTemperature, batchSize, threads, Progress.wanted(noProgress)),
                line -> {
                    if (progress) {
                        Progress.printLine(PrintableText.escape("reuse: " + line));
                    }
                });
        ReuseAnalysis.Result r = analysis.run(() -> mf.build(sel.device()), initial, "--before " + before.getFileName(),
                "--after " + after.getFileName(), split.bank(), split.queries(), split.classes().size(), mf.preprocessing().evaluation());
        Path dir = out != null ? out : after.toAbsolutePath().getParent().resolve("reuse");
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("before", before.toString());
        settings.put("after", after.toString());
        settings.put("data", data.toString());
        settings.put("split", split.description());
        settings.put("bank_images", split.bank().size());
        settings.put("query_images", split.queries().size());
        settings.put("seed", seed);
        settings.put("knn", Map.of("k", knnK, "temperature", knnTemperature, "similarity", "cosine", "vote", "sum of exp(cos / T)"));
        settings.put("device", sel.device().toString());
        ReuseReport.write(dir, r, settings);

        boolean debiased = cka.equals("debiased");
        System.out.println(PrintableText.escape("M0: " + before + "; M1: " + after + " (" + mf.describe() + ") on " + sel.device()));
        System.out.println(PrintableText.escape(split.description() + " (" + split.bank().size() + " bank, " + split.queries().size()
                + " query images); CKA (" + cka + ") on " + r.ckaSamples() + " query images"));
        System.out.println(String.format(java.util.Locale.ROOT, "M1 on the queries: accuracy %s, AUC %s",
                Table.pct(r.accuracy()), Table.num(r.auc(), 3)));
        Table t = new Table("layer", "CKA", "weight dist", "re-init acc drop", "re-init AUC drop", "k-NN M0", "k-NN M1");
        for (ReuseAnalysis.LayerResult l : r.layers()) {
            t.row(l.layer(), Table.num(debiased ? l.ckaDebiased() : l.ckaBiased(), 3), Table.num(l.weightDistance(), 4),
                    Table.pct(l.accuracyDrop()), Table.num(l.aucDrop(), 3), Table.pct(l.knnBefore()), Table.pct(l.knnAfter()));
        }
        System.out.print(t);
        if (!r.headCompared()) {
            System.out.println("the heads differ (M0's classes are not M1's): fc is left out of every measure");
        }
        if (r.grayscaleSummed()) {
            System.out.println("M0's RGB stem was summed over its input channels to match M1's one-channel stem");
        }
        System.out.println(PrintableText.escape("wrote reuse.json, reuse.csv and plots/ in " + dir));
        return 0;
    }
}
