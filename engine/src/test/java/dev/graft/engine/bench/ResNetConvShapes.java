package dev.graft.engine.bench;

import dev.graft.engine.Shape;
import dev.graft.engine.backend.Conv2dSpec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every distinct convolution of torchvision's ResNet-18 and ResNet-50 at 224x224 (ResNet-50 v1.5: the stride
 * sits in the 3x3 conv of a bottleneck), walked from the architecture rather than typed in, with the number
 * of times each occurs per network. Used by the kernel-choice test and by the conv benchmark.
 */
public final class ResNetConvShapes {
    private ResNetConvShapes() {
    }

    /** One convolution shape: input [N,c,h,w], weight [k,c,r,r], square stride and padding. */
    public record Conv(int c, int h, int k, int r, int stride, int pad) {
        public Shape x(int batch) {
            return Shape.of(batch, c, h, h);
        }

        public Shape w() {
            return Shape.of(k, c, r, r);
        }

        public Conv2dSpec spec() {
            return Conv2dSpec.of(stride, pad);
        }

        public int out() {
            return Conv2dSpec.outputSize(h, r, stride, pad, 1);
        }

        /** Multiply-adds of one image's forward pass. */
        public long macsPerImage() {
            return (long) k * c * r * r * out() * out();
        }

        public boolean isStem() {
            return c == 3;
        }

        @Override
        public String toString() {
            return c + "->" + k + " " + r + "x" + r + "/" + stride + " @" + h;
        }
    }

    /** A distinct shape and how often it occurs in ResNet-18 and in ResNet-50. */
    public record Occurrence(Conv conv, int inResNet18, int inResNet50) {
    }

    public static List<Occurrence> distinct() {
        Map<Conv, int[]> counts = new LinkedHashMap<>();
        for (Conv c : resnet18()) {
            counts.computeIfAbsent(c, k -> new int[2])[0]++;
        }
        for (Conv c : resnet50()) {
            counts.computeIfAbsent(c, k -> new int[2])[1]++;
        }
        List<Occurrence> out = new ArrayList<>();
        counts.forEach((c, n) -> out.add(new Occurrence(c, n[0], n[1])));
        return out;
    }

    /** Every convolution of ResNet-18 in order (BasicBlock, layers [2, 2, 2, 2]). */
    public static List<Conv> resnet18() {
        List<Conv> convs = stem();
        int in = 64;
        int hw = 56;
        int[] planes = {64, 128, 256, 512};
        for (int layer = 0; layer < 4; layer++) {
            for (int block = 0; block < 2; block++) {
                int stride = layer > 0 && block == 0 ? 2 : 1;
                int p = planes[layer];
                convs.add(new Conv(in, hw, p, 3, stride, 1));
                int out = hw / stride;
                convs.add(new Conv(p, out, p, 3, 1, 1));
                if (stride != 1 || in != p) {
                    convs.add(new Conv(in, hw, p, 1, stride, 0));
                }
                in = p;
                hw = out;
            }
        }
        return convs;
    }

    /** Every convolution of ResNet-50 in order (Bottleneck, expansion 4, layers [3, 4, 6, 3]). */
    public static List<Conv> resnet50() {
        List<Conv> convs = stem();
        int in = 64;
        int hw = 56;
        int[] planes = {64, 128, 256, 512};
        int[] blocks = {3, 4, 6, 3};
        for (int layer = 0; layer < 4; layer++) {
            for (int block = 0; block < blocks[layer]; block++) {
                int stride = layer > 0 && block == 0 ? 2 : 1;
                int width = planes[layer];
                int outC = width * 4;
                convs.add(new Conv(in, hw, width, 1, 1, 0));
                convs.add(new Conv(width, hw, width, 3, stride, 1));
                int out = hw / stride;
                convs.add(new Conv(width, out, outC, 1, 1, 0));
                if (stride != 1 || in != outC) {
                    convs.add(new Conv(in, hw, outC, 1, stride, 0));
                }
                in = outC;
                hw = out;
            }
        }
        return convs;
    }

    private static List<Conv> stem() {
        List<Conv> convs = new ArrayList<>();
        convs.add(new Conv(3, 224, 64, 7, 2, 3));
        return convs;
    }
}
