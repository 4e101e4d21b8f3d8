package dev.graft.engine.backend;

/**
 * One AdamW update with PyTorch's semantics ({@code torch.optim.AdamW}, amsgrad off): decoupled decay
 * {@code p *= 1 - lr*wd}, then {@code m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
 * p -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps)}.
 */
public record AdamWSpec(double lr, double beta1, double beta2, double eps, double weightDecay) {
}
