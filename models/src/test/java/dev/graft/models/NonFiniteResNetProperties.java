package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Grad;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;
import dev.graft.engine.testing.Devices;
import dev.graft.engine.testing.NonFinite;
import dev.graft.engine.testing.NonFinite.Mode;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A NaN or an infinity in an image reaches a small ResNet's logits as PyTorch would carry it, on every device: the
 * same model (random weights and batch-norm statistics, {@link InferencePlanTest#model}) runs on the reference backend
 * and on each other device, on images with NaN, +inf and -inf at random positions or all NaN (in the whole batch or
 * in its first image only), in three ways: train mode with a backward pass, eval mode with autograd (the unfused
 * layers), and eval mode with nothing recorded (the fused {@link InferencePlan}, in the caller's scope and in a
 * workspace). Where each device's logits, loss, input gradient and updated running statistics are non-finite, and
 * of which kind, must equal the reference's, whose kernels follow torch 1.13 (engine: TorchNonFiniteCasesTest,
 * NonFiniteProperties). Weight gradients are not compared: a padded convolution's weight gradient meets the zero
 * padding through non-finite output gradients, where torch's own kernels disagree (NonFiniteProperties.conv2d).
 *
 * <p>The headline of issue 18 is asserted on its own: an all-NaN batch gives all-NaN logits through the fused plan,
 * and NaN in the first image leaves the second image's logits finite in eval mode.
 */
class NonFiniteResNetProperties {

    @Provide
    Arbitrary<Mode> modes() {
        return Arbitraries.of(Mode.class);
    }

    private static final ResNetConfig[] CONFIGS = {TinyModels.basic(), TinyModels.bottleneck()};

    @Property(tries = 24)
    void nonFiniteImagesPropagateAsOnTheReference(@ForAll("modes") Mode mode, @ForAll boolean firstImageOnly,
                                                 @ForAll long seed) {
        Random r = new Random(seed);
        ResNetConfig config = CONFIGS[r.nextInt(CONFIGS.length)];
        int size = 16 + r.nextInt(9);
        int[] shape = {2, 3, size, size};
        float[] image = NonFinite.values(shape[0] * 3 * size * size, r, Mode.NONE);
        float[] spoiled = NonFinite.values(firstImageOnly ? image.length / 2 : image.length, r, mode);
        System.arraycopy(spoiled, 0, image, 0, spoiled.length);
        int[] labels = {r.nextInt(3), r.nextInt(3)};
        long modelSeed = r.nextLong();
        String what = config.block() + " " + java.util.Arrays.toString(shape) + " mode " + mode
                + (firstImageOnly ? " in the first image" : "");

        Map<String, double[]> expected = run(Device.REFERENCE, config, modelSeed, image, shape, labels);
        Statistics.label("non-finite logits").collect(NonFinite.count(expected.get("fused logits")) > 0);
        for (Device d : Devices.available()) {
            Map<String, double[]> actual = d.equals(Device.REFERENCE) ? expected : run(d, config, modelSeed, image, shape, labels);
            for (String k : expected.keySet()) {
                NonFinite.assertSameKinds(what + " on " + d + ", " + k, expected.get(k), actual.get(k));
            }
            double[] fused = actual.get("fused logits");
            if (mode == Mode.ALL_NAN) {
                for (int i = 0; i < (firstImageOnly ? 3 : fused.length); i++) {
                    assertTrue(Double.isNaN(fused[i]), what + " on " + d + ": fused logit " + i + " of a NaN image is " + fused[i]);
                }
            }
            if (firstImageOnly) {
                for (String k : new String[] {"fused logits", "eval logits"}) {
                    for (int i = 3; i < 6; i++) {
                        assertTrue(Double.isFinite(actual.get(k)[i]), what + " on " + d + ": " + k + " of the clean second image: "
                                + actual.get(k)[i]);
                    }
                }
            }
        }
    }

    /** Named results of the three passes on one device, from a fresh copy of the same model for each. */
    private static Map<String, double[]> run(Device d, ResNetConfig config, long modelSeed, float[] image, int[] shape,
                                             int[] labels) {
        Map<String, double[]> out = new java.util.LinkedHashMap<>();
        try (Scope s = Scope.open(); ResNet m = model(d, config, modelSeed)) {
            // Eval mode with nothing recorded: the fused plan, in the caller's scope and in a workspace.
            m.eval();
            Tensor x = Tensor.fromArray(d, image, shape);
            try (Grad.Mode g = Grad.off()) {
                out.put("fused logits", m.forward(x).toDoubleArray());
                try (InferenceWorkspace ws = m.inferencePlan().workspace(x.shape())) {
                    NDArray y = m.inferencePlan().forward(x.data(), ws);
                    out.put("fused logits in a workspace", y.toDoubleArray());
                }
            }
            // Eval mode with autograd: the unfused layers, and the input's gradient.
            Tensor xe = Tensor.fromArray(d, image, shape).requiresGrad(true);
            Tensor logits = m.forward(xe);
            Tensor loss = Functional.crossEntropy(logits, labels);
            loss.backward();
            out.put("eval logits", logits.toDoubleArray());
            out.put("eval loss", loss.toDoubleArray());
            out.put("eval input gradient", xe.grad().toDoubleArray());

            // Train mode: batch statistics (NaN spreads across the batch), the backward pass, running statistics.
            m.train();
            Tensor xt = Tensor.fromArray(d, image, shape).requiresGrad(true);
            Tensor lt = m.forward(xt);
            Tensor losst = Functional.crossEntropy(lt, labels);
            losst.backward();
            out.put("train logits", lt.toDoubleArray());
            out.put("train loss", losst.toDoubleArray());
            out.put("train input gradient", xt.grad().toDoubleArray());
            List<String> stats = new ArrayList<>();
            for (Map.Entry<String, Tensor> e : m.namedState().entrySet()) {
                if (e.getKey().endsWith("running_mean") || e.getKey().endsWith("running_var")) {
                    stats.add(e.getKey());
                    out.put(e.getKey() + " after the training step", e.getValue().toDoubleArray());
                }
            }
            assertTrue(!stats.isEmpty(), "the model has running statistics");
        }
        return out;
    }

    /** {@link InferencePlanTest#model} on the reference, copied to {@code d} through a state dict. */
    private static ResNet model(Device d, ResNetConfig config, long seed) {
        ResNet ref = InferencePlanTest.model(config, DType.F32, seed);
        if (d.equals(Device.REFERENCE)) {
            return ref;
        }
        try (ref) {
            ResNet m = ResNet.builder(config).device(d).build();
            m.load(ref.stateDict(), true);
            return m;
        }
    }
}
