package dev.graft.models;

import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;

import java.util.ArrayList;
import java.util.List;

/**
 * One network's layers, declared once under their PyTorch state-dict names: the {@link Architectures registry}'s
 * families (ResNets, the CBR family) each turn a {@link ResNetConfig} into one of these, and everything else is
 * derived from it: the training modules ({@link ResNet}'s constructor and forward), the fused
 * {@link InferencePlan} (from a model or straight from host tensors), the expected state-dict keys and shapes,
 * the freezing units ({@code --unfreeze-from}, discriminative learning-rate groups) and Grad-CAM's target.
 *
 * <p>{@code layers} run in order on the image; then global average pooling and {@code fc}. The output of layer
 * {@code camLayer} is the feature map Grad-CAM reads ({@link ResNet#featureMap}); the layers after it, the pooling
 * and {@code fc} are the {@link ResNet#head}. {@code units} are the freezing units in network order ({@code fc}
 * last): {@code --unfreeze-from} names a unit's first module, and the first {@code firstGroupSize} units form the
 * early body group of discriminative learning rates, the rest before {@code fc} the late one.
 */
public record Topology(String family, List<Layer> layers, int camLayer, String fc, int featureWidth, int numClasses,
                       List<Unit> units, int firstGroupSize, AuxHead aux) {

    /** A network without an auxiliary head. */
    public Topology(String family, List<Layer> layers, int camLayer, String fc, int featureWidth, int numClasses,
                    List<Unit> units, int firstGroupSize) {
        this(family, layers, camLayer, fc, featureWidth, numClasses, units, firstGroupSize, null);
    }

    public Topology {
        layers = List.copyOf(layers);
        units = List.copyOf(units);
        if (aux != null && (aux.afterLayer() < 0 || aux.afterLayer() >= layers.size())) {
            throw new IllegalArgumentException("aux head after layer " + aux.afterLayer() + " outside the " + layers.size() + " layers");
        }
        if (camLayer < 0 || camLayer >= layers.size()) {
            throw new IllegalArgumentException("camLayer " + camLayer + " outside the " + layers.size() + " layers");
        }
    }

    /** A freezing unit: its name (what {@code --unfreeze-from} takes) and the module paths it holds. */
    public record Unit(String name, List<String> modules) {
        public Unit {
            modules = List.copyOf(modules);
        }
    }

    /** A declared layer. */
    public sealed interface Layer permits ConvBn, Pool, Residual, AvgPool, Branches, Swin, ViT {
    }

    /**
     * {@code conv} (no bias unless {@code convBias}) then batch norm {@code bn}, then a relu when {@code relu};
     * {@code reluModule} is the parameterless ReLU's registered name, or null where the relu belongs to an enclosing
     * block (torchvision's blocks share one {@code relu}). The kernel is {@code kernel} x {@code kernelW} (rows x
     * columns, InceptionV3's 1x7 and 7x1), the batch norm's epsilon {@code eps} (PyTorch's 1e-5; InceptionV3's
     * BasicConv2d 1e-3).
     */
    public record ConvBn(String conv, String bn, String reluModule, boolean relu, int in, int out, int kernel,
                         Conv2dSpec spec, boolean convBias, int kernelW, double eps) implements Layer {
        /** A square kernel and PyTorch's default batch-norm epsilon. */
        public ConvBn(String conv, String bn, String reluModule, boolean relu, int in, int out, int kernel,
                      Conv2dSpec spec, boolean convBias) {
            this(conv, bn, reluModule, relu, in, out, kernel, spec, convBias, kernel, BatchNorm2d.EPS);
        }
    }

    /**
     * A whole Swin Transformer body ({@link SwinTransformer}'s {@code features} and final {@code norm}), run unfused
     * through its modules; its output is the normalised last stage, channels first [N, C, H, W].
     */
    public record Swin(SwinConfig config) implements Layer {
    }

    /**
     * A whole plain vision transformer body ({@link VisionTransformer}'s class token, patch embedding, position
     * embedding, blocks and final norm), run unfused through its modules; its output is the normalised class token
     * as a 1 x 1 map [N, hidden, 1, 1], so global average pooling passes it to the head unchanged.
     */
    public record ViT(ViTConfig config) implements Layer {
    }

    /**
     * A max pool: {@code nn.MaxPool2d} registered as {@code name} at the top level; inside {@link Branches} a
     * functional {@code F.max_pool2d} (no module; {@code name} only names it in exported graphs).
     */
    public record Pool(String name, Pool2dSpec spec) implements Layer {
    }

    /** A functional {@code F.avg_pool2d} (no module, no tensors); {@code name} names it in exported graphs. */
    public record AvgPool(String name, AvgPool2dSpec spec) implements Layer {
    }

    /**
     * Parallel branches on one input whose outputs are concatenated on channels in order ({@code torch.cat(.., 1)}),
     * registered under {@code name} (InceptionV3's {@code Mixed_5b}); each branch's layers run in turn, and are
     * named relative to the block ({@code branch1x1.conv}). A branch may itself end in {@link Branches} (InceptionE's
     * 1x3 / 3x1 split), whose names are relative to the same block ({@code name} empty).
     */
    public record Branches(String name, List<List<Layer>> branches) implements Layer {
        public Branches {
            branches = branches.stream().map(List::copyOf).toList();
        }
    }

    /**
     * An auxiliary classifier that training runs on the output of layer {@code afterLayer} and inference leaves
     * out (InceptionV3's {@code AuxLogits}): {@code layers} (names from the root), global average pooling, then
     * {@code fc} ({@code width} inputs).
     */
    public record AuxHead(int afterLayer, List<Layer> layers, String fc, int width) {
        public AuxHead {
            layers = List.copyOf(layers);
        }
    }

    /**
     * A residual block registered as {@code name} ({@code layer2.0}): its {@code path} (2 convolutions: torchvision's
     * BasicBlock, 3: Bottleneck, names relative to the block), the optional {@code shortcut} (downsample.0 +
     * downsample.1), then add and relu.
     */
    public record Residual(String name, List<ConvBn> path, ConvBn shortcut) implements Layer {
        public Residual {
            path = List.copyOf(path);
        }
    }

    /** Every convolution + batch norm, with names qualified from the root, in network order (shortcut first). */
    public List<ConvBn> convolutions() {
        List<ConvBn> out = new ArrayList<>();
        for (Layer l : layers) {
            if (l instanceof ConvBn c) {
                out.add(c);
            } else if (l instanceof Residual r) {
                if (r.shortcut() != null) {
                    out.add(qualified(r.name(), r.shortcut()));
                }
                for (ConvBn c : r.path()) {
                    out.add(qualified(r.name(), c));
                }
            } else if (l instanceof Branches b) {
                branchConvolutions(b.name(), b, out);
            }
        }
        return out;
    }

    private static void branchConvolutions(String prefix, Branches b, List<ConvBn> out) {
        for (List<Layer> branch : b.branches()) {
            for (Layer l : branch) {
                if (l instanceof ConvBn c) {
                    out.add(qualified(prefix, c));
                } else if (l instanceof Branches inner) {
                    branchConvolutions(join(prefix, inner.name()), inner, out);
                }
            }
        }
    }

    /** {@code prefix.name}, or either alone when the other is empty. */
    static String join(String prefix, String name) {
        return prefix.isEmpty() ? name : name.isEmpty() ? prefix : prefix + "." + name;
    }

    static ConvBn qualified(String prefix, ConvBn c) {
        return new ConvBn(prefix + "." + c.conv(), prefix + "." + c.bn(), c.reluModule() == null ? null
                : prefix + "." + c.reluModule(), c.relu(), c.in(), c.out(), c.kernel(), c.spec(), c.convBias(),
                c.kernelW(), c.eps());
    }

    /** The units before {@code fc} in the first learning-rate group (stem and early blocks). */
    public List<String> earlyModules() {
        return modules(units.subList(0, firstGroupSize));
    }

    /** The units between the early ones and {@code fc}. */
    public List<String> lateModules() {
        return modules(units.subList(firstGroupSize, units.size() - 1));
    }

    /** The names {@code --unfreeze-from} accepts as unit starts. */
    public List<String> unitNames() {
        return units.stream().map(Unit::name).toList();
    }

    private static List<String> modules(List<Unit> us) {
        List<String> out = new ArrayList<>();
        us.forEach(u -> out.addAll(u.modules()));
        return out;
    }
}
