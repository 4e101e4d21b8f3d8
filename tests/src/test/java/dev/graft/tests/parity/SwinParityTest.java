package dev.graft.tests.parity;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Grad;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Scope;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.engine.Shape;
import dev.graft.models.Architectures;
import dev.graft.models.ModelException;
import dev.graft.models.ResNetConfig;
import dev.graft.models.SwinConfig;
import dev.graft.models.SwinTransformer;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * torchvision 0.14's SwinTransformer at a narrow width (embed 16, depths [2, 2], heads [1, 2]; committed fixtures
 * made by make_swin_fixtures.py with torchvision's own class), replayed on the reference backend in F32: the
 * state dict loads strictly under torchvision's names and order, and eval logits, train logits (stochastic depth
 * 0), the cross-entropy loss and every parameter gradient match.
 *
 * <p>Tolerances. Both sides compute in float32 with different summation orders (our reference backend sums in
 * double and rounds once; torch's CPU kernels sum in float32), through about 20 sums of up to 256 terms, two
 * softmaxes and layer norms per block. Measured (printed by each run): logits and loss about 1e-7 to 1e-6
 * relative to the largest value, gradients up to a few 1e-6 relative to the tensor's largest entry. Limits:
 * 1e-5 for logits and loss and 1e-4 for gradients, about 10x above the measured figures, and far below what any
 * mistake in the shifted-window mask, padding, merge order or bias lookup produces (those change logits at the
 * 1e-2 level; {@link #aWrongWindowIndexDoesNotLoad} and {@code SwinModelTest} show structural mistakes are caught).
 */
class SwinParityTest {
    static final double LOGITS = 1e-5;
    static final double GRADIENTS = 1e-4;

    private static void replay(String stem) {
        replay(RawFixture.resource(stem), stem, DType.F32, LOGITS, GRADIENTS);
    }

    /** Replays {@code f} in {@code dtype} on the reference backend; asserts each category within its relative bound. */
    static void replay(RawFixture f, String stem, DType dtype, double logitsTolerance, double gradientTolerance) {
        SwinConfig config = SwinConfig.parse(f.meta().path("config").asText());
        StateDict init = f.stateDict("init/");
        if (dtype == DType.F64) {
            init = widened(init);
        }
        try (SwinTransformer m = new SwinTransformer(config, Device.REFERENCE, dtype); Scope s = Scope.open()) {
            assertEquals(List.copyOf(init.keys()), List.copyOf(m.namedState().keySet()), "state_dict keys and order");
            for (Map.Entry<String, Tensor> e : m.namedState().entrySet()) {
                assertEquals(init.get(e.getKey()).shape(), e.getValue().shape(), e.getKey());
            }
            m.load(init, true);
            HostTensor input = f.get("input");
            Tensor x = dtype == DType.F64 ? Tensor.fromArray(Device.REFERENCE, DType.F64, doubles(input.toFloats()),
                    input.shape().dims()) : input.toTensor(Device.REFERENCE);
            int[] labels = f.labels("labels");
            List<Deviation> logits = new ArrayList<>();
            List<Deviation> grads = new ArrayList<>();
            m.eval();
            try (Grad.Mode off = Grad.off()) {
                logits.add(Deviation.of("logits_eval", f.get("logits_eval").toFloats(), m.forward(x).toFloatArray()));
            }
            m.train();
            Tensor out = m.forward(x);
            logits.add(Deviation.of("logits_train", f.get("logits_train").toFloats(), out.toFloatArray()));
            Tensor loss = Functional.crossEntropy(out, labels);
            logits.add(Deviation.of("loss_train", f.get("loss_train").toFloats(), loss.toFloatArray()));
            loss.backward();
            m.namedParameters().forEach((n, p) ->
                    grads.add(Deviation.of(n, f.get("grad/" + n).toFloats(), p.grad().toFloatArray())));
            assertEquals(f.group("grad/").keySet(), m.namedParameters().keySet(), "parameters with gradients");
            Deviation wl = worst(logits);
            Deviation wg = worst(grads);
            System.out.println(stem + " " + dtype + " (" + config.describe() + "): worst logits/loss " + wl + "; worst of "
                    + grads.size() + " gradients " + wg);
            logits.forEach(d -> assertTrue(d.relative() <= logitsTolerance, d.toString()));
            grads.forEach(d -> assertTrue(d.relative() <= gradientTolerance, d.toString()));
        }
    }

    private static double[] doubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** The fixture's float32 values as F64 tensors (I64 buffers unchanged). */
    private static StateDict widened(StateDict s) {
        StateDict out = new StateDict();
        s.tensors().forEach((k, t) -> out.put(k, t.dtype() == DType.I64 ? t : HostTensor.of(doubles(t.toFloats()), t.shape())));
        return out;
    }

    private static Deviation worst(List<Deviation> ds) {
        Deviation w = ds.get(0);
        for (Deviation d : ds) {
            if (d.relative() > w.relative()) {
                w = d;
            }
        }
        return w;
    }

    /** Window 4 on 9x9 and 5x5 maps: padded windows, shifted by 2, with the -100 mask; the merge pads 9 -> 10. */
    @Test
    void paddedShiftedWindowsMatchTorchvision() {
        replay("swin_pad");
    }

    /** Window 7 on 14x14 (shifted by 3, no padding), then 7x7 where torchvision 0.14 drops the shift. */
    @Test
    void window7AndDroppedShiftMatchTorchvision() {
        replay("swin_w7");
    }

    /**
     * Stochastic depth on (0.5 at the last block, batch 6): torchvision's own masks, recorded by the fixture in draw
     * order (block by block, attention branch then MLP branch, one per sample), are replayed through a generator that
     * returns 0 (drop) or just under 1 (keep) for each of our draws, so train logits, loss and every gradient must
     * match as without it; the draw count must match too.
     */
    @Test
    void stochasticDepthUnderTorchvisionsMasksMatches() {
        RawFixture f = RawFixture.resource("swin_sd");
        float[] keep = f.get("sd_keep").toFloats();
        int[] used = {0};
        RandomGenerator replay = new RandomGenerator() {
            @Override
            public long nextLong() {
                throw new UnsupportedOperationException("only nextDouble is replayed");
            }

            @Override
            public double nextDouble() {
                return keep[used[0]++] == 1f ? Math.nextDown(1.0) : 0.0;
            }
        };
        SwinConfig config = SwinConfig.parse(f.meta().path("config").asText());
        try (SwinTransformer m = new SwinTransformer(config, Device.REFERENCE, DType.F32); Scope s = Scope.open()) {
            m.load(f.stateDict("init/"), true);
            m.stochasticDepthGenerator(replay).train();
            Tensor out = m.forward(f.get("input").toTensor(Device.REFERENCE));
            assertEquals(keep.length, used[0], "stochastic-depth draws");
            List<Deviation> ds = new ArrayList<>();
            ds.add(Deviation.of("logits_train", f.get("logits_train").toFloats(), out.toFloatArray()));
            Tensor loss = Functional.crossEntropy(out, f.labels("labels"));
            ds.add(Deviation.of("loss_train", f.get("loss_train").toFloats(), loss.toFloatArray()));
            ds.forEach(d -> assertTrue(d.relative() <= LOGITS, d.toString()));
            loss.backward();
            List<Deviation> grads = new ArrayList<>();
            m.namedParameters().forEach((n, p) -> grads.add(Deviation.of(n, f.get("grad/" + n).toFloats(), p.grad().toFloatArray())));
            grads.forEach(d -> assertTrue(d.relative() <= GRADIENTS, d.toString()));
            System.out.println("swin_sd (" + f.meta().path("dropped").asInt() + " of " + keep.length + " draws dropped): worst "
                    + worst(ds) + "; gradients " + worst(grads));
        }
    }

    /** The relative_position_index buffer is recomputed; a checkpoint whose index is not ours does not load. */
    @Test
    void aWrongWindowIndexDoesNotLoad() {
        RawFixture f = RawFixture.resource("swin_pad");
        SwinConfig config = SwinConfig.parse(f.meta().path("config").asText());
        StateDict init = f.stateDict("init/");
        String key = "features.1.1.attn.relative_position_index";
        long[] idx = init.get(key).longs().clone();
        long tmp = idx[1];
        idx[1] = idx[2];
        idx[2] = tmp;
        init.put(key, HostTensor.of(idx, init.get(key).shape()));
        try (SwinTransformer m = new SwinTransformer(config, Device.REFERENCE, DType.F32)) {
            ModelException e = assertThrows(ModelException.class, () -> m.load(init, true));
            assertTrue(e.getMessage().contains(key), e.getMessage());
        }
    }

    /** Full-size swin_t: our names, order and shapes equal torchvision's (committed listing), and it is recognised. */
    @Test
    void swinTNamesAndShapesEqualTorchvisionsAndAreRecognised() throws IOException {
        Map<String, int[]> torch = new LinkedHashMap<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(
                Files.newInputStream(RawFixture.resourcePath("swin_t_keys.txt.gz"))), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (!line.isBlank()) {
                    String[] p = line.split(" ");
                    String[] dims = p[3].split(",");
                    int[] shape = new int[p[3].isEmpty() ? 0 : dims.length];
                    for (int i = 0; i < shape.length; i++) {
                        shape[i] = Integer.parseInt(dims[i]);
                    }
                    torch.put(p[1], shape);
                }
            }
        }
        assertEquals(SwinConfig.swinT(1000), SwinConfig.recognize(torch));
        Map<String, Shape> shapes = new LinkedHashMap<>();
        torch.forEach((k, v) -> shapes.put(k, Shape.of(v)));
        ResNetConfig found = Architectures.recognize(shapes);
        assertEquals("swin_t", found.architecture());
        assertEquals(ResNetConfig.named("swin_t", 1000), found);
        try (SwinTransformer m = new SwinTransformer(SwinConfig.swinT(1000), Device.REFERENCE, DType.F32)) {
            assertEquals(List.copyOf(torch.keySet()), List.copyOf(m.namedState().keySet()));
            m.namedState().forEach((k, t) -> assertArrayEquals(torch.get(k), t.shape().dims(), k));
            assertEquals(28_288_354L, m.parameterCount(), "torchvision's swin_t has 28,288,354 parameters");
        }
    }
}
