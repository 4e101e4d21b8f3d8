package dev.graft.engine;

import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.Buffer;

/**
 * A value in the autograd graph: an {@link NDArray} plus, when it requires a gradient, the record of how it
 * was made. A result records its node only when grad mode is on and some input requires grad, so work on a
 * frozen backbone builds no graph. Storage belongs to a {@link Scope}.
 */
public final class Tensor {
    private final NDArray data;
    private boolean requiresGrad;
    private NDArray grad;
    private Node node;

    private Tensor(NDArray data) {
        this.data = data;
    }

    /** Wraps an array as a leaf that requires no gradient. */
    public static Tensor of(NDArray data) {
        return new Tensor(data);
    }

    // ---- creation -------------------------------------------------------------------------------------

    /** F32 tensor from row-major host data. */
    public static Tensor fromArray(Device device, float[] data, int... shape) {
        Shape s = checkedShape(data, shape);
        return new Tensor(Backends.get(device).fromHost(data, s));
    }

    /** Tensor of {@code dtype} (F32 or F64) from row-major host data. */
    public static Tensor fromArray(Device device, DType dtype, double[] data, int... shape) {
        Shape s = checkedShape(data, shape);
        Backend b = Backends.get(device);
        if (!b.supports(dtype)) {
            throw new DeviceException(device + " does not compute in " + dtype + "; use the reference device for F64");
        }
        return new Tensor(b.fromHost(data, s, dtype));
    }

    /** I64 tensor (host-resident whatever the device). */
    public static Tensor fromLongs(Device device, long[] data, int... shape) {
        return new Tensor(Backends.get(device).fromHostLongs(data, checkedShape(data, shape)));
    }

    public static Tensor zeros(Device device, DType dtype, int... shape) {
        return full(device, dtype, 0, shape);
    }

    public static Tensor full(Device device, DType dtype, double value, int... shape) {
        Backend b = Backends.get(device);
        if (dtype == DType.I64) {
            long[] v = new long[Shape.of(shape).numel()];
            java.util.Arrays.fill(v, (long) value);
            return fromLongs(device, v, shape);
        }
        NDArray a = b.empty(dtype, Shape.of(shape), Layout.ROW_MAJOR);
        b.fill(a, value);
        return new Tensor(a);
    }

    /** {@code data} is a float[], double[] or long[]. */
    private static Shape checkedShape(Object data, int[] shape) {
        if (data == null || shape == null) {
            throw new GraftException("fromArray: " + (data == null ? "data" : "shape") + " is null; it is required");
        }
        int length = java.lang.reflect.Array.getLength(data);
        Shape s = Shape.of(shape);
        if (s.numel() != length) {
            throw ShapeException.of("fromArray", "the data length must equal the product of the shape",
                    "length", length, "shape", s);
        }
        return s;
    }

    // ---- metadata -------------------------------------------------------------------------------------

    public NDArray data() {
        return data;
    }

    public Shape shape() {
        return data.shape();
    }

    public DType dtype() {
        return data.dtype();
    }

    public Device device() {
        return data.device();
    }

    public int numel() {
        return data.numel();
    }

    public int dim(int i) {
        return data.shape().dim(i);
    }

    Node node() {
        return node;
    }

    public boolean isLeaf() {
        return node == null;
    }

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Marks a leaf as needing a gradient (a trainable parameter) or not (frozen). */
    public Tensor requiresGrad(boolean flag) {
        if (node != null) {
            throw new GraftException("requiresGrad can only be set on a leaf tensor; use detach() for a non-leaf");
        }
        if (flag && !dtype().isFloating()) {
            throw new GraftException("only floating-point tensors can require gradients, not " + dtype());
        }
        this.requiresGrad = flag;
        return this;
    }

    /** The accumulated gradient, or null before the first backward pass (and after {@link #zeroGrad}). */
    public Tensor grad() {
        return grad == null ? null : new Tensor(grad);
    }

    public NDArray gradArray() {
        return grad;
    }

    /** Frees the gradient (PyTorch's {@code zero_grad(set_to_none=True)}). */
    public void zeroGrad() {
        if (grad != null) {
            grad.buffer().close();
            grad = null;
        }
    }

    /**
     * Adds to the leaf gradient; its storage lives in the scope that owns this tensor. With {@code adoptable} (g is
     * a temporary of the backward pass that nothing else reads) the first gradient takes over g's storage instead
     * of copying it. Returns true when it did.
     */
    boolean accumulateGrad(NDArray g, boolean adoptable) {
        if (!g.shape().equals(shape())) {
            throw new IllegalStateException("gradient shape " + g.shape() + " for tensor " + shape());
        }
        if (grad != null) {
            grad.backend().axpyInPlace(grad, 1, g);
            return false;
        }
        Scope owner = data.buffer().owner();
        if (owner == null || data.buffer().isClosed()) {
            throw new GraftException("backward reached a leaf tensor " + shape() + " whose storage was already "
                    + "freed (its Scope closed, or close() was called), so its gradient has no owner; keep "
                    + "parameters in a scope that outlives the step");
        }
        if (adoptable && g.layout() == data.layout() && g.buffer().numel() == numel()) {
            Scope.transfer(g.buffer(), owner);
            grad = g;
            return true;
        }
        try (Scope.Entered in = owner.enter()) {
            // copyInto changes the layout itself; g.withLayout(...) here would leave a converted temporary
            // in the owner's (long-lived) scope on every step.
            NDArray copy = g.backend().empty(g.dtype(), g.shape(), data.layout());
            g.backend().copyInto(copy, g);
            grad = copy;
        }
        return false;
    }

