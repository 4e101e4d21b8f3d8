package dev.graft.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class TestTimeAugmentationTest {
    @Test
    void mirrorReversesEachRowOfEachChannelOfEachImage() {
        // N=2, C=1, H=2, W=3: rows (0 1 2) (3 4 5) | (6 7 8) (9 10 11) become (2 1 0) (5 4 3) | (8 7 6) (11 10 9).
        float[] x = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
        assertArrayEquals(new float[] {2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9}, TestTimeAugmentation.mirror(x, 2, 1, 2, 3));
    }

    @Test
    void averageIsTheMeanOfTheTwoTemperedSoftmaxes() {
        // logits (1, 3) and mirrored (2, 0) at T = 2: softmax(0.5, 1.5) = (1/(1+e), e/(1+e)); softmax(1, 0) = (e/(1+e), 1/(1+e)).
        // Their mean is (0.5, 0.5) exactly in exact arithmetic.
        double[] p = TestTimeAugmentation.average(new float[] {1, 3}, new float[] {2, 0}, 0, 2, 2.0, "x");
        assertArrayEquals(new double[] {0.5, 0.5}, p, 1e-15);
    }
}
