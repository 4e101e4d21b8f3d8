package dev.graft.engine.backend.cpu;

import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import org.bytedeco.javacpp.Pointer;

import java.nio.FloatBuffer;

/**
 * Unary elementwise kernels and in-place updates as plain loops over the off-heap buffers, split across
 * threads by {@link Parallel}. They are memory-bound, so Java runs them as fast as oneDNN's eltwise
 * (measured on this machine, relu of 25.7M floats: 18 ms one Java thread, 14 ms oneDNN on two), and they
 * can keep PyTorch's exact semantics where oneDNN's kernels do not: oneDNN's jit relu maps NaN to 0 (it is a
 * vmaxps) and its backward multiplies dy by 0, so an inf or NaN gradient leaks through where torch's
 * threshold_backward selects 0. Arithmetic is done in double and rounded once, as the reference backend does.
 * Every in-place kernel bumps the version of what it writes.
 */
final class CpuElementwise {
    private final CpuBackend backend;
    private final CpuReorders reorders;
    private final Parallel parallel;

    CpuElementwise(CpuBackend backend, CpuReorders reorders, Parallel parallel) {
        this.backend = backend;
        this.reorders = reorders;
        this.parallel = parallel;
    }

    /** max(x, 0), NaN kept (torch.relu); 4-D results are channels-last. */
    NDArray relu(NDArray x) {
        NDArray src = reorders.toLayout(x, activationLayout(x), backend);
        NDArray out = output(src, x);
        NativeBuffer in = NativeBuffer.of(src);
        NativeBuffer dst = NativeBuffer.of(out);
        parallel.forEach(x.numel(), (start, n) -> {
            FloatBuffer a = in.floats(start, n);
            FloatBuffer y = dst.floats(start, n);
            for (int i = 0; i < n; i++) {
                // Math.max keeps NaN and maps -0 to +0, as torch.relu; unlike a ternary it has no branch to mispredict.
                y.put(i, Math.max(a.get(i), 0f));
            }
        });
        return out;
    }

    /** relu over x's own storage (no new array, no read-for-ownership of a second one). */
    void reluInPlace(NDArray x) {
        NativeBuffer b = NativeBuffer.of(x);
        parallel.forEach(x.numel(), (start, n) -> {
            FloatBuffer v = b.floats(start, n);
            for (int i = 0; i < n; i++) {
                v.put(i, Math.max(v.get(i), 0f));
            }
        });
        b.bumpVersion();
    }

    /**
     * relu(a + b) for equal shapes in one pass: a float sum is correctly rounded, as oneDNN's binary add, so the
     * values equal add then relu bit for bit. 4-D results are channels-last; b is brought to a's layout first.
     */
    NDArray addRelu(NDArray a, NDArray b) {
        Layout layout = activationLayout(a);
        NDArray as = reorders.toLayout(a, layout, backend);
        NDArray bs = reorders.toLayout(b, layout, backend);
        NDArray out = as.buffer() != a.buffer() ? as : backend.empty(a.dtype(), a.shape(), layout);
        NativeBuffer ab = NativeBuffer.of(as);
        NativeBuffer bb = NativeBuffer.of(bs);
        NativeBuffer ob = NativeBuffer.of(out);
        parallel.forEach(a.numel(), (start, n) -> {
            FloatBuffer av = ab.floats(start, n);
            FloatBuffer bv = bb.floats(start, n);
            FloatBuffer ov = ob.floats(start, n);
            for (int i = 0; i < n; i++) {
                ov.put(i, Math.max(av.get(i) + bv.get(i), 0f));
            }
        });
        CpuReorders.release(bs, b);
        return out;
    }

    /**
     * Exactly 0 where y <= 0 (also where dy is inf or NaN), else dy (also where y is NaN), as torch's
     * threshold_backward; with {@code overwrite} written over dy's storage when it has the layout of the result.
     */
    NDArray reluBackward(NDArray dy, NDArray y, boolean overwrite) {
        Layout layout = activationLayout(y);
        NDArray ys = reorders.toLayout(y, layout, backend);
        NDArray gs = reorders.toLayout(dy, layout, backend);
        NDArray out = overwrite ? gs : output(gs, dy);
        NativeBuffer yb = NativeBuffer.of(ys);
        NativeBuffer gb = NativeBuffer.of(gs);
        NativeBuffer ob = NativeBuffer.of(out);
        parallel.forEach(dy.numel(), (start, n) -> {
            FloatBuffer yv = yb.floats(start, n);
            FloatBuffer gv = gb.floats(start, n);
            FloatBuffer ov = ob.floats(start, n);
            for (int i = 0; i < n; i++) {
                ov.put(i, Float.intBitsToFloat(Float.floatToRawIntBits(gv.get(i)) & passMask(yv.get(i))));
            }
        });
        CpuReorders.release(ys, y);
        return out;
    }

