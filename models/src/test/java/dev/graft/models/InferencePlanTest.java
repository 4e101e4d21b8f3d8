package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Grad;
import dev.graft.engine.HostTensor;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.engine.testing.CountingBackend;
import dev.graft.models.optim.Sgd;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused inference plan against the plain eval forward pass on the reference backend (the cpu backend's
 * fused kernels are compared in the engine's and the runtime's tests). Batch-norm statistics and affine
 * parameters are randomised, so folding is exercised for real. Errors are relative to the largest logit (or
 * feature) and each check prints its figure. The reference backend is plain Java (IEEE arithmetic in a fixed
 * order), so the figures do not depend on the machine.
 */
class InferencePlanTest {
    /**
     * F32: the folded weights and biases are rounded to float once per layer, where the unfused pass rounds the
     * convolution's output and then the batch norm's. Measured (reference backend, this test's seeds) 3.9e-7 at
     * most (bottleneck model, and the detached plan); 4e-6 is 10x that. Over 40 other seeds per model the worst
     * was 1.3e-6 (bottleneck), mean 3e-7, so a change of seed stays well inside.
     */
    private static final double F32_TOL = 4e-6;
    /**
     * F64: only the order of a few roundings differs (about 1e-16 each). Measured (reference backend) 2.3e-15 at
     * most (bottleneck model; the refold, head, grayscale and features checks 3e-16 to 1.8e-15); 2e-14 is 8.7x
     * that. Over 40 other seeds per model the worst was 4.5e-15.
     */
    private static final double F64_TOL = 2e-14;

    @Test
    void fusedEqualsUnfusedForBasicAndBottleneckBlocks() {
        for (ResNetConfig config : new ResNetConfig[] {TinyModels.basic(), TinyModels.bottleneck()}) {
            for (DType dtype : new DType[] {DType.F32, DType.F64}) {
                try (Scope s = Scope.open(); ResNet m = model(config, dtype, 7)) {
                    Tensor x = images(2, 3, 19, 1, dtype);
                    double tolerance = dtype == DType.F64 ? F64_TOL : F32_TOL;
                    assertWithin(config.block() + " " + dtype, unfused(m, x), fused(m, x), tolerance);
                }
            }
        }
    }

    @Test
    void featuresEqualUnfused() {
        try (Scope s = Scope.open(); ResNet m = model(TinyModels.bottleneck(), DType.F64, 3)) {
            Tensor x = images(1, 3, 16, 2, DType.F64);
            m.eval();
            double[] plain;
            try (Grad.Mode g = Grad.off()) {
                m.setFusedInference(false);
                plain = m.features(x).toDoubleArray();
                m.setFusedInference(true);
                double[] folded = m.features(x).toDoubleArray();
                assertEquals(plain.length, folded.length);
                assertWithin("features F64", plain, folded, F64_TOL);
            }
        }
    }

    @Test
    void foldingNeverWritesTheModelsParameters() {
        try (Scope s = Scope.open(); ResNet m = model(TinyModels.basic(), DType.F32, 11)) {
            StateDict before = m.stateDict();
            int[] versions = versions(m);
            fused(m, images(2, 3, 16, 4, DType.F32));
            StateDict after = m.stateDict();
            for (Map.Entry<String, HostTensor> e : before.tensors().entrySet()) {
                assertEquals(e.getValue(), after.get(e.getKey()), e.getKey() + " changed");
            }
            assertArrayEquals(versions, versions(m), "a parameter or buffer was written");
        }
    }

