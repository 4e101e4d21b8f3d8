package dev.graft.engine.backend;

/**
 * One SGD update with PyTorch's semantics ({@code torch.optim.SGD}):
 * {@code g += wd*p; buf = first ? g : momentum*buf + (1-dampening)*g; g = nesterov ? g + momentum*buf : buf;
 * p -= lr*g}. With momentum 0 there is no buffer.
 */
public record SgdSpec(double lr, double momentum, double dampening, double weightDecay, boolean nesterov) {
}
