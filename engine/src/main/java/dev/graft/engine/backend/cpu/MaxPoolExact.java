package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.backend.Pool2dSpec;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * Max pooling with PyTorch's rules in plain Java over NHWC data, for inputs that hold NaN or infinities:
 * oneDNN's max pooling skips NaN (its compare-and-blend never picks one) and starts from -FLT_MAX, while
 * torch propagates NaN and returns -inf for a window of -inf. Windows are scanned row by row; the first
 * maximum wins, a NaN wins and a later NaN replaces it (torch's {@code val > maxval || isnan(val)}); padding never wins. Indices are flat NHWC input indices.
 */
final class MaxPoolExact {
    private MaxPoolExact() {
    }

    /** Writes the outputs of x (NHWC [N,H,W,C]) into y (NHWC [N,P,Q,C]) and, when argmax is non-null, the winners. */
    static void forward(NDArray x, NDArray y, Pool2dSpec p, IntBuffer argmax) {
        int n = x.shape().dim(0), c = x.shape().dim(1), h = x.shape().dim(2), w = x.shape().dim(3);
        int oh = y.shape().dim(2), ow = y.shape().dim(3);
        FloatBuffer in = NativeBuffer.of(x).floats(0, x.numel());
        FloatBuffer out = NativeBuffer.of(y).floats(0, y.numel());
        float[] max = new float[c];
        int[] best = new int[c];
        for (int b = 0; b < n; b++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    java.util.Arrays.fill(best, -1);
                    for (int r = 0; r < p.kernelH(); r++) {
                        int ih = i * p.strideH() - p.padH() + r;
                        for (int s = 0; s < p.kernelW(); s++) {
                            int iw = j * p.strideW() - p.padW() + s;
                            if (ih < 0 || ih >= h || iw < 0 || iw >= w) {
                                continue;
                            }
                            int base = ((b * h + ih) * w + iw) * c;
                            for (int ch = 0; ch < c; ch++) {
                                float v = in.get(base + ch);
                                float m = max[ch];
                                if (best[ch] < 0 || v > m || v != v) {
                                    max[ch] = v;
                                    best[ch] = base + ch;
                                }
                            }
                        }
                    }
                    int o = ((b * oh + i) * ow + j) * c;
                    for (int ch = 0; ch < c; ch++) {
                        out.put(o + ch, max[ch]);
                        if (argmax != null) {
                            argmax.put(o + ch, best[ch]);
                        }
                    }
                }
            }
        }
    }

    /** dx (NHWC, zero-filled here) gets each dy element added at its window's winner. */
    static void backward(NDArray dy, NDArray dx, IntBuffer argmax) {
        FloatBuffer g = NativeBuffer.of(dy).floats(0, dy.numel());
        FloatBuffer d = NativeBuffer.of(dx).floats(0, dx.numel());
        for (int i = 0; i < dx.numel(); i++) {
            d.put(i, 0f);
        }
        for (int i = 0; i < dy.numel(); i++) {
            int k = argmax.get(i);
            d.put(k, d.get(k) + g.get(i));
        }
    }
}