    @Test
    void refoldsAfterATrainingStepAndAfterLoading() {
        try (Scope s = Scope.open(); ResNet m = model(TinyModels.basic(), DType.F64, 5)) {
            Tensor x = images(2, 3, 16, 6, DType.F64);
            fused(m, x); // builds and folds the plan
            // A training step changes weights (optimizer) and running statistics (train-mode forward).
            m.train();
            try (Sgd opt = Sgd.builder(0.1).momentum(0.9).build(m.trainableParameters()); Scope step = Scope.open()) {
                Tensor loss = dev.graft.engine.Functional.crossEntropy(m.forward(x), new int[] {0, 2});
                loss.backward();
                opt.step();
            }
            assertWithin("F64 after a training step (a stale fold would fail)", unfused(m, x), fused(m, x), F64_TOL);
            // Loading another state dict in place.
            try (ResNet other = model(TinyModels.basic(), DType.F64, 99)) {
                m.load(other.stateDict(), true);
                assertWithin("F64 after loading (a stale fold would fail)", unfused(other, x), fused(m, x), F64_TOL);
            }
        }
    }

    @Test
    void headReplacementAndGrayscaleAdaptationAreSeen() {
        try (Scope s = Scope.open(); ResNet m = model(TinyModels.basic(), DType.F64, 8)) {
            fused(m, images(1, 3, 16, 1, DType.F64));
            m.replaceHead(5, 3);
            Tensor x = images(1, 3, 16, 2, DType.F64);
            double[] f = fused(m, x);
            assertEquals(5, f.length);
            assertWithin("F64 after replacing the head", unfused(m, x), f, F64_TOL);
            m.adaptToGrayscale();
            Tensor gray = images(1, 1, 16, 3, DType.F64);
            assertWithin("F64 grayscale", unfused(m, gray), fused(m, gray), F64_TOL);
        }
    }

    @Test
    void recordingRunsTheUnfusedPath() {
        try (Scope s = Scope.open(); ResNet m = model(TinyModels.basic(), DType.F32, 2)) {
            m.eval();
            Tensor y = m.forward(images(1, 3, 16, 1, DType.F32)); // grad on, parameters trainable
            assertTrue(y.requiresGrad(), "eval mode with trainable parameters must still record");
            m.freeze();
            assertFalse(m.forward(images(1, 3, 16, 1, DType.F32)).requiresGrad());
        }
    }

    @Test
    void fusedPathRunsNoBatchNormAndNoSeparateAddOrRelu() throws Exception {
        try (Scope s = Scope.open(); ResNet m = model(TinyModels.bottleneck(), DType.F32, 2)) {
            m.eval();
            try (CountingBackend counts = CountingBackend.install(Device.REFERENCE); Grad.Mode g = Grad.off()) {
                m.forward(images(1, 3, 16, 1, DType.F32)); // made after install: its kernels are counted
                assertEquals(0, counts.count("batchNormInference"));
                assertEquals(0, counts.count("gemm"));
                // 1 stem + 3 per bottleneck (5 blocks) + 4 downsamples + fc
                assertEquals(1 + 15 + 4 + 1, counts.count("conv2dInference"));
            }
        }
    }

