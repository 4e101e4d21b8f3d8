package dev.graft.tests.cli;

import dev.graft.engine.StateDict;
import dev.graft.loaders.StateDicts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code graft quantize} and {@code graft predict --precision} on the demo's shipped pretrained model. */
class QuantizeCommandTest {
    private static final Path DEMO = Path.of("..", "demo", "fashion");
    private static final Path MODEL = DEMO.resolve("pretrained.safetensors");
    private static final Path VAL = DEMO.resolve("task").resolve("val");
    private static final Path IMAGE = DEMO.resolve("task").resolve("test").resolve("shirt");

    @TempDir
    Path dir;

    @Test
    void quantizeWritesAnInt8ModelThatPredictRuns() {
        Path q = dir.resolve("q.safetensors");
        Cli.Run r = Cli.ok("quantize", "--model", MODEL, "--data", VAL, "--calibration-images", "40", "--out", q, "--device", "cpu");
        assertTrue(r.out().contains("calibrated on 40 images"), r.toString());
        StateDict sd = StateDicts.read(q);
        assertEquals("int8", sd.metadata().get("graft.precision"));
        assertEquals("40", sd.metadata().get("graft.int8.calibration_images"));
        StateDict original = StateDicts.read(MODEL);
        assertEquals(original.tensors().keySet(), sd.tensors().keySet(), "the fp32 weights are kept");
        assertEquals(original.metadata().get("graft.classes"), sd.metadata().get("graft.classes"));
        assertFalse(Files.exists(dir.resolve("q.safetensors.tmp")));

        Cli.Run p = Cli.ok("predict", "--model", q, "--device", "cpu", "--csv", IMAGE);
        assertTrue(p.err().contains("int8 inference"), p.toString());
        Cli.Run f = Cli.ok("predict", "--model", q, "--device", "cpu", "--csv", "--precision", "fp32", IMAGE);
        assertFalse(f.err().contains("int8 inference"), f.toString());

        Cli.userError(Cli.args("quantize", "--model", MODEL, "--data", VAL, "--out", q), "already exists", "--force");
        Cli.userError(Cli.args("predict", "--model", q, "--device", "cpu", "--tta", IMAGE), "--tta", "--precision fp32");
    }

    @Test
    void int8OnAnFp32ModelAndUnknownPrecisionsAreRefused() {
        Cli.userError(Cli.args("predict", "--model", MODEL, "--device", "cpu", "--precision", "int8", IMAGE),
                "run graft quantize first");
        Cli.userError(Cli.args("predict", "--model", MODEL, "--device", "cpu", "--precision", "fp16", IMAGE),
                "unknown precision 'fp16'", "fp32, bf16, int8");
        Cli.userError(Cli.args("predict", "--model", MODEL, "--device", "reference", "--precision", "int8", IMAGE),
                "run graft quantize first");
        Cli.userError(Cli.args("quantize", "--model", MODEL, "--data", dir.resolve("none"), "--out", dir.resolve("x.safetensors")),
                "--data");
    }
}
