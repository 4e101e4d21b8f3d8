package dev.graft.reuse;

import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Laying M0's tensors out as M1's: head allowance, grayscale stem, and the errors that name the first mismatch. */
class InitialWeightsTest {
    private static HostTensor t(Shape s, float... v) {
        return HostTensor.of(v, s);
    }

    private static StateDict dict(HostTensor conv, HostTensor head) {
        StateDict d = new StateDict();
        d.put("conv1.weight", conv);
        d.put("layer1.0.bn1.weight", t(Shape.of(2), 1, 2));
        d.put("fc.weight", head);
        return d;
    }

    @Test
    void differentHeadIsLeftOutAndAnRgbStemIsSummedToOneChannel() {
        // conv1 [O=1, C=3, 1, 2] summed over C: (1+3+5, 2+4+6) = (9, 12)
        HostTensor rgb = t(Shape.of(1, 3, 1, 2), 1, 2, 3, 4, 5, 6);
        StateDict before = dict(rgb, t(Shape.of(3, 2), 0, 0, 0, 0, 0, 0));
        HostTensor m1Head = t(Shape.of(2, 2), 7, 7, 7, 7);
        StateDict after = dict(t(Shape.of(1, 1, 1, 2), 0, 0), m1Head);
        InitialWeights.Matched m = InitialWeights.match(before, after, "fc", "M0", "M1");
        assertFalse(m.headComparable());
        assertTrue(m.grayscaleSummed());
        assertArrayEquals(new float[] {9, 12}, m.state().get("conv1.weight").toFloats());
        assertSame(m1Head, m.state().get("fc.weight"));
    }

    @Test
    void aBackboneMismatchOrAnExtraKeyNamesTheKey() {
        StateDict after = dict(t(Shape.of(1, 1, 1, 2), 0, 0), t(Shape.of(2, 2), 0, 0, 0, 0));
        StateDict wider = dict(t(Shape.of(2, 1, 1, 2), 0, 0, 0, 0), t(Shape.of(2, 2), 0, 0, 0, 0));
        ReuseException e = assertThrows(ReuseException.class, () -> InitialWeights.match(wider, after, "fc", "M0", "M1"));
        assertTrue(e.getMessage().contains("'conv1.weight' has shape [2, 1, 1, 2] in M0 and [1, 1, 1, 2] in M1"), e.getMessage());
        StateDict extra = dict(t(Shape.of(1, 1, 1, 2), 0, 0), t(Shape.of(2, 2), 0, 0, 0, 0));
        extra.put("layer9.weight", t(Shape.of(1), 0));
        e = assertThrows(ReuseException.class, () -> InitialWeights.match(extra, after, "fc", "M0", "M1"));
        assertTrue(e.getMessage().contains("'layer9.weight' of M0 is not in M1"), e.getMessage());
        StateDict missing = new StateDict();
        missing.put("conv1.weight", t(Shape.of(1, 1, 1, 2), 0, 0));
        e = assertThrows(ReuseException.class, () -> InitialWeights.match(missing, after, "fc", "M0", "M1"));
        assertTrue(e.getMessage().contains("'layer1.0.bn1.weight' of M1 is not in M0"), e.getMessage());
    }
}