    @Test
    void workspaceReusesBuffersAndMatchesTheScopedRun() {
        // Three blocks in layer1 and two in layer2: activations of equal size whose lifetimes do not overlap.
        ResNetConfig deeper = ResNetConfig.of(BlockType.BASIC, 3, 2, 1, 1).withWidths(4, 4, 8, 8, 16).withNumClasses(3);
        try (Scope s = Scope.open(); ResNet m = model(deeper, DType.F32, 4)) {
            Tensor x = images(2, 3, 20, 9, DType.F32);
            long convolutions = m.namedModules().values().stream().filter(mod -> mod instanceof Conv2d).count() + 1; // + fc
            float[] scoped = toFloats(fused(m, x));
            InferencePlan plan = m.inferencePlan();
            try (InferenceWorkspace ws = plan.workspace(x.shape())) {
                // How many buffers follows from InferenceWorkspace's rule: buffers are pooled by element count, and
                // a value's buffer is freed after the step that last reads it, so a step never writes into a buffer
                // it reads. For this 2x3x20x20 input the convolution outputs have, per stage, one element count:
                // stem 2*4*10*10 = 800, layer1 2*4*5*5 = 200, layer2 2*8*3*3 = 144, layer3 2*8*2*2 = 64, layer4
                // 2*16*1*1 = 32, fc 2*3 = 6. No two stages share a buffer, and the stem and fc take one each.
                // Within a stage, a block's last convolution reads the shortcut (the block's input, or its
                // downsample's output) and conv1's output and writes conv2's: three buffers live at once (from
                // layer1.1 on in layer1, whose first block reads the max-pool output, not a workspace buffer; in the
                // downsampling first block of layers 2-4). Afterwards only the block's output stays live, so the
                // next block's two outputs take the two buffers just freed: three per stage, however many blocks
                // (a lone block without a downsample right after the max pool would need two).
                int perStage = 3;
                int stages = 4;
                assertEquals(1 + stages * perStage + 1, ws.buffers(),
                        "buffers for " + convolutions + " convolution outputs");
                for (int i = 0; i < 3; i++) {
                    try (Scope call = Scope.open(); Grad.Mode g = Grad.off()) {
                        NDArray y = plan.forward(x.data(), ws);
                        assertArrayEquals(scoped, y.toFloatArray(), "call " + i);
                        assertEquals(0, call.liveBuffers(), "a call left buffers in the caller's scope");
                    }
                }
                assertThrows(ModelException.class, () -> plan.forward(images(1, 3, 20, 1, DType.F32).data(), ws));
            }
        }
    }

    @Test
    void detachedPlanOutlivesItsModel() {
        try (Scope s = Scope.open()) {
            Tensor x = images(1, 3, 16, 5, DType.F32);
            InferencePlan plan;
            double[] expected;
            try (ResNet m = model(TinyModels.basic(), DType.F32, 6)) {
                expected = unfused(m, x);
                plan = InferencePlan.compile(m).detach();
            }
            try (plan; Grad.Mode g = Grad.off()) {
                assertWithin("detached plan F32", expected, plan.forward(x).toDoubleArray(), F32_TOL);
            }
        }
    }

    /**
     * Compiling from a config and host tensors builds the same steps as compiling the module tree, for every named
     * architecture (narrowed so the models are small) and the tiny test models; the state-dict names and shapes it
     * expects are the model's; and both plans compute the same logits.
     */
    @Test
    void compilingFromAConfigMatchesTheModuleTree() {
        java.util.List<ResNetConfig> configs = new java.util.ArrayList<>(java.util.List.of(TinyModels.basic(), TinyModels.bottleneck()));
        for (String arch : ResNetConfig.architectures()) {
            configs.add(ResNetConfig.named(arch, 3).withWidths(8, 16, 16, 32, 32));
        }
        for (ResNetConfig config : configs) {
            try (Scope s = Scope.open(); ResNet m = model(config, DType.F32, 21)) {
                StateDict state = m.stateDict();
                Map<String, dev.graft.engine.Shape> own = new java.util.HashMap<>();
                state.tensors().forEach((k, v) -> own.put(k, v.shape()));
                assertEquals(own, new java.util.HashMap<>(InferencePlan.stateShapes(config)), config + ": state-dict shapes");
                try (InferencePlan fromTree = InferencePlan.compile(m);
                     InferencePlan fromConfig = InferencePlan.compile(config, state::get, Device.REFERENCE)) {
                    assertEquals(fromTree.describe(), fromConfig.describe(), config.toString());
                    Tensor x = images(1, 3, 16, 8, DType.F32);
                    try (Grad.Mode g = Grad.off()) {
                        assertArrayEquals(fromTree.forward(x).toFloatArray(), fromConfig.forward(x).toFloatArray(), config.toString());
                    }
                }
            }
        }
    }

