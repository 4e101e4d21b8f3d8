package dev.graft.engine;

import dev.graft.engine.backend.Backends;
import dev.graft.engine.testing.Devices;
import dev.graft.engine.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The attention-side transformer ops against PyTorch 1.13 ({@code fixtures/transformer_attention_values.txt}, made by
 * {@code engine/src/test/python/make_transformer_attention_fixtures.py}) on every available device and dtype: bmm in
 * all four transpose combinations with both gradients, softmax over the last axis, Swin's relative-position-bias
 * lookup (index_select, view, permute) with the table's scatter-add gradient, and a ViT-style attention block (class
 * token cat, position embedding, qkv linear on tokens, head split by reshape/permute/narrow, attention with a gathered
 * bias, head merge, proj, residual, class-token slice) with the gradient of every input.
 *
 * <p>Tolerances: F64 1e-12 + 1e-10 |want| (only summation order differs). F32 2e-5 + 1e-5 |want| for the single ops
 * (inputs in [-3, 3] rounded to float, sums of at most 6 terms); the block 1e-4 + 1e-4 |want|: its inputs are rounded
 * to float (relative 6e-8) and pass through three chained products of up to 8 terms, a softmax and their gradients,
 * each step rounding again and the gradients adding up to 24 paths.
 */
class TransformerAttentionValuesTest {
    private static final Fixtures TORCH = Fixtures.load("/fixtures/transformer_attention_values.txt");

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (Device d : Devices.available()) {
            for (DType t : new DType[] {DType.F32, DType.F64}) {
                if (Backends.get(d).supports(t)) {
                    out.add(Arguments.of(d, t));
                }
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void bmmWithTransposesMatchesTorch(Device d, DType t) {
        for (String tag : new String[] {"00", "01", "10", "11"}) {
            String n = "bmm." + tag;
            try (Scope s = Scope.open()) {
                Tensor a = tensor(d, t, n + ".a").requiresGrad(true);
                Tensor b = tensor(d, t, n + ".b").requiresGrad(true);
                Tensor y = Functional.bmm(a, b, tag.charAt(0) == '1', tag.charAt(1) == '1');
                expect(t, n + ".y", y, false);
                y.backward(tensor(d, t, n + ".g"));
                expect(t, n + ".da", a.grad(), false);
                expect(t, n + ".db", b.grad(), false);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void softmaxMatchesTorch(Device d, DType t) {
        try (Scope s = Scope.open()) {
            Tensor x = tensor(d, t, "softmax.x").requiresGrad(true);
            Tensor y = Functional.softmax(x);
            expect(t, "softmax.y", y, false);
            y.backward(tensor(d, t, "softmax.g"));
            expect(t, "softmax.dx", x.grad(), false);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void swinBiasLookupMatchesTorch(Device d, DType t) {
        try (Scope s = Scope.open()) {
            int[] index = TORCH.get("gather.index").ints();
            Tensor table = tensor(d, t, "gather.table").requiresGrad(true);
            Tensor y = Functional.permute(Functional.reshape(Functional.indexSelect(table, 0, index), 9, 9, -1), 2, 0, 1);
            expect(t, "gather.y", y, false);
            y.backward(tensor(d, t, "gather.g"));
            expect(t, "gather.dtable", table.grad(), false);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void attentionBlockMatchesTorch(Device d, DType t) {
        int n = 2, tokens = 4, c = 8, h = 2, hd = 4;
        try (Scope s = Scope.open()) {
            Tensor x = tensor(d, t, "block.tokens").requiresGrad(true);
            Tensor cls = tensor(d, t, "block.cls").requiresGrad(true);
            Tensor pos = tensor(d, t, "block.pos").requiresGrad(true);
            Tensor wqkv = tensor(d, t, "block.wqkv").requiresGrad(true);
            Tensor bqkv = tensor(d, t, "block.bqkv").requiresGrad(true);
            Tensor wproj = tensor(d, t, "block.wproj").requiresGrad(true);
            Tensor bproj = tensor(d, t, "block.bproj").requiresGrad(true);
            Tensor btable = tensor(d, t, "block.btable").requiresGrad(true);
            int[] bindex = TORCH.get("block.bindex").ints();
            Tensor clsN = Functional.add(Tensor.zeros(d, t, n, 1, c), cls); // cls.expand(n, -1, -1)
            Tensor xx = Functional.add(Functional.cat(1, clsN, x), pos);
            Tensor qkv = Functional.permute(Functional.reshape(Functional.linear(xx, wqkv, bqkv), n, tokens + 1, 3, h, hd), 2, 0, 3, 1, 4);
            Tensor[] parts = Functional.split(qkv, 0, 1, 1, 1);
            Tensor q = Functional.reshape(parts[0], n, h, tokens + 1, hd);
            Tensor k = Functional.reshape(parts[1], n, h, tokens + 1, hd);
            Tensor v = Functional.reshape(parts[2], n, h, tokens + 1, hd);
            Tensor bias = Functional.permute(Functional.reshape(Functional.indexSelect(btable, 0, bindex), tokens + 1, tokens + 1, h), 2, 0, 1);
            Tensor att = Functional.scaledDotProductAttention(q, k, v, bias, Double.NaN);
            Tensor merged = Functional.reshape(Functional.transpose(att, 1, 2), n, tokens + 1, c);
            Tensor o = Functional.add(Functional.linear(merged, wproj, bproj), xx);
            Tensor y = Functional.reshape(Functional.narrow(o, 1, 0, 1), n, c);
            expect(t, "block.y", y, true);
            y.backward(tensor(d, t, "block.g"));
            expect(t, "block.dtokens", x.grad(), true);
            expect(t, "block.dcls", cls.grad(), true);
            expect(t, "block.dpos", pos.grad(), true);
            expect(t, "block.dwqkv", wqkv.grad(), true);
            expect(t, "block.dbqkv", bqkv.grad(), true);
            expect(t, "block.dwproj", wproj.grad(), true);
            expect(t, "block.dbproj", bproj.grad(), true);
            expect(t, "block.dbtable", btable.grad(), true);
        }
    }

    private static Tensor tensor(Device d, DType t, String name) {
        Fixtures.Array a = TORCH.get(name);
        return Tensor.fromArray(d, t, a.values(), a.shape());
    }

    private static void expect(DType t, String name, Tensor got, boolean block) {
        Fixtures.Array want = TORCH.get(name);
        assertArrayEquals(want.shape(), got.shape().dims(), name + ": shape");
        double atol = t == DType.F64 ? 1e-12 : block ? 1e-4 : 2e-5;
        double rtol = t == DType.F64 ? 1e-10 : block ? 1e-4 : 1e-5;
        double[] g = got.toDoubleArray();
        for (int i = 0; i < g.length; i++) {
            double w = want.values()[i];
            if (!(Math.abs(g[i] - w) <= atol + rtol * Math.abs(w))) {
                fail(name + " on " + got.device() + " " + t + ": element " + i + " is " + g[i] + ", torch says " + w
                        + " (atol " + atol + ", rtol " + rtol + ")");
            }
        }
    }
}
