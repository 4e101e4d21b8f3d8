package dev.graft.engine.backend.cuda;

import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Conv2dSpec;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.graft.engine.backend.cuda.CudaTesting.assertNear;
import static dev.graft.engine.backend.cuda.CudaTesting.pair;
import static dev.graft.engine.backend.cuda.CudaTesting.tol;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * InceptionV3's kernels on cuda against the reference (GPU F32 vs reference F64 on the same float inputs): average
 * pooling with padding in both count_include_pad modes, forward and backward (whose y and x arguments cuDNN does
 * not read for average modes; see CudnnPooling), channel concatenation and its split (copies: exact), and the 1x7 /
 * 7x1 / 1x3 / 3x1 convolutions with one-axis padding, all three passes. Tolerances: {@link CudaTesting#tol} for k
 * terms (k = window + 1 for the pool, C*R*S, K*R*S or N*P*Q for the convolution).
 */
@Tag("gpu")
class CudaInceptionOpsTest {
    private CudaBackend gpu;
    private Backend ref;

    @BeforeEach
    void device() {
        gpu = CudaTesting.cuda();
        ref = CudaTesting.ref();
    }

    @Test
    void avgPoolWithPaddingMatchesTheReference() {
        Random r = new Random(21);
        AvgPool2dSpec[] specs = {
            AvgPool2dSpec.of(3, 1, 1, true), AvgPool2dSpec.of(3, 1, 1, false),
            new AvgPool2dSpec(3, 2, 2, 1, 1, 1, true), new AvgPool2dSpec(3, 2, 2, 1, 1, 1, false),
            AvgPool2dSpec.of(5, 3, 0, true),
        };
        for (AvgPool2dSpec spec : specs) {
            for (int[] shape : new int[][] {{2, 3, 5, 6}, {2, 192, 35, 35}, {1, 768, 17, 17}}) {
                try (Scope s = Scope.open()) {
                    Shape xs = Shape.of(shape);
                    NDArray[] x = pair(gpu, r, shape);
                    NDArray ye = ref.avgPool2d(x[1], spec);
                    String what = "avg pool " + spec + " " + xs;
                    assertNear(what, gpu.avgPool2d(gpu.toLayout(x[0], Layout.CHANNELS_LAST), spec), ye,
                            tol((long) spec.kernelH() * spec.kernelW() + 1));
                    NDArray[] dy = pair(gpu, r, ye.shape().dims());
                    assertNear(what + " backward", gpu.avgPool2dBackward(dy[0], xs, spec), ref.avgPool2dBackward(dy[1], xs, spec),
                            tol(10));
                }
            }
        }
    }

    @Test
    void concatAndSplitAreExactCopies() {
        Random r = new Random(22);
        int[] channels = {64, 64, 96, 32};
        try (Scope s = Scope.open()) {
            NDArray[] g = new NDArray[channels.length];
            NDArray[] e = new NDArray[channels.length];
            for (int i = 0; i < channels.length; i++) {
                NDArray[] p = pair(gpu, r, 2, channels[i], 7, 5);
                g[i] = i % 2 == 0 ? p[0] : gpu.toLayout(p[0], Layout.CHANNELS_LAST);
                e[i] = p[1];
            }
            NDArray y = gpu.concatChannels(g);
            NDArray ye = ref.concatChannels(e);
            assertArrayEquals(ye.toFloatArray(), y.toFloatArray(), "cat(dim=1)");
            NDArray[] parts = gpu.splitChannels(gpu.toLayout(y, Layout.CHANNELS_LAST), channels);
            for (int i = 0; i < channels.length; i++) {
                assertArrayEquals(e[i].toFloatArray(), parts[i].toFloatArray(), "split part " + i);
            }
        }
    }

    @Test
    void factorisedConvolutionsMatchTheReference() {
        Random r = new Random(23);
        int[][] cases = {{2, 32, 48, 17, 17, 1, 7}, {2, 48, 32, 17, 17, 7, 1}, {2, 64, 64, 8, 8, 1, 3}, {2, 64, 64, 8, 8, 3, 1}};
        for (int[] c : cases) {
            int n = c[0], ci = c[1], k = c[2], h = c[3], w = c[4], kh = c[5], kw = c[6];
            Conv2dSpec spec = new Conv2dSpec(1, 1, kh / 2, kw / 2, 1, 1, 1);
            try (Scope s = Scope.open()) {
                NDArray[] x = pair(gpu, r, n, ci, h, w);
                NDArray[] wt = pair(gpu, r, k, ci, kh, kw);
                NDArray[] b = pair(gpu, r, k);
                NDArray[] dy = pair(gpu, r, n, k, h, w);
                String what = "conv2d " + kh + "x" + kw + " " + ci + "->" + k;
                assertNear(what, gpu.conv2d(x[0], wt[0], b[0], spec), ref.conv2d(x[1], wt[1], b[1], spec), tol((long) ci * kh * kw + 1));
                assertNear(what + " backward-data", gpu.conv2dBackwardData(dy[0], wt[0], Shape.of(n, ci, h, w), spec),
                        ref.conv2dBackwardData(dy[1], wt[1], Shape.of(n, ci, h, w), spec), tol((long) k * kh * kw));
                assertNear(what + " backward-weights", gpu.conv2dBackwardWeights(dy[0], x[0], Shape.of(k, ci, kh, kw), spec),
                        ref.conv2dBackwardWeights(dy[1], x[1], Shape.of(k, ci, kh, kw), spec), tol((long) n * h * w));
            }
        }
    }
}
