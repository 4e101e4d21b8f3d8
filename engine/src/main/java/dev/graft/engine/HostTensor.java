package dev.graft.engine;

import java.util.Arrays;

/**
 * A tensor's values on the Java heap, device-free: what loaders read and writers write. Data is row-major:
 * {@code float[]} for F32, {@code double[]} for F64, {@code long[]} for I64. {@code sourceType} names the
 * dtype in the file when it was converted on load (float16, bfloat16 and int32 widen; it equals
 * {@code dtype.torchName()} otherwise).
 */
public final class HostTensor {
    private final DType dtype;
    private final Shape shape;
    private final Object data;
    private final String sourceType;

    private HostTensor(DType dtype, Shape shape, Object data, String sourceType) {
        int len = switch (dtype) {
            case F32 -> ((float[]) data).length;
            case F64 -> ((double[]) data).length;
            case I64 -> ((long[]) data).length;
        };
        if (len != shape.numel()) {
            throw ShapeException.of("HostTensor", "the data length must equal the product of the shape", "length", len, "shape", shape);
        }
        this.dtype = dtype;
        this.shape = shape;
        this.data = data;
        this.sourceType = sourceType;
    }

    public static HostTensor of(float[] data, Shape shape) {
        return new HostTensor(DType.F32, shape, data, DType.F32.torchName());
    }

    public static HostTensor of(double[] data, Shape shape) {
        return new HostTensor(DType.F64, shape, data, DType.F64.torchName());
    }

    public static HostTensor of(long[] data, Shape shape) {
        return new HostTensor(DType.I64, shape, data, DType.I64.torchName());
    }

    /** Same values, recorded as converted from {@code sourceType} (e.g. "float16"). */
    public HostTensor withSourceType(String sourceType) {
        return new HostTensor(dtype, shape, data, sourceType);
    }

    /** Copies a tensor's values to the host (F32, F64 or I64 as the tensor is). */
    public static HostTensor of(Tensor t) {
        return switch (t.dtype()) {
            case F32 -> of(t.toFloatArray(), t.shape());
            case F64 -> of(t.toDoubleArray(), t.shape());
            case I64 -> of(t.toLongArray(), t.shape());
        };
    }

    public DType dtype() {
        return dtype;
    }

    public Shape shape() {
        return shape;
    }

    public String sourceType() {
        return sourceType;
    }

    /** The backing array itself (not a copy). */
    public float[] floats() {
        return (float[]) require(DType.F32);
    }

    public double[] doubles() {
        return (double[]) require(DType.F64);
    }

    public long[] longs() {
        return (long[]) require(DType.I64);
    }

    /** Values as floats whatever the dtype (a copy unless F32). */
    public float[] toFloats() {
        return switch (dtype) {
            case F32 -> (float[]) data;
            case F64 -> {
                double[] d = (double[]) data;
                float[] f = new float[d.length];
                for (int i = 0; i < d.length; i++) {
                    f[i] = (float) d[i];
                }
                yield f;
            }
            case I64 -> {
                long[] l = (long[]) data;
                float[] f = new float[l.length];
                for (int i = 0; i < l.length; i++) {
                    f[i] = l[i];
                }
                yield f;
            }
        };
    }

    private Object require(DType want) {
        if (dtype != want) {
            throw new DeviceException("tensor holds " + dtype + ", not " + want);
        }
        return data;
    }

    /** A tensor on {@code device} with these values (a new leaf in the current scope). */
    public Tensor toTensor(Device device) {
        return switch (dtype) {
            case F32 -> Tensor.fromArray(device, (float[]) data, shape.dims());
            case F64 -> Tensor.fromArray(device, DType.F64, (double[]) data, shape.dims());
            case I64 -> Tensor.fromLongs(device, (long[]) data, shape.dims());
        };
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof HostTensor h) || h.dtype != dtype || !h.shape.equals(shape)) {
            return false;
        }
        return switch (dtype) {
            case F32 -> Arrays.equals((float[]) data, (float[]) h.data);
            case F64 -> Arrays.equals((double[]) data, (double[]) h.data);
            case I64 -> Arrays.equals((long[]) data, (long[]) h.data);
        };
    }

    @Override
    public int hashCode() {
        return 31 * shape.hashCode() + dtype.hashCode();
    }

    @Override
    public String toString() {
        return "HostTensor" + shape + " " + dtype + (sourceType.equals(dtype.torchName()) ? "" : " (from " + sourceType + ")");
    }
}
