package dev.graft.engine.backend.cpu;

import dev.graft.engine.bench.ResNetConvShapes;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernels oneDNN picks for every distinct ResNet-18 and ResNet-50 convolution at 224x224, batch 32 (the
 * benchmark's setting): forward, backward-data and backward-weights must all be optimised kernels. A
 * {@code ref} kernel or {@code jit_uni_ncsp} (plain NCHW/OIHW, measured 100-230x slower than PyTorch in the
 * spike) means the layouts handed to oneDNN regressed. Only descriptors and primitives are built; no
 * activation is allocated.
 */
class CpuConvolutionKernelsTest {
    private static final Pattern SLOW = Pattern.compile("(^|[^a-z])ref([^a-z]|$)|jit_uni_ncsp");

    @Test
    void resnetConvolutionsUseOptimisedKernels() {
        CpuBackend cpu = (CpuBackend) Oracle.CPU;
        List<String> slow = new ArrayList<>();
        List<ResNetConvShapes.Occurrence> shapes = ResNetConvShapes.distinct();
        for (ResNetConvShapes.Occurrence o : shapes) {
            ResNetConvShapes.Conv c = o.conv();
            List<String> kernels = cpu.convolutionImplementations(c.x(32), c.w(), c.spec());
            String[] pass = {"forward", "backward-data", "backward-weights"};
            for (int i = 0; i < 3; i++) {
                if (SLOW.matcher(kernels.get(i)).find()) {
                    slow.add(c + " " + pass[i] + ": " + kernels.get(i));
                }
            }
        }
        // ResNet-18 has 11 distinct shapes, ResNet-50 23; they share the stem and four stride-1 3x3 shapes.
        assertEquals(29, shapes.size(), "distinct ResNet-18/50 convolution shapes");
        assertTrue(slow.isEmpty(), "slow oneDNN kernels picked:\n" + String.join("\n", slow));
    }
}