    /** The same values, cut from the graph. */
    public Tensor detach() {
        return new Tensor(data);
    }

    // ---- backward ---------------------------------------------------------------------------------------

    /** Back-propagates from this scalar (PyTorch's {@code loss.backward()}). */
    public void backward() {
        if (numel() != 1) {
            throw ShapeException.of("backward", "an implicit gradient needs a scalar (one-element) tensor",
                    "shape", shape());
        }
        if (!requiresGrad) {
            throw new GraftException("backward on a tensor that does not require grad: no input of the graph "
                    + "requires a gradient (everything frozen, or recorded under Grad.off())");
        }
        long firstTemporary = Buffer.nextSerial();
        Backend b = data.backend();
        NDArray seed = b.empty(dtype(), shape(), Layout.ROW_MAJOR);
        b.fill(seed, 1);
        Autograd.backward(this, seed, firstTemporary);
    }

    /** Back-propagates {@code gradOutput}, the gradient of some scalar with respect to this tensor. */
    public void backward(Tensor gradOutput) {
        if (gradOutput == null) {
            throw new GraftException("backward: gradOutput is null; use backward() for a scalar");
        }
        if (!gradOutput.device().equals(device()) || gradOutput.dtype() != dtype()) {
            throw new DeviceException("backward: the output gradient must have the tensor's device and dtype (tensor "
                    + dtype() + " on " + device() + ", gradient " + gradOutput.dtype() + " on " + gradOutput.device() + ")");
        }
        if (!gradOutput.shape().equals(shape())) {
            throw ShapeException.of("backward", "the output gradient must have the tensor's shape",
                    "tensor", shape(), "gradient", gradOutput.shape());
        }
        if (!requiresGrad) {
            throw new GraftException("backward on a tensor that does not require grad");
        }
        Autograd.backward(this, gradOutput.data, Buffer.nextSerial());
    }

    // ---- applying primitives ----------------------------------------------------------------------------

    /** Runs {@code fn} and records it when grad mode is on and some input requires grad. */
    static Tensor apply(Function fn, Tensor... inputs) {
        boolean[] needs = new boolean[inputs.length];
        boolean any = false;
        if (Grad.enabled()) {
            for (int i = 0; i < inputs.length; i++) {
                needs[i] = inputs[i] != null && inputs[i].requiresGrad;
                any |= needs[i];
            }
        }
        fn.setNeedsInputGrad(needs);
        NDArray[] arrays = new NDArray[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            arrays[i] = inputs[i] == null ? null : inputs[i].data;
        }
        Tensor out = new Tensor(fn.forward(arrays));
        if (any) {
            out.node = new Node(fn, inputs.clone());
            out.requiresGrad = true;
        } else {
            fn.releaseSaved();
        }
        return out;
    }

    // ---- host access and movement -------------------------------------------------------------------

    /** Values in logical row-major order. */
    public float[] toFloatArray() {
        return data.toFloatArray();
    }

    public double[] toDoubleArray() {
        return data.toDoubleArray();
    }

    public long[] toLongArray() {
        return data.backend().toHostLongs(data);
    }

    /** The single value of a one-element tensor. */
    public double item() {
        if (numel() != 1) {
            throw ShapeException.of("item", "needs a one-element tensor", "shape", shape());
        }
        return dtype() == DType.I64 ? toLongArray()[0] : toDoubleArray()[0];
    }

    /** A copy on {@code device} (a new leaf); this tensor itself if it is already there. */
    public Tensor to(Device device) {
        if (device.equals(device())) {
            return this;
        }
        Backend target = Backends.get(device);
        NDArray moved = switch (dtype()) {
            case I64 -> target.fromHostLongs(toLongArray(), shape());
            case F32 -> target.fromHost(toFloatArray(), shape());
            case F64 -> target.fromHost(toDoubleArray(), shape(), DType.F64);
        };
        return new Tensor(moved);
    }

    /** Frees this tensor's storage now, before its scope closes (views sharing it become unusable). */
    public void close() {
        Buffer b = data.buffer();
        b.close();
        zeroGrad();
    }

    // ---- ops (see Functional for the rest) ------------------------------------------------------------

    public Tensor add(Tensor other) {
        return Functional.add(this, other);
    }

    public Tensor mul(Tensor other) {
        return Functional.mul(this, other);
    }

    public Tensor mul(double alpha) {
        return Functional.scale(this, alpha);
    }

    public Tensor relu() {
        return Functional.relu(this);
    }

    public Tensor reshape(int... shape) {
        return Functional.reshape(this, shape);
    }

    public Tensor flatten(int startDim) {
        return Functional.flatten(this, startDim);
    }

    public Tensor sum() {
        return Functional.sum(this);
    }

    public Tensor mean() {
        return Functional.mean(this);
    }

    public Tensor matmul(Tensor other) {
        return Functional.matmul(this, other, false, false);
    }

    @Override
    public String toString() {
        return "Tensor" + shape() + " " + dtype() + " on " + device() + (requiresGrad ? " (requires grad)" : "");
    }
}
