package dev.graft.engine.backend.cuda;

import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Conv2dSpec;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.graft.engine.backend.cuda.CudaTesting.assertNear;
import static dev.graft.engine.backend.cuda.CudaTesting.pair;
import static dev.graft.engine.backend.cuda.CudaTesting.tol;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * cuDNN convolution forward, backward-data and backward-filter against the reference backend on random shapes
 * (groups, dilation, padding, stride, bias) and on ResNet-like layers, in exact math. Reduction lengths: forward
 * (C/g)*R*S, backward-data (K/g)*R*S, backward-filter N*P*Q.
 */
@Tag("gpu")
class CudaConvolutionParityTest {
    private CudaBackend gpu;
    private Backend ref;

    @BeforeEach
    void device() {
        gpu = CudaTesting.cuda();
        ref = CudaTesting.ref();
    }

    @Test
    void randomShapesWithGroupsDilationPaddingAndStride() {
        Random r = new Random(21);
        int done = 0;
        while (done < 40) {
            int g = 1 + r.nextInt(3);
            int c = g * (1 + r.nextInt(3));
            int k = g * (1 + r.nextInt(3));
            if (r.nextInt(6) == 0) { // depthwise
                c = 2 + r.nextInt(4);
                k = c;
                g = c;
            }
            int kh = 1 + r.nextInt(3);
            int kw = 1 + r.nextInt(3);
            Conv2dSpec spec = new Conv2dSpec(1 + r.nextInt(3), 1 + r.nextInt(3), r.nextInt(3), r.nextInt(3),
                    1 + r.nextInt(2), 1 + r.nextInt(2), g);
            int n = 1 + r.nextInt(3);
            int h = 1 + r.nextInt(12);
            int w = 1 + r.nextInt(12);
            int p = Conv2dSpec.outputSize(h, kh, spec.strideH(), spec.padH(), spec.dilationH());
            int q = Conv2dSpec.outputSize(w, kw, spec.strideW(), spec.padW(), spec.dilationW());
            if (p < 1 || q < 1) {
                continue;
            }
            check(new int[] {n, c, h, w}, new int[] {k, c / g, kh, kw}, spec, r.nextBoolean(), r);
            done++;
        }
    }

    @Test
    void resnetLikeLayers() {
        Random r = new Random(22);
        check(new int[] {2, 3, 32, 32}, new int[] {16, 3, 7, 7}, Conv2dSpec.of(2, 3), false, r);        // stem
        check(new int[] {2, 16, 14, 14}, new int[] {16, 16, 3, 3}, Conv2dSpec.of(1, 1), false, r);      // basic block
        check(new int[] {2, 32, 14, 14}, new int[] {64, 32, 1, 1}, Conv2dSpec.of(2, 0), false, r);      // downsample
        check(new int[] {2, 64, 8, 8}, new int[] {64, 16, 3, 3}, Conv2dSpec.of(1, 1, 1, 4), false, r);  // ResNeXt group
        check(new int[] {2, 24, 9, 9}, new int[] {24, 1, 3, 3}, Conv2dSpec.of(1, 2, 2, 24), true, r);   // depthwise, dilated
        check(new int[] {1, 64, 28, 28}, new int[] {64, 64, 3, 3}, Conv2dSpec.of(1, 1), false, r);      // k = 576
    }

    @Test
    void channelsLastInputsAndWeightsWork() {
        Random r = new Random(23);
        try (Scope s = Scope.open()) {
            NDArray[] x = pair(gpu, r, 2, 6, 9, 9);
            NDArray[] w = pair(gpu, r, 4, 6, 3, 3);
            Conv2dSpec spec = Conv2dSpec.of(1, 1);
            NDArray y = gpu.conv2d(gpu.toLayout(x[0], Layout.CHANNELS_LAST), gpu.toLayout(w[0], Layout.CHANNELS_LAST), null, spec);
            assertNear("conv2d with channels-last operands", y, ref.conv2d(x[1], w[1], null, spec), tol(54));
        }
    }

    @Test
    void algorithmsAreChosenOncePerShapeAndTheWorkspaceStopsGrowing() {
        Random r = new Random(24);
        try (Scope s = Scope.open()) {
            NDArray[] x = pair(gpu, r, 4, 32, 20, 20);
            NDArray[] w = pair(gpu, r, 32, 32, 3, 3);
            Conv2dSpec spec = Conv2dSpec.of(1, 1);
            NDArray y = gpu.conv2d(x[0], w[0], null, spec);
            gpu.conv2dBackwardData(y, w[0], x[0].shape(), spec);
            gpu.conv2dBackwardWeights(y, x[0], w[0].shape(), spec);
            int choices = gpu.cachedConvolutionAlgorithms();
            long workspace = gpu.workspaceBytes();
            for (int i = 0; i < 5; i++) {
                NDArray yy = gpu.conv2d(x[0], w[0], null, spec);
                gpu.conv2dBackwardData(yy, w[0], x[0].shape(), spec);
                gpu.conv2dBackwardWeights(yy, x[0], w[0].shape(), spec);
            }
            assertEquals(choices, gpu.cachedConvolutionAlgorithms());
            assertEquals(workspace, gpu.workspaceBytes());
        }
    }

    private void check(int[] xs, int[] ws, Conv2dSpec spec, boolean bias, Random r) {
        try (Scope s = Scope.open()) {
            NDArray[] x = pair(gpu, r, xs);
            NDArray[] w = pair(gpu, r, ws);
            NDArray[] b = bias ? pair(gpu, r, ws[0]) : new NDArray[2];
            NDArray yr = ref.conv2d(x[1], w[1], b[1], spec);
            String what = "conv2d x " + Shape.of(xs) + " w " + Shape.of(ws) + " " + spec + (bias ? " +bias" : "");
            int g = spec.groups();
            long kFwd = (long) (xs[1] / g) * ws[2] * ws[3];
            long kData = (long) (ws[0] / g) * ws[2] * ws[3];
            long kFilter = (long) xs[0] * yr.shape().dim(2) * yr.shape().dim(3);
            assertNear(what + " forward", gpu.conv2d(x[0], w[0], b[0], spec), yr, tol(kFwd));
            NDArray[] dy = pair(gpu, r, yr.shape().dims());
            assertNear(what + " backward data", gpu.conv2dBackwardData(dy[0], w[0], x[0].shape(), spec),
                    ref.conv2dBackwardData(dy[1], w[1], x[1].shape(), spec), tol(kData));
            assertNear(what + " backward filter", gpu.conv2dBackwardWeights(dy[0], x[0], w[0].shape(), spec),
                    ref.conv2dBackwardWeights(dy[1], x[1], w[1].shape(), spec), tol(kFilter));
        }
    }
}
