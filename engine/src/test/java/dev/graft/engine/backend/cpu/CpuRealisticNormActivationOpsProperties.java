package dev.graft.engine.backend.cpu;

import dev.graft.engine.Shape;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The checks of {@link CpuNormActivationOpsProperties} (with its stated tolerances) at the sizes DeiT-S and Swin-T
 * train at, batch 32: DeiT-S's layer norm over [32, 197, 384] (eps 1e-6, timm's) and its MLP GELU over
 * [32, 197, 1536]; Swin-T's first stage [32, 56, 56, 96]: layer norm (eps 1e-5, torchvision's), the cyclic shift
 * roll by (-3, -3) on H and W, and zero padding of H and W to a multiple of a window of 7 from
 * 57x57 to 63x63, as Swin pads when the grid is not a multiple of the window. Apart from DeiT-S's layer norm, the
 * default suite runs these at batch 2 to 8 (each row, element or image is computed alike whatever the batch; the
 * weight and bias gradients of layer norm sum over 25088 rows at batch 8) and the batch-32 runs are {@code slow}
 * (3-7 s each on 2 idle cores, three times that under load).
 */
class CpuRealisticNormActivationOpsProperties {

    @Test
    void deitLayerNorm() {
        CpuNormActivationOpsProperties.layerNorm(Shape.of(32, 197, 384), 1e-6, 1);
    }

    @Test
    void swinLayerNormBatch8() {
        CpuNormActivationOpsProperties.layerNorm(Shape.of(8, 56, 56, 96), 1e-5, 3);
    }

    @Test
    @Tag("slow")
    void swinLayerNormBatch32() {
        CpuNormActivationOpsProperties.layerNorm(Shape.of(32, 56, 56, 96), 1e-5, 3);
    }

    @Test
    void swinCyclicShiftRollBatch8() {
        CpuNormActivationOpsProperties.roll(Shape.of(8, 56, 56, 96), new int[] {56 - 3, 56 - 3}, new int[] {1, 2}, false, 4);
    }

    @Test
    @Tag("slow")
    void swinCyclicShiftRollBatch32() {
        CpuNormActivationOpsProperties.roll(Shape.of(32, 56, 56, 96), new int[] {56 - 3, 56 - 3}, new int[] {1, 2}, true, 4);
    }

    @Test
    void deitMlpGeluBatch2() {
        CpuNormActivationOpsProperties.gelu(Shape.of(2, 197, 1536), false, false, 2);
        CpuNormActivationOpsProperties.gelu(Shape.of(2, 197, 1536), true, false, 7);
    }

    @Test
    void swinWindowPaddingBatch4() {
        CpuNormActivationOpsProperties.rollPadCrop(Shape.of(4, 57, 57, 96), new int[] {3, 3}, new int[] {1, 2},
                new int[] {0, 0, 0, 0}, new int[] {0, 6, 6, 0}, true, 6);
    }

    @Test
    @Tag("slow")
    void deitMlpGeluBatch32() {
        CpuNormActivationOpsProperties.gelu(Shape.of(32, 197, 1536), false, false, 2);
    }

    @Test
    @Tag("slow")
    void swinWindowPaddingBatch32() {
        CpuNormActivationOpsProperties.rollPadCrop(Shape.of(32, 57, 57, 96), new int[] {0}, new int[] {0},
                new int[] {0, 0, 0, 0}, new int[] {0, 6, 6, 0}, false, 6);
    }
}
