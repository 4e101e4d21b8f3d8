package dev.graft.engine.backend.reference;

import dev.graft.engine.DType;
import dev.graft.engine.backend.Buffer;

/** F32 or F64 storage in a Java array (the reference backend's memory; freeing drops the array). */
final class HeapBuffer extends Buffer {
    private float[] f;
    private double[] d;

    HeapBuffer(DType dtype, int numel) {
        super(dtype, numel);
        try {
            if (dtype == DType.F32) {
                f = new float[numel];
            } else if (dtype == DType.F64) {
                d = new double[numel];
            } else {
                throw new IllegalArgumentException("heap buffers hold F32 or F64, not " + dtype);
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            abandon(); // the scope must not keep a buffer without storage
            throw e;
        }
    }

    double get(int i) {
        return f != null ? f[i] : d[i];
    }

    /** Stores {@code v}, rounded to float for F32. */
    void set(int i, double v) {
        if (f != null) {
            f[i] = (float) v;
        } else {
            d[i] = v;
        }
    }

    double[] toDoubles() {
        checkOpen();
        double[] out = new double[numel()];
        if (f != null) {
            for (int i = 0; i < out.length; i++) {
                out[i] = f[i];
            }
        } else {
            System.arraycopy(d, 0, out, 0, out.length);
        }
        return out;
    }

    void setAll(double[] values) {
        checkOpen();
        if (f != null) {
            for (int i = 0; i < values.length; i++) {
                f[i] = (float) values[i];
            }
        } else {
            System.arraycopy(values, 0, d, 0, values.length);
        }
    }

    float[] floats() {
        checkOpen();
        return f;
    }

    @Override
    protected void free() {
        f = null;
        d = null;
    }
}
