package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.HostLongBuffer;

/**
 * {@code torch.nn.BatchNorm2d(C)}: eps 1e-5, momentum 0.1, affine, tracking running statistics. Parameters
 * weight, bias; buffers running_mean, running_var (unbiased batch variance folded in) and num_batches_tracked
 * (I64 scalar, +1 per training-mode forward), in torchvision's order.
 *
 * <p>Training mode uses batch statistics and updates the running ones unless the layer is frozen and the
 * policy holds statistics ({@link BatchNormPolicy}); then it normalises with the running statistics and leaves
 * every buffer untouched, whatever {@link #train()} says.
 */
public final class BatchNorm2d extends Module {
    static final String WEIGHT = "weight";
    static final String BIAS = "bias";
    public static final double EPS = 1e-5;
    public static final double MOMENTUM = 0.1;

    private final int numFeatures;
    private final double eps;
    private final Parameter weight;
    private final Parameter bias;
    private final Tensor runningMean;
    private final Tensor runningVar;
    private final Tensor numBatchesTracked;
    private boolean frozen;

    public BatchNorm2d(int numFeatures, Device device, DType dtype) {
        this(numFeatures, EPS, device, dtype);
    }

    /** {@code nn.BatchNorm2d(C, eps=eps)} (InceptionV3's BasicConv2d uses 1e-3). */
    public BatchNorm2d(int numFeatures, double eps, Device device, DType dtype) {
        if (!(eps > 0)) {
            throw new ModelException("BatchNorm2d eps must be positive, got " + eps);
        }
        this.eps = eps;
        if (numFeatures < 1) {
            throw new ModelException("BatchNorm2d(" + numFeatures + "): needs at least one channel");
        }
        this.numFeatures = numFeatures;
        weight = registerParameter(WEIGHT, Tensor.full(device, dtype, 1, numFeatures));
        bias = registerParameter(BIAS, Tensor.zeros(device, dtype, numFeatures));
        runningMean = registerBuffer("running_mean", Tensor.zeros(device, dtype, numFeatures));
        runningVar = registerBuffer("running_var", Tensor.full(device, dtype, 1, numFeatures));
        numBatchesTracked = registerBuffer("num_batches_tracked", Tensor.zeros(device, DType.I64));
    }

    @Override
    public Tensor forward(Tensor x) {
        return forward(x, false);
    }

    /**
     * {@code relu(forward(x))} with the relu fused (torchvision's bn followed by an in-place ReLU): the same values,
     * gradients and statistics, one activation-sized array less.
     */
    public Tensor forwardRelu(Tensor x) {
        return forward(x, true);
    }

    private Tensor forward(Tensor x, boolean relu) {
        boolean batch = usesBatchStatistics();
        Tensor y = relu
                ? Functional.batchNorm2dRelu(x, weight.tensor(), bias.tensor(), runningMean, runningVar, batch, MOMENTUM, eps)
                : Functional.batchNorm2d(x, weight.tensor(), bias.tensor(), runningMean, runningVar, batch, MOMENTUM, eps);
        if (batch) {
            counter()[0]++;
            numBatchesTracked.data().buffer().bumpVersion();
        }
        return y;
    }

    /** The epsilon added to the variance. */
    public double eps() {
        return eps;
    }

    /** True when a forward pass now normalises with (and updates) batch statistics. */
    public boolean usesBatchStatistics() {
        return isTraining() && !(frozen && batchNormPolicy().holdsStatistics());
    }

    /** Frozen as a layer (see {@link BatchNormPolicy} for the rule), whatever its parameters' flags. */
    public boolean isFrozen() {
        return frozen;
    }

    /** Called by freezing only: marks the layer and applies the policy to its weight and bias. */
    void setFrozen(boolean flag) {
        frozen = flag;
        if (flag) {
            boolean affine = batchNormPolicy().keepsAffineTrainable();
            weight.setTrainable(affine);
            bias.setTrainable(affine);
        }
    }

    @Override
    void applyPolicy(BatchNormPolicy policy) {
        super.applyPolicy(policy);
        if (frozen) {
            setFrozen(true);
        }
    }

    private long[] counter() {
        if (!(numBatchesTracked.data().buffer() instanceof HostLongBuffer h)) {
            throw new ModelException("num_batches_tracked of " + this + " is not host I64 storage");
        }
        return h.data();
    }

    public long numBatchesTracked() {
        return counter()[0];
    }

    public int numFeatures() {
        return numFeatures;
    }

    public Parameter weight() {
        return weight;
    }

    public Parameter bias() {
        return bias;
    }

    public Tensor runningMean() {
        return runningMean;
    }

    public Tensor runningVar() {
        return runningVar;
    }

    @Override
    public String toString() {
        return "BatchNorm2d(" + numFeatures + (frozen ? ", frozen, " + batchNormPolicy().metadataValue() : "") + ") '"
                + path() + "'";
    }
}
