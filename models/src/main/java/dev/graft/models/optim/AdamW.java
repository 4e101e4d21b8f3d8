package dev.graft.models.optim;

import dev.graft.engine.DType;
import dev.graft.engine.HostTensor;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import dev.graft.engine.backend.AdamWSpec;
import dev.graft.models.Parameter;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code torch.optim.AdamW} (amsgrad and maximize off): decoupled decay {@code p *= 1 - lr*wd}, then
 * {@code m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)},
 * through the backend's fused {@code adamwUpdate}. State (m, v and the step t per parameter, as PyTorch keeps
 * it) is created at a parameter's first update. Defaults as PyTorch: lr 1e-3, betas (0.9, 0.999), eps 1e-8,
 * weight decay 1e-2.
 */
public final class AdamW extends Optimizer {
    public static final String EXP_AVG = "exp_avg";
    public static final String EXP_AVG_SQ = "exp_avg_sq";
    public static final String STEP = "step";

    private final double beta1;
    private final double beta2;
    private final double eps;
    private final Map<Parameter, Moments> moments = new IdentityHashMap<>();

    private static final class Moments {
        NDArray m;
        NDArray v;
        long step;
    }

    private AdamW(Builder b, List<ParamGroup> groups) {
        super("adamw", groups, b.lr, b.weightDecay);
        check(b.beta1 >= 0 && b.beta1 < 1 && b.beta2 >= 0 && b.beta2 < 1, "betas must be in [0, 1), got (" + b.beta1 + ", " + b.beta2 + ")");
        check(b.eps >= 0, "eps must be >= 0, got " + b.eps);
        this.beta1 = b.beta1;
        this.beta2 = b.beta2;
        this.eps = b.eps;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options shared by all groups; learning rate and weight decay are defaults that groups may override. */
    public static final class Builder {
        private double lr = 1e-3;
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double eps = 1e-8;
        private double weightDecay = 1e-2;

        private Builder() {
        }

        public Builder lr(double v) {
            lr = v;
            return this;
        }

        public Builder betas(double b1, double b2) {
            beta1 = b1;
            beta2 = b2;
            return this;
        }

        public Builder eps(double v) {
            eps = v;
            return this;
        }

        public Builder weightDecay(double v) {
            weightDecay = v;
            return this;
        }

        public AdamW build(List<ParamGroup> groups) {
            return new AdamW(this, groups);
        }

        public AdamW build(java.util.Collection<Parameter> parameters) {
            return build(List.of(ParamGroup.of("all", parameters)));
        }
    }

    @Override
    protected void update(Parameter p, NDArray values, NDArray grad, double lr, double weightDecay) {
        Moments s = moments.get(p);
        if (s == null) {
            s = new Moments();
            s.m = newState(values);
            s.v = newState(values);
            moments.put(p, s);
        }
        s.step++;
        values.backend().adamwUpdate(values, grad, s.m, s.v, new AdamWSpec(lr, beta1, beta2, eps, weightDecay), s.step);
        s.m.buffer().bumpVersion();
        s.v.buffer().bumpVersion();
    }

    @Override
    public int stateCount() {
        return moments.size();
    }

    @Override
    public boolean hasState(Parameter p) {
        return moments.containsKey(p);
    }

    /** Updates taken by {@code p} so far (0 when it has none). */
    public long step(Parameter p) {
        Moments s = moments.get(p);
        return s == null ? 0 : s.step;
    }

    @Override
    protected void exportState(Parameter p, StateDict out) {
        Moments s = moments.get(p);
        if (s != null) {
            out.put(p.name() + "." + EXP_AVG, toHost(s.m));
            out.put(p.name() + "." + EXP_AVG_SQ, toHost(s.v));
            out.put(p.name() + "." + STEP, HostTensor.of(new long[] {s.step}, Shape.scalar()));
        }
    }

    @Override
    protected void importState(Parameter p, Map<String, HostTensor> fields) {
        HostTensor m = fields.get(EXP_AVG);
        HostTensor v = fields.get(EXP_AVG_SQ);
        HostTensor t = fields.get(STEP);
        check(m != null && v != null && t != null && fields.size() == 3,
                "AdamW state of " + p.name() + " needs exactly exp_avg, exp_avg_sq and step, got " + fields.keySet());
        Moments s = new Moments();
        s.m = stateFromHost(m, p.tensor().data());
        s.v = stateFromHost(v, p.tensor().data());
        s.step = t.dtype() == DType.I64 ? t.longs()[0] : (long) t.toFloats()[0];
        check(s.step >= 1, "step of " + p.name() + " must be >= 1, got " + s.step);
        moments.put(p, s);
    }

    @Override
    protected void clearState() {
        for (Moments s : moments.values()) {
            s.m.buffer().close();
            s.v.buffer().close();
        }
        moments.clear();
    }
}
