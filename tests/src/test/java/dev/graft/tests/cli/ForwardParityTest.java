package dev.graft.tests.cli;

import dev.graft.engine.Device;
import dev.graft.engine.HostTensor;
import dev.graft.engine.StateDict;
import dev.graft.engine.backend.Backends;
import dev.graft.loaders.Npy;
import dev.graft.loaders.SafeTensors;
import dev.graft.loaders.StateDicts;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code graft forward} against torchvision on a committed narrow ResNet (make_cli_fixtures.py: torchvision's
 * BasicBlock, layers [2,1,1,1], stem 4, planes 4/4/8/8, 3 classes, batch 4 of 24x24), on every available backend.
 *
 * <p>Each tensor's deviation is max |graft - torch| / max |torch| over that tensor; each run prints its figures.
 * A gradient ends a chain twice as long (the forward pass, then backward through every layer), and train mode
 * deviates more than eval mode: batch norm divides by standard deviations of as few as 4 values (layer4 is 1x1
 * here), which amplifies the float32 rounding differences between torch's summation order and the backend's
 * (reference accumulates in double; oneDNN blocks its reductions, differently for each thread count). So each mode
 * has its own bounds, about 10x the largest deviation measured on an AMD EPYC with the reference backend and the
 * cpu backend (oneDNN 3.11, avx512_core_bf16) at 1, 2, 3, 4, 8 and 16 threads, and with
 * {@code ONEDNN_MAX_CPU_ISA=AVX2} (the same figures as avx512 here):
 *
 * <pre>
 *                eval logits  loss    gradients   train logits   loss            gradients
 *   reference    7.9e-7       9.8e-8  1.8e-6      3.7e-6         5.1e-7          6.0e-6
 *   cpu          1.0e-6 (*)   2.4e-9  1.0-1.3e-6  1.4e-6-3.8e-6  8.6e-8-4.3e-7   7.9e-6-1.4e-5 (1 thread)
 *   bound        1e-5         1e-6    2e-5        4e-5           5e-6            1.5e-4
 *   factor       9.7x         10x     11x         10x            9.8x            11x
 * </pre>
 *
 * (*) the folded inference plan, which runs when nothing is recorded (no {@code --grads}: the wrapped checkpoint);
 * the plain eval pass deviates 2.4e-7. The cuda backend was not measured (no GPU was at hand then) and keeps the
 * bounds all backends had before: 1e-4 for logits and loss, 2e-4 for gradients.
 */
class ForwardParityTest {
    /** Bounds on one tensor's deviation, for one mode. */
    record Bounds(double logits, double loss, double gradients) {
    }

    static final Bounds EVAL = new Bounds(1e-5, 1e-6, 2e-5);
    static final Bounds TRAIN = new Bounds(4e-5, 5e-6, 1.5e-4);
    /** cuda, not yet measured: the earlier bounds, for both modes. */
    static final Bounds UNMEASURED = new Bounds(1e-4, 1e-4, 2e-4);
    private static final Pattern LOSS_LINE = Pattern.compile("(?m)^loss: (\\S+) ");

    static StateDict expected;

    @TempDir
    Path tmp;

    @BeforeAll
    static void readExpected() {
        expected = StateDicts.read(Cli.fixture("expected.pth"));
    }

    static Bounds bounds(String device, String mode) {
        if (device.equals("cuda")) {
            return UNMEASURED;
        }
        return mode.equals("train") ? TRAIN : EVAL;
    }

    static List<String> devices() {
        List<String> out = new ArrayList<>();
        for (Device.Kind k : Device.Kind.values()) {
            if (Backends.availability(k).available()) {
                out.add(k.name().toLowerCase(Locale.ROOT));
            }
        }
        return out;
    }

