package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;

/** {@code torch.cat(xs, dim=1)} of NCHW activations; the backward pass cuts the gradient back into the inputs' channels. */
public final class ConcatChannelsFunction extends Function {
    private int[] channels;

    @Override
    protected NDArray forward(NDArray... in) {
        channels = new int[in.length];
        for (int i = 0; i < in.length; i++) {
            channels[i] = in[i].shape().dim(1);
        }
        return in[0].backend().concatChannels(in);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        NDArray[] parts = g.backend().splitChannels(g, channels);
        for (int i = 0; i < parts.length; i++) {
            if (!needsInputGrad(i)) {
                parts[i].buffer().close();
                parts[i] = null;
            }
        }
        return parts;
    }
}
