package dev.graft.engine;

import java.util.Arrays;

/** An immutable list of dimension sizes; image batches are logically NCHW, as in PyTorch. */
public final class Shape {
    private static final Shape SCALAR = new Shape(new int[0]);

    private final int[] dims;
    private final long numel;

    private Shape(int[] dims) {
        long n = 1;
        for (int d : dims) {
            if (d < 0) {
                throw new ShapeException("shape " + Arrays.toString(dims) + " has a negative size; sizes must be >= 0");
            }
            // Saturate at 2^32: a product of ints can overflow a long (65536^4 = 2^64); a later 0 still gives 0.
            n = Math.min(n * d, 1L << 32);
        }
        if (n > Integer.MAX_VALUE - 8) {
            throw new ShapeException("shape " + Arrays.toString(dims) + " has " + (n == 1L << 32 ? "at least 2^32" : n)
                    + " elements; at most 2^31 - 9 elements per tensor are supported");
        }
        this.dims = dims;
        this.numel = n;
    }

    public static Shape of(int... dims) {
        return dims.length == 0 ? SCALAR : new Shape(dims.clone());
    }

    public static Shape of(long... dims) {
        int[] d = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0 || dims[i] > Integer.MAX_VALUE) {
                throw new ShapeException("shape " + Arrays.toString(dims) + " has a size outside [0, 2^31)");
            }
            d[i] = (int) dims[i];
        }
        return new Shape(d);
    }

    public static Shape scalar() {
        return SCALAR;
    }

    public int rank() {
        return dims.length;
    }

    /** Size of dimension {@code i}; negative {@code i} counts from the end, as in PyTorch. */
    public int dim(int i) {
        int k = i < 0 ? dims.length + i : i;
        if (k < 0 || k >= dims.length) {
            throw new ShapeException("dimension " + i + " is out of range for a rank-" + dims.length + " shape " + this);
        }
        return dims[k];
    }

    public int[] dims() {
        return dims.clone();
    }

    public int numel() {
        return (int) numel;
    }

    /** Row-major strides in elements. */
    public int[] strides() {
        int[] s = new int[dims.length];
        int acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= dims[i];
        }
        return s;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape other && Arrays.equals(dims, other.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
