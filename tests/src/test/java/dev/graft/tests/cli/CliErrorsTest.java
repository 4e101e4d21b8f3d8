package dev.graft.tests.cli;

import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.loaders.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Bad input to inspect, convert and forward: exit code 2 and one line that names the problem and the file; no stack trace. */
class CliErrorsTest {
    @TempDir
    Path tmp;

    private Object[] forward(Object... extra) {
        Object[] base = {"forward", "--weights", Cli.fixture("narrow.pth"), "--input", Cli.fixture("input.npy"),
            "--output", tmp.resolve("logits.npy"), "--device", "reference"};
        Object[] all = new Object[base.length + extra.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return all;
    }

    private Path npy(String name, HostTensor t) {
        Path p = tmp.resolve(name);
        Npy.write(p, t);
        return p;
    }

    @Test
    void missingFile() {
        Path missing = tmp.resolve("nope.pth");
        Cli.userError(Cli.args("inspect", missing), "no such file", missing.toString());
        Cli.userError(Cli.args("convert", missing, tmp.resolve("out.safetensors")), "no such file", missing.toString());
        Cli.userError(Cli.args("forward", "--weights", missing, "--input", Cli.fixture("input.npy"), "--output", tmp.resolve("l.npy")),
                "--weights", "no such file", missing.toString());
        Cli.userError(forward("--labels", tmp.resolve("y.npy")), "--labels", "no such file", "y.npy");
    }

    @Test
    void wrongFormat() throws IOException {
        Path text = tmp.resolve("notes.pth");
        Files.writeString(text, "these are not weights\n");
        Cli.userError(Cli.args("inspect", text), text.toString());
        Cli.userError(Cli.args("convert", text, tmp.resolve("out.safetensors")), text.toString());
        Cli.userError(Cli.args("forward", "--weights", text, "--input", Cli.fixture("input.npy"), "--output", tmp.resolve("l.npy")),
                "--weights", text.toString(), "unrecognized format");
        // a state dict where an array is expected, and an array where a ResNet is expected
        Cli.userError(Cli.args("forward", "--weights", Cli.fixture("narrow.pth"), "--input", Cli.fixture("narrow.pth"),
                "--output", tmp.resolve("l.npy")), "--input", "narrow.pth", "not .npy");
        Cli.userError(Cli.args("forward", "--weights", Cli.fixture("input.npy"), "--input", Cli.fixture("input.npy"),
                "--output", tmp.resolve("l.npy")), "--weights", "input.npy", "ResNet", "conv1.weight");
        Cli.userError(Cli.args("convert", Cli.fixture("narrow.pth"), tmp.resolve("out.pth")), "out.pth", "must end in .safetensors");
    }

    @Test
    void inputWithWrongChannelCountOrRankOrType() {
        Path gray = npy("gray.npy", HostTensor.of(new float[2 * 24 * 24], Shape.of(2, 1, 24, 24)));
        Cli.userError(Cli.args("forward", "--weights", Cli.fixture("narrow.pth"), "--input", gray, "--output", tmp.resolve("l.npy")),
                "--input", gray.toString(), "1 channel", "takes 3");
        Path flat = npy("flat.npy", HostTensor.of(new float[24], Shape.of(2, 12)));
        Cli.userError(Cli.args("forward", "--weights", Cli.fixture("narrow.pth"), "--input", flat, "--output", tmp.resolve("l.npy")),
                flat.toString(), "[2, 12]", "[N, C, H, W]");
        Path f64 = npy("f64.npy", HostTensor.of(new double[3 * 8 * 8], Shape.of(1, 3, 8, 8)));
        Cli.userError(Cli.args("forward", "--weights", Cli.fixture("narrow.pth"), "--input", f64, "--output", tmp.resolve("l.npy")),
                f64.toString(), "float64", "float32");
    }

    @Test
    void badLabels() {
        Path outOfRange = npy("y3.npy", HostTensor.of(new long[] {0, 1, 2, 3}, Shape.of(4)));
        Cli.userError(forward("--labels", outOfRange), outOfRange.toString(), "label 3 at index 3", "3 classes");
        Path negative = npy("yneg.npy", HostTensor.of(new long[] {0, -1, 2, 1}, Shape.of(4)));
        Cli.userError(forward("--labels", negative), negative.toString(), "label -1 at index 1");
        Path short3 = npy("yshort.npy", HostTensor.of(new long[] {0, 1, 2}, Shape.of(3)));
        Cli.userError(forward("--labels", short3), short3.toString(), "[3]", "[4]");
        Path floats = npy("yf.npy", HostTensor.of(new float[] {0, 1, 2, 1}, Shape.of(4)));
        Cli.userError(forward("--labels", floats), floats.toString(), "float32", "int64 or int32");
        Cli.userError(forward("--grads", tmp.resolve("g.safetensors")), "--grads needs --labels");
    }

    @Test
    void badClassCount() {
        Cli.userError(forward("--classes", 0), "--classes must be at least 1, got 0");
        Cli.userError(forward("--classes", -3), "--classes must be at least 1, got -3");
    }

    @Test
    void outputInMissingFolder() {
        Path out = tmp.resolve("no/such/folder/logits.npy");
        Cli.userError(Cli.args("forward", "--weights", Cli.fixture("narrow.pth"), "--input", Cli.fixture("input.npy"),
                "--output", out), "--output", out.toString(), "does not exist");
        Path grads = tmp.resolve("missing/g.safetensors");
        Cli.userError(forward("--labels", Cli.fixture("labels.npy"), "--grads", grads), "--grads", grads.toString(), "does not exist");
        Path converted = tmp.resolve("missing/n.safetensors");
        Cli.userError(Cli.args("convert", Cli.fixture("narrow.pth"), converted), converted.toString(), "does not exist");
        assertFalse(Files.exists(tmp.resolve("no")));
    }

    @Test
    void unknownArchitectureOrDevice() {
        Cli.userError(forward("--arch", "resnet19"), "--arch: unknown architecture 'resnet19'", "resnet50");
        Cli.userError(forward("--arch", "resnet18"), "narrow.pth does not fit resnet18", "missing keys", "shape mismatches",
                "conv1.weight (model [64, 3, 7, 7], file [4, 3, 7, 7])", "--arch");
        Cli.userError(Cli.args("forward", "--weights", Cli.fixture("narrow.pth"), "--input", Cli.fixture("input.npy"),
                "--output", tmp.resolve("l.npy"), "--device", "tpu"), "unknown device 'tpu'");
    }

    /** A device or a FIFO is not "no such file": it exists, and reading it may never end. */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aDeviceOrFifoIsNotARegularFile() throws Exception {
        Path zero = Path.of("/dev/zero");
        assumeTrue(Files.exists(zero), "no /dev/zero here");
        Cli.userError(Cli.args("inspect", zero), "/dev/zero is not a regular file (a character device)");
        Cli.userError(Cli.args("convert", zero, tmp.resolve("out.safetensors")), "/dev/zero is not a regular file");
        Cli.userError(Cli.args("predict", "--model", zero, zero), "--model: /dev/zero is not a regular file");

        Path fifo = tmp.resolve("pipe.safetensors");
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assumeTrue(mk.waitFor() == 0, "mkfifo is unavailable");
        Cli.userError(Cli.args("inspect", fifo), fifo + " is not a regular file (a FIFO)");

        // An image argument that is a device is that image's error, and the command does not hang reading it.
        Path model = DecisionFixtures.model(tmp.resolve("m.safetensors"), 1, Map.of());
        Path image = DecisionFixtures.images(tmp.resolve("images"), 1).get(0);
        Cli.Run r = Cli.run("predict", "--model", model, "--csv", "--device", "reference", image, zero, fifo);
        assertEquals(2, r.exitCode(), r::toString);
        List<String> lines = r.out().strip().lines().toList();
        assertEquals(4, lines.size(), r::toString);
        assertTrue(lines.get(1).startsWith(image + ",") && lines.get(1).endsWith(","), lines.get(1));
        assertTrue(lines.get(2).startsWith("/dev/zero,,,,/dev/zero is not a regular file (a character device)"), lines.get(2));
        assertTrue(lines.get(3).contains("is not a regular file (a FIFO)"), lines.get(3));
    }

    /** A plot that cannot be written names the file, not just ImageIO's "I/O error writing PNG file!". */
    @Test
    void aPlotThatCannotBeWrittenIsNamed() throws IOException {
        Path model = DecisionFixtures.model(tmp.resolve("m.safetensors"), 1, Map.of());
        Path image = DecisionFixtures.images(tmp.resolve("images"), 1).get(0);
        Path data = tmp.resolve("data");
        for (String c : DecisionFixtures.CLASSES) {
            Files.createDirectories(data.resolve(c));
            Files.copy(image, data.resolve(c).resolve("0.png"));
        }
        Path out = Files.createDirectories(tmp.resolve("eval"));
        Files.writeString(out.resolve("plots"), "a file where the plots folder should be");
        Cli.userError(Cli.args("evaluate", "--model", model, "--data", data, "--out", out, "--device", "reference", "--no-progress"),
                "cannot write the plot " + out.resolve("plots"), ".png", out.resolve("plots") + " exists and is not a folder");
    }
}
