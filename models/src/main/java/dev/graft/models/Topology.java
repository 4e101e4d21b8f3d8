package dev.graft.models;

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
                       List<Unit> units, int firstGroupSize) {

    public Topology {
        layers = List.copyOf(layers);
        units = List.copyOf(units);
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
    public sealed interface Layer permits ConvBn, Pool, Residual, Swin {
    }

    /**
     * {@code conv} (no bias unless {@code convBias}) then batch norm {@code bn}, then a relu when {@code relu};
     * {@code reluModule} is the parameterless ReLU's registered name, or null where the relu belongs to an enclosing
     * block (torchvision's blocks share one {@code relu}).
     */
    public record ConvBn(String conv, String bn, String reluModule, boolean relu, int in, int out, int kernel,
                         Conv2dSpec spec, boolean convBias) implements Layer {
    }

    /**
     * A whole Swin Transformer body ({@link SwinTransformer}'s {@code features} and final {@code norm}), run unfused
     * through its modules; its output is the normalised last stage, channels first [N, C, H, W].
     */
    public record Swin(SwinConfig config) implements Layer {
    }

    /** {@code nn.MaxPool2d} registered as {@code name}. */
    public record Pool(String name, Pool2dSpec spec) implements Layer {
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
            }
        }
        return out;
    }

    static ConvBn qualified(String prefix, ConvBn c) {
        return new ConvBn(prefix + "." + c.conv(), prefix + "." + c.bn(), c.reluModule() == null ? null
                : prefix + "." + c.reluModule(), c.relu(), c.in(), c.out(), c.kernel(), c.spec(), c.convBias());
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
