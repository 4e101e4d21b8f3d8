package dev.graft.tests.cli;

import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.loaders.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertFalse;

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
}
