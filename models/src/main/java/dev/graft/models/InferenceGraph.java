package dev.graft.models;

import dev.graft.engine.HostTensor;
import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;

import java.util.List;

/**
 * An {@link InferencePlan} as plain data, for writing it in another format ({@code graft export --onnx}): the
 * operations in the order the plan runs them, over numbered values, with the plan's own folded weights. Value 0 is
 * the input images [N, inChannels, H, W]; every node reads values made by nodes before it and makes value
 * {@code out()}. Exporting the plan rather than the module tree means an exported graph computes what Graft's
 * inference computes, with the same F32 weights bit for bit.
 *
 * @param inChannels the channels of the input images (3, or 1 for a model adapted to grayscale)
 * @param nodes      the operations, in order
 * @param features   the value holding the pooled features [N, featureWidth, 1, 1] (the head's input)
 * @param logits     the value holding the logits [N, classes, 1, 1], made by the last node (the head)
 */
public record InferenceGraph(int inChannels, List<Node> nodes, int features, int logits) {

    public InferenceGraph {
        nodes = List.copyOf(nodes);
    }

    /** One operation: reads values made earlier, makes value {@code out()}. */
    public sealed interface Node permits Convolution, MaxPool, GlobalAveragePool, AveragePool, Concat {
        int out();
    }

    /**
     * {@code out = conv(in, weight) + bias}, then {@code + residual} when {@code residual >= 0}, then relu when
     * {@code relu}: a convolution with the batch norm after it folded in ({@code w' = w * g / sqrt(v + eps)},
     * {@code b' = beta - mean * g / sqrt(v + eps)}), or the head {@code fc} as a 1x1 convolution over the pooled
     * features.
     *
     * @param name      the convolution's state-dict name ({@code layer1.0.conv1}, {@code fc})
     * @param batchNorm the batch norm folded in ({@code layer1.0.bn1}), or null (the head)
     * @param weight    F32, OIHW [out, in / groups, k, k], row-major, as torchvision's convolution weights
     * @param bias      F32 [out]
     */
    public record Convolution(String name, String batchNorm, int in, int residual, int out, HostTensor weight,
                              HostTensor bias, Conv2dSpec spec, boolean relu) implements Node {
        /** The kernel's rows. */
        public int kernel() {
            return weight.shape().dim(2);
        }

        /** The kernel's columns (InceptionV3's 1x7 has 7). */
        public int kernelW() {
            return weight.shape().dim(3);
        }
    }

    /** Max pooling; padded positions never win (as PyTorch's {@code MaxPool2d}); {@code name} is the module's ({@code maxpool}, {@code features.3}). */
    public record MaxPool(int in, int out, Pool2dSpec spec, String name) implements Node {
    }

    /**
     * Average pooling with padding ({@code F.avg_pool2d}); {@code spec.countIncludePad()} says whether padded
     * positions count in the divisor (ONNX {@code count_include_pad}); {@code name} names it ({@code Mixed_5b.avg_pool}).
     */
    public record AveragePool(int in, int out, AvgPool2dSpec spec, String name) implements Node {
    }

    /** Channel concatenation of the values {@code ins} in order ({@code torch.cat(.., 1)}), {@code name} the block's. */
    public record Concat(int[] ins, int out, String name) implements Node {
        public Concat {
            ins = ins.clone();
        }
    }

    /** The mean over each channel's H x W positions: [N, C, H, W] to [N, C, 1, 1]. */
    public record GlobalAveragePool(int in, int out) implements Node {
    }
}
