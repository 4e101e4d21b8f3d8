package dev.graft.models.optim;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.models.Linear;
import dev.graft.models.Parameter;

/** A small F64 linear model with a quadratic loss, so gradients change from step to step. */
final class OptimizerTestSupport {
    private OptimizerTestSupport() {
    }

    static Linear linear() {
        Linear l = new Linear(3, 2, true, Device.REFERENCE, DType.F64);
        StateDict s = new StateDict()
                .put("weight", HostTensor.of(new double[] {0.5, -0.3, 0.8, 0.1, 0.9, -0.7}, Shape.of(2, 3)))
                .put("bias", HostTensor.of(new double[] {0.2, -0.4}, Shape.of(2)));
        l.load(s, true);
        return l;
    }

    /** loss = 0.5 * sum((x w^T + b)^2) for a fixed x; fills the gradients. */
    static void backward(Linear l) {
        Tensor x = Tensor.fromArray(Device.REFERENCE, DType.F64, new double[] {1, 2, -1, 0.5, -1.5, 2}, 2, 3);
        Tensor y = l.forward(x);
        Functional.scale(Functional.sum(y.mul(y)), 0.5).backward();
    }

    static double[] values(Parameter p) {
        return p.tensor().toDoubleArray();
    }

    static double[] grad(Parameter p) {
        return p.grad().toDoubleArray();
    }
}
