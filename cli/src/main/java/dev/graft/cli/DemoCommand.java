package dev.graft.cli;

import dev.graft.demo.Demo;
import dev.graft.train.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code graft demo}: transfer learning against random initialisation on data shipped in the repository. */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Show what transfer learning buys: a pretrained network against the same one from random weights.",
            "Fine-tunes a small ResNet pretrained on eight Fashion-MNIST classes to tell apart two held-out ones (T-shirt/top vs "
                + "Shirt, 120 labelled images, 3:1), and trains the same network from random weights on the same images; "
                + "evaluates both on 1,000 test images and prints them side by side. Data: demo/fashion in the repository."})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--data", description = "The demo folder (default: demo/fashion in the Graft checkout).")
    Path data;
    @Option(names = "--out", defaultValue = "demo-out", description = "Where reports, models and plots go (default ${DEFAULT-VALUE}); "
            + "its transfer/ and random-init/ sub-folders are replaced.")
    Path out;
    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, reference or cuda[:N].")
    String device;
    @Option(names = "--seed", defaultValue = "1", description = "Seed of both arms: the training order, the new head's "
            + "initialisation and the bootstrap intervals (default ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--no-progress", description = "No progress bars.")
    boolean noProgress;
    @Option(names = "--precision", defaultValue = "fp32", description = "fp32 or bf16: the arithmetic both arms train in "
            + "(as graft train --precision; evaluation is fp32) (default ${DEFAULT-VALUE}).")
    String precision;
    @Option(names = "--study", description = "Run the small initialization study instead: the demo's ResNet and a narrow "
            + "CBR-Tiny x random / pretrained / stats init x 3 seeds, then the seed papers' mean +- std table and the paired "
            + "t-test of pretrained vs random (output in --out, default demo-study; finished runs are skipped when run again).")
    boolean study;
    @Option(names = "--remake", description = "Rebuild the shipped demo data and pretrained network from Debian's dataset-fashion-mnist "
            + "(apt-get install dataset-fashion-mnist) instead of running the demo.")
    boolean remake;
    @Option(names = "--fashion-mnist", defaultValue = "/usr/share/datasets/fashion-mnist", description = "IDX files for --remake.")
    Path fashionMnist;

    @Override
    public Integer call() {
        Path dir = data != null ? data : Demo.defaultDataDir();
        boolean progress = Progress.wanted(noProgress);
        if (study) {
            dev.graft.demo.DemoStudy.run(dir, out != null && !out.equals(Path.of("demo-out")) ? out : Path.of("demo-study"), device,
                    GraftCli::execute, System.out);
        } else if (remake) {
            Demo.remake(fashionMnist, dir, device, progress);
        } else {
            Demo.run(dir, out, device, seed, progress, precision);
        }
        return 0;
    }
}
