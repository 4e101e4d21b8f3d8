package dev.graft.tests.cli;

import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.loaders.Npy;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code graft forward} with NaN and infinities in its input (issue 18): it computes with them as PyTorch does, exits
 * 0, and warns on stderr how many there are, in which images and where, and again for the logits, the loss and the
 * gradients. The narrow fixture model (batch 4 of 3x24x24) gets a NaN and a -inf in image 1 and an all-NaN image 3:
 * in eval mode (the fused plan without labels, the plain pass with them) exactly those images' logits are NaN; in
 * train mode batch norm mixes the batch, so all are. On every available device.
 */
class ForwardNonFiniteTest {
    @TempDir
    Path tmp;

    static List<String> devices() {
        return ForwardParityTest.devices();
    }

    private Path spoiledInput() {
        HostTensor x = Npy.read(Cli.fixture("input.npy"));
        assertEquals(Shape.of(4, 3, 24, 24), x.shape());
        float[] v = x.toFloats();
        v[((1 * 3 + 0) * 24 + 2) * 24 + 3] = Float.NaN; // [1, 0, 2, 3]
        v[((1 * 3 + 2) * 24 + 5) * 24 + 5] = Float.NEGATIVE_INFINITY; // [1, 2, 5, 5]
        Arrays.fill(v, 3 * 3 * 24 * 24, 4 * 3 * 24 * 24, Float.NaN); // image 3
        Path p = tmp.resolve("spoiled.npy");
        Npy.write(p, HostTensor.of(v, x.shape()));
        return p;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void warnsAboutTheInputAndTheLogitsAndKeepsNaN(String device) {
        Path input = spoiledInput();
        Path logits = tmp.resolve("logits.npy");
        Cli.Run r = Cli.run("forward", "--weights", Cli.fixture("narrow.pth"), "--input", input, "--output", logits,
                "--device", device);
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.err().contains("warning: --input " + input + ": 1730 of 6912 values are not finite (1729 NaN, 1 -inf), "
                + "in 2 of 4 images: 1 (2), 3 (1728); first at [1, 0, 2, 3], [1, 2, 5, 5], [3, 0, 0, 0], ..."), r::toString);
        assertTrue(r.err().contains("warning: the logits: 6 of 12 values are not finite (6 NaN), in 2 of 4 images: 1 (3), 3 (3); "
                + "first at [1, 0], [1, 1], [1, 2], ..."), r::toString);
        float[] y = Npy.read(logits).toFloats();
        for (int i = 0; i < y.length; i++) {
            int image = i / 3;
            assertEquals(image == 1 || image == 3, Float.isNaN(y[i]), "fused eval logit " + i + " = " + y[i]);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void warnsAboutTheLossAndTheGradients(String device) {
        Path input = spoiledInput();
        for (String mode : new String[] {"eval", "train"}) {
            Path logits = tmp.resolve(mode + "-logits.npy");
            Path grads = tmp.resolve(mode + "-grads.safetensors");
            List<Object> args = new java.util.ArrayList<>(List.of("forward", "--weights", Cli.fixture("narrow.pth"),
                    "--input", input, "--output", logits, "--labels", Cli.fixture("labels.npy"), "--grads", grads,
                    "--device", device));
            if (mode.equals("train")) {
                args.add("--train-mode");
            }
            Cli.Run r = Cli.run(args.toArray());
            assertEquals(0, r.exitCode(), r::toString);
            assertTrue(r.err().contains(mode.equals("eval")
                    ? "warning: the logits: 6 of 12 values are not finite (6 NaN), in 2 of 4 images: 1 (3), 3 (3)"
                    : "warning: the logits: 12 of 12 values are not finite (12 NaN), in 4 of 4 images"), mode + ": " + r);
            assertTrue(r.out().contains("loss: NaN"), mode + ": " + r);
            assertTrue(r.err().contains("warning: the loss is NaN"), mode + ": " + r);
            assertTrue(r.err().contains("warning: the gradients of 44 of 44 parameters hold NaN or infinities: conv1.weight (588 of 588)"),
                    mode + ": " + r);
        }
    }
}