    /** alpha * a, in a's layout. */
    NDArray scale(NDArray a, double alpha) {
        NDArray out = backend.empty(a.dtype(), a.shape(), a.layout());
        NativeBuffer src = NativeBuffer.of(a);
        NativeBuffer dst = NativeBuffer.of(out);
        parallel.forEach(a.numel(), (start, n) -> {
            FloatBuffer x = src.floats(start, n);
            FloatBuffer y = dst.floats(start, n);
            for (int i = 0; i < n; i++) {
                y.put(i, (float) (x.get(i) * alpha));
            }
        });
        return out;
    }

    void scaleInPlace(NDArray a, double alpha) {
        NativeBuffer b = NativeBuffer.of(a);
        parallel.forEach(a.numel(), (start, n) -> {
            FloatBuffer x = b.floats(start, n);
            for (int i = 0; i < n; i++) {
                x.put(i, (float) (x.get(i) * alpha));
            }
        });
        b.bumpVersion();
    }

    /** y += alpha * x; x is brought to y's layout first. */
    void axpyInPlace(NDArray y, double alpha, NDArray x) {
        NDArray xs = reorders.toLayout(x, y.layout(), backend);
        NativeBuffer xb = NativeBuffer.of(xs);
        NativeBuffer yb = NativeBuffer.of(y);
        boolean sum = alpha == 1;
        parallel.forEach(y.numel(), (start, n) -> {
            FloatBuffer xv = xb.floats(start, n);
            FloatBuffer yv = yb.floats(start, n);
            if (sum) {
                // A float sum is correctly rounded, as the double sum rounded once is: same bits, a third of the time
                // (accumulating gradients: 70 ms per ResNet-18 step in double).
                for (int i = 0; i < n; i++) {
                    yv.put(i, yv.get(i) + xv.get(i));
                }
            } else {
                for (int i = 0; i < n; i++) {
                    yv.put(i, (float) (yv.get(i) + alpha * xv.get(i)));
                }
            }
        });
        CpuReorders.release(xs, x);
        yb.bumpVersion();
    }

    void fill(NDArray a, double value) {
        NativeBuffer b = NativeBuffer.of(a);
        float v = (float) value;
        if (Float.floatToRawIntBits(v) == 0) {
            Pointer.memset(b.pointer(), 0, (long) a.numel() * Float.BYTES);
        } else {
            parallel.forEach(a.numel(), (start, n) -> {
                FloatBuffer x = b.floats(start, n);
                for (int i = 0; i < n; i++) {
                    x.put(i, v);
                }
            });
        }
        b.bumpVersion();
    }

    /**
     * All ones where relu's gradient passes, {@code !(y <= 0)}: y > 0 (+inf included) or y NaN (torch's
     * threshold_backward compares {@code y <= 0}, which is false for NaN); 0 for both zeros and negatives. Without a
     * branch: activations are positive about half the time at random, and {@code y > 0 ? dy : 0} mispredicted so
     * often that relu's backward ran at 150 ms per 25.7M floats instead of 15. With b = bits(y): y > 0 or a NaN with
     * the sign bit clear exactly when b > 0 as a signed int, which {@code -b & ~b} has in its sign bit (b = 0 and
     * b = Integer.MIN_VALUE, -0, have it clear); a NaN of either sign has {@code b & 0x7FFFFFFF} above the bits of
     * +inf, so {@code 0x7F800000 - (b & 0x7FFFFFFF)} is negative.
     */
    static int passMask(float y) {
        int b = Float.floatToRawIntBits(y);
        return ((-b & ~b) | (0x7F800000 - (b & 0x7FFFFFFF))) >> 31;
    }

    /** Layout of an activation result: channels-last for 4-D, row-major otherwise. */
    static Layout activationLayout(NDArray a) {
        return a.shape().rank() == 4 ? Layout.CHANNELS_LAST : Layout.ROW_MAJOR;
    }

    /** Where a kernel writes its result: over {@code src} when it is a temporary copy of {@code input}, else a new array. */
    private NDArray output(NDArray src, NDArray input) {
        return src.buffer() != input.buffer() ? src : backend.empty(input.dtype(), input.shape(), src.layout());
    }
}
