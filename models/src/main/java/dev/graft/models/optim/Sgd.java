package dev.graft.models.optim;

import dev.graft.engine.HostTensor;
import dev.graft.engine.NDArray;
import dev.graft.engine.StateDict;
import dev.graft.engine.backend.SgdSpec;
import dev.graft.models.Parameter;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code torch.optim.SGD} (maximize off): {@code g += wd*p; buf = first ? g : momentum*buf + (1-dampening)*g;
 * g = nesterov ? g + momentum*buf : buf; p -= lr*g}, through the backend's fused {@code sgdUpdate}. The
 * momentum buffer is created at a parameter's first update, so frozen parameters never get one.
 */
public final class Sgd extends Optimizer {
    public static final String MOMENTUM_BUFFER = "momentum_buffer";

    private final double momentum;
    private final double dampening;
    private final boolean nesterov;
    private final Map<Parameter, NDArray> buffers = new IdentityHashMap<>();

    private Sgd(Builder b, List<ParamGroup> groups) {
        super("sgd", groups, b.lr, b.weightDecay);
        check(b.lr >= 0, "learning rate must be >= 0, got " + b.lr);
        check(b.momentum >= 0, "momentum must be >= 0, got " + b.momentum);
        check(b.dampening >= 0, "dampening must be >= 0, got " + b.dampening);
        check(!b.nesterov || (b.momentum > 0 && b.dampening == 0), "nesterov momentum requires a momentum and zero dampening");
        this.momentum = b.momentum;
        this.dampening = b.dampening;
        this.nesterov = b.nesterov;
    }

    /** {@code lr} has no default, as in PyTorch's SGD. */
    public static Builder builder(double lr) {
        return new Builder(lr);
    }

    /** Options shared by all groups; learning rate and weight decay are defaults that groups may override. */
    public static final class Builder {
        private final double lr;
        private double momentum;
        private double dampening;
        private double weightDecay;
        private boolean nesterov;

        private Builder(double lr) {
            this.lr = lr;
        }

        public Builder momentum(double v) {
            momentum = v;
            return this;
        }

        public Builder dampening(double v) {
            dampening = v;
            return this;
        }

        public Builder weightDecay(double v) {
            weightDecay = v;
            return this;
        }

        public Builder nesterov(boolean v) {
            nesterov = v;
            return this;
        }

        public Sgd build(List<ParamGroup> groups) {
            return new Sgd(this, groups);
        }

        /** One group over these parameters. */
        public Sgd build(java.util.Collection<Parameter> parameters) {
            return build(List.of(ParamGroup.of("all", parameters)));
        }
    }

    @Override
    protected void update(Parameter p, NDArray values, NDArray grad, double lr, double weightDecay) {
        SgdSpec spec = new SgdSpec(lr, momentum, dampening, weightDecay, nesterov);
        NDArray buf = null;
        boolean first = false;
        if (momentum != 0) {
            buf = buffers.get(p);
            if (buf == null) {
                buf = newState(values);
                buffers.put(p, buf);
                first = true;
            }
        }
        values.backend().sgdUpdate(values, grad, buf, spec, first);
        if (buf != null) {
            buf.buffer().bumpVersion();
        }
    }

    @Override
    public int stateCount() {
        return buffers.size();
    }

    @Override
    public boolean hasState(Parameter p) {
        return buffers.containsKey(p);
    }

    /** The momentum buffer's values, or null before the first update (or with momentum 0). */
    public float[] momentumBuffer(Parameter p) {
        NDArray b = buffers.get(p);
        return b == null ? null : b.toFloatArray();
    }

    @Override
    protected void exportState(Parameter p, StateDict out) {
        NDArray b = buffers.get(p);
        if (b != null) {
            out.put(p.name() + "." + MOMENTUM_BUFFER, toHost(b));
        }
    }

    @Override
    protected void importState(Parameter p, Map<String, HostTensor> fields) {
        for (Map.Entry<String, HostTensor> f : fields.entrySet()) {
            check(f.getKey().equals(MOMENTUM_BUFFER), "unknown SGD state field '" + f.getKey() + "' for " + p.name());
            check(momentum != 0, "the saved state has momentum buffers but this SGD has momentum 0");
            buffers.put(p, stateFromHost(f.getValue(), p.tensor().data()));
        }
    }

    @Override
    protected void clearState() {
        buffers.values().forEach(b -> b.buffer().close());
        buffers.clear();
    }
}