    @Test
    void compilingFromHostTensorsChecksNamesShapesAndTypes() {
        ResNetConfig config = TinyModels.basic();
        try (Scope s = Scope.open(); ResNet m = model(config, DType.F32, 2)) {
            StateDict state = m.stateDict();
            state.remove("layer2.0.bn1.running_var");
            ModelException missing = assertThrows(ModelException.class,
                    () -> InferencePlan.compile(config, state::get, Device.REFERENCE));
            assertTrue(missing.getMessage().contains("layer2.0.bn1.running_var"), missing.getMessage());
            state.put("layer2.0.bn1.running_var", HostTensor.of(new float[3], dev.graft.engine.Shape.of(3)));
            assertThrows(ModelException.class, () -> InferencePlan.compile(config, state::get, Device.REFERENCE));
            state.put("layer2.0.bn1.running_var", HostTensor.of(new long[8], dev.graft.engine.Shape.of(8)));
            assertThrows(ModelException.class, () -> InferencePlan.compile(config, state::get, Device.REFERENCE));
        }
    }

    @Test
    void badInputsAreTypedErrors() {
        try (Scope s = Scope.open(); ResNet m = model(TinyModels.basic(), DType.F32, 1)) {
            m.eval();
            try (Grad.Mode g = Grad.off()) {
                assertThrows(ModelException.class, () -> m.forward(images(1, 1, 16, 1, DType.F32)));
                assertThrows(dev.graft.engine.DeviceException.class,
                        () -> m.inferencePlan().forward(images(1, 3, 16, 1, DType.F64)));
            }
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    /** A model with random weights and random batch-norm statistics and affine parameters. */
    static ResNet model(ResNetConfig config, DType dtype, long seed) {
        ResNet m = ResNet.builder(config).device(Device.REFERENCE).dtype(dtype).seed(seed).build();
        SplittableRandom r = new SplittableRandom(seed * 31 + 1);
        for (Module mod : m.namedModules().values()) {
            if (mod instanceof BatchNorm2d bn) {
                int c = bn.numFeatures();
                set(bn.weight().tensor(), c, () -> 0.5 + r.nextDouble());
                set(bn.bias().tensor(), c, () -> r.nextDouble() - 0.5);
                set(bn.runningMean(), c, () -> r.nextDouble() - 0.5);
                set(bn.runningVar(), c, () -> 0.2 + r.nextDouble());
            }
        }
        return m;
    }

    private static void set(Tensor t, int n, java.util.function.DoubleSupplier values) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) values.getAsDouble();
        }
        t.data().backend().copyFromHost(t.data(), v);
    }

    static Tensor images(int n, int c, int size, long seed, DType dtype) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[n * c * size * size];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextGaussian();
        }
        return Tensor.fromArray(Device.REFERENCE, dtype, v, n, c, size, size);
    }

    static double[] unfused(ResNet m, Tensor x) {
        m.eval();
        m.setFusedInference(false);
        try (Grad.Mode g = Grad.off()) {
            return m.forward(x).toDoubleArray();
        } finally {
            m.setFusedInference(true);
        }
    }

    static double[] fused(ResNet m, Tensor x) {
        m.eval();
        try (Grad.Mode g = Grad.off()) {
            return m.forward(x).toDoubleArray();
        }
    }

    /** Asserts and prints the largest difference relative to the largest expected magnitude. */
    private static void assertWithin(String what, double[] expected, double[] actual, double tolerance) {
        double err = maxRelativeDifference(expected, actual);
        System.out.printf("%s: fused vs unfused relative error %.2e (tolerance %.0e)%n", what, err, tolerance);
        assertTrue(err <= tolerance, what + ": relative error " + err + " > " + tolerance);
    }

    static double maxRelativeDifference(double[] expected, double[] actual) {
        assertEquals(expected.length, actual.length);
        double scale = 0;
        double diff = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            diff = Math.max(diff, Math.abs(expected[i] - actual[i]));
        }
        return diff / Math.max(scale, 1e-30);
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    private static int[] versions(ResNet m) {
        return m.namedState().values().stream().mapToInt(t -> t.data().buffer().version()).toArray();
    }
}