    @Test
    void oneDnnIsPresentHere() {
        // The issue asks for reference and cpu; make a silently skipped cpu run visible.
        assertTrue(devices().contains("cpu"), "oneDNN backend unavailable: " + Backends.availability(Device.Kind.CPU).detail());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void evalAndTrainModeMatchTorchvision(String device) {
        List<String> report = new ArrayList<>();
        for (String mode : new String[] {"eval", "train"}) {
            Path logits = tmp.resolve(mode + "-logits.npy");
            Path grads = tmp.resolve(mode + "-grads.safetensors");
            // int64 labels in eval mode, int32 in train mode: both are accepted
            List<Object> args = new ArrayList<>(List.of("forward", "--weights", Cli.fixture("narrow.pth"),
                    "--input", Cli.fixture("input.npy"), "--output", logits, "--grads", grads, "--device", device,
                    "--labels", Cli.fixture(mode.equals("eval") ? "labels.npy" : "labels_i32.npy")));
            if (mode.equals("train")) {
                args.add("--train-mode");
            }
            Cli.Run r = Cli.ok(args.toArray());
            assertTrue(r.out().contains(mode + " mode"), r.out());
            Bounds bounds = bounds(device, mode);

            double logitDev = deviation(expected.get("logits_" + mode), Npy.read(logits));
            assertTrue(logitDev <= bounds.logits(), mode + " logits deviate " + logitDev);

            double torchLoss = expected.get("loss_" + mode).toFloats()[0];
            Matcher m = LOSS_LINE.matcher(r.out());
            assertTrue(m.find(), r.out());
            double printed = Double.parseDouble(m.group(1));
            StateDict g = SafeTensors.read(grads);
            double stored = Double.parseDouble(g.metadata().get("graft.loss"));
            assertEquals(mode, g.metadata().get("graft.mode"));
            double lossDev = Math.max(Math.abs(printed - torchLoss), Math.abs(stored - torchLoss)) / Math.abs(torchLoss);
            assertTrue(lossDev <= bounds.loss(), mode + " loss " + printed + " vs torch " + torchLoss);

            String prefix = "grad_" + mode + "/";
            List<String> torchNames = expected.keys().stream().filter(k -> k.startsWith(prefix))
                    .map(k -> k.substring(prefix.length())).toList();
            assertEquals(torchNames, List.copyOf(g.keys()), "gradient names and order equal named_parameters()");
            double worst = 0;
            String worstName = "";
            for (String name : torchNames) {
                double d = deviation(expected.get(prefix + name), g.get(name));
                if (d > worst) {
                    worst = d;
                    worstName = name;
                }
            }
            assertTrue(worst <= bounds.gradients(), mode + " gradient " + worstName + " deviates " + worst);
            report.add(String.format(Locale.ROOT, "%s: logits %.2e, loss %.2e, gradients %.2e (%s)", mode, logitDev, lossDev, worst, worstName));
        }
        System.out.println("forward parity on " + device + ": " + String.join("; ", report));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void wrappedLegacyCheckpointGivesTheSameLogits(String device) {
        Path logits = tmp.resolve("logits.npy");
        Cli.Run r = Cli.ok("forward", "--weights", Cli.fixture("narrow_wrapped_legacy.pth"), "--input", Cli.fixture("input.npy"),
                "--output", logits, "--device", device);
        assertFalse(r.out().contains("loss"), r.out());
        double dev = deviation(expected.get("logits_eval"), Npy.read(logits));
        System.out.printf("wrapped checkpoint on %s (folded plan): eval logits %.2e%n", device, dev);
        assertTrue(dev <= bounds(device, "eval").logits(), "eval logits deviate " + dev);
    }

    @Test
    void newHeadForOtherClassCountIsSeededAndTrainable() {
        Path a = tmp.resolve("a.npy");
        Path b = tmp.resolve("b.npy");
        Path grads = tmp.resolve("g.safetensors");
        Path labels = tmp.resolve("labels5.npy");
        Npy.write(labels, HostTensor.of(new long[] {4, 0, 3, 1}, dev.graft.engine.Shape.of(4)));
        Cli.Run r = Cli.ok("forward", "--weights", Cli.fixture("narrow.pth"), "--input", Cli.fixture("input.npy"),
                "--classes", 5, "--seed", 11, "--output", a, "--labels", labels, "--grads", grads, "--device", "reference");
        assertTrue(r.out().contains("3 -> 5 classes"), r.out());
        Cli.ok("forward", "--weights", Cli.fixture("narrow.pth"), "--input", Cli.fixture("input.npy"),
                "--classes", 5, "--seed", 11, "--output", b, "--device", "reference");
        HostTensor la = Npy.read(a);
        assertArrayEquals(new int[] {4, 5}, la.shape().dims());
        // The first run records a graph for --grads and so runs the plain eval pass; the second records nothing and
        // runs the folded InferencePlan (batch norm folded into the weights), which rounds differently: 1e-6 of
        // the largest logit covers float rounding (measured 1.4e-7 relative on the reference backend, 7x inside).
        double plainVsFolded = deviation(la, Npy.read(b));
        System.out.printf("new head, plain vs folded eval pass: %.2e%n", plainVsFolded);
        assertTrue(plainVsFolded <= 1e-6, "same seed, same head: " + plainVsFolded);
        StateDict g = SafeTensors.read(grads);
        assertArrayEquals(new int[] {5, 8}, g.get("fc.weight").shape().dims());
        assertEquals(expected.keys().stream().filter(k -> k.startsWith("grad_eval/")).count(), g.size());

        // the file's own class count keeps the loaded head
        Cli.ok("forward", "--weights", Cli.fixture("narrow.pth"), "--input", Cli.fixture("input.npy"), "--classes", 3,
                "--output", a, "--device", "reference");
        assertTrue(deviation(expected.get("logits_eval"), Npy.read(a)) <= EVAL.logits());
    }

    /** max |actual - expected| / max |expected|. */
    static double deviation(HostTensor expected, HostTensor actual) {
        assertEquals(expected.shape(), actual.shape());
        float[] e = expected.toFloats();
        float[] a = actual.toFloats();
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < e.length; i++) {
            double d = Math.abs((double) e[i] - a[i]);
            diff = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(diff, d);
            scale = Math.max(scale, Math.abs(e[i]));
        }
        return scale == 0 ? (diff == 0 ? 0 : Double.POSITIVE_INFINITY) : diff / scale;
    }
}
