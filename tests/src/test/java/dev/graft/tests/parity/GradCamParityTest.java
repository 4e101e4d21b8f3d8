package dev.graft.tests.parity;

import dev.graft.engine.Device;
import dev.graft.engine.Grad;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Backends;
import dev.graft.models.GradCam;
import dev.graft.models.Parameter;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Grad-CAM and Grad-CAM++ against maps computed by hand in torch (make_cam_fixtures.py: a narrow seeded
 * torchvision ResNet, 2 images of 72x40, layer4 16x3x2; image 0 explained for its predicted class, image 1 for
 * another). Deviations are relative to the largest magnitude of torch's tensor. The differences are float32
 * rounding of the forward pass (torch and Graft sum in different orders), carried into the maps; the bounds are
 * about 10x the worst figure measured over reference and cpu, fused and unfused.
 */
class GradCamParityTest {
    /** layer4's output: measured 4.8e-7; bound 5e-6. */
    static final double ACTIVATIONS = 5e-6;
    /**
     * Coarse maps (before upsampling), both methods: measured 3.6e-6 (Grad-CAM, image 1, whose weighted sum
     * cancels positive and negative channels, which magnifies the rounding of A); bound 4e-5.
     */
    static final double COARSE = 4e-5;
    /** Upsampled maps in [0, 1] (absolute, since their largest value is 1): measured 2.9e-6; bound 4e-5. */
    static final double MAPS = 4e-5;

    @ParameterizedTest(name = "{0}, fused {1}")
    @CsvSource({"reference, true", "reference, false", "cpu, true", "cpu, false"})
    void mapsMatchTorch(String deviceName, boolean fused) {
        Device device = Device.parse(deviceName);
        Assumptions.assumeTrue(Backends.availability(device.kind()).available(), deviceName + " backend is not available here");
        RawFixture f = RawFixture.resource("cam");
        ResNetConfig config = ResNetConfig.parse(f.meta().path("config").asText());
        int n = f.meta().path("batch").asInt();
        int height = f.meta().path("height").asInt();
        int width = f.meta().path("width").asInt();
        int[] classes = f.labels("classes");
        try (ResNet m = ResNet.builder(config).device(device).initialize(false).build(); Scope s = Scope.open()) {
            m.load(f.stateDict("init/"), true);
            m.eval();
            m.setFusedInference(fused);
            Tensor x = f.get("input").toTensor(device);
            try (Grad.Mode off = Grad.off()) {
                Tensor a = m.featureMap(x);
                report("activations", a.toFloatArray(), f.get("activations").toFloats(), ACTIVATIONS);
                assertArrayEquals(m.forward(x).toFloatArray(), m.head(a).toFloatArray(), 1e-5f,
                        "head(featureMap(x)) is forward(x)");
            }
            for (GradCam.Method method : GradCam.Method.values()) {
                String key = method == GradCam.Method.GRAD_CAM ? "gradcam" : "gradcampp";
                // image 0 asks for its predicted class through PREDICTED, image 1 names its class
                List<GradCam.Explanation> e = new GradCam(m, method).explain(x, new int[] {GradCam.PREDICTED, classes[1]});
                assertEquals(n, e.size());
                float[] coarse = f.get(key + "/coarse").toFloats();
                float[] maps = f.get(key + "/map").toFloats();
                int plane = coarse.length / n;
                for (int i = 0; i < n; i++) {
                    assertEquals(classes[i], e.get(i).classIndex(), key + " class of image " + i);
                    assertTrue(e.get(i).finite());
                    assertEquals(height, e.get(i).map().length);
                    assertEquals(width, e.get(i).map()[0].length);
                    report(key + " coarse " + i, flat(e.get(i).coarse()), slice(coarse, i * plane, plane), COARSE);
                    report(key + " map " + i, flat(e.get(i).map()), slice(maps, i * height * width, height * width), MAPS);
                }
                assertArrayEquals(slice(f.get("logits").toFloats(), 0, config.numClasses()), e.get(0).logits(), 1e-5f);
            }
            for (Parameter p : m.parameters()) {
                assertNull(p.tensor().grad(), "Grad-CAM gave " + p.name() + " a gradient");
            }
        }
    }

    private static void report(String what, float[] got, float[] want, double bound) {
        assertEquals(want.length, got.length, what + " size");
        double scale = 0;
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            scale = Math.max(scale, Math.abs(want[i]));
        }
        for (int i = 0; i < want.length; i++) {
            worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(scale, 1e-30));
        }
        System.out.printf("%-22s relative deviation %.2e (bound %.0e)%n", what, worst, bound);
        assertTrue(worst <= bound, what + ": relative deviation " + worst + " beyond " + bound);
    }

    private static float[] flat(float[][] m) {
        float[] out = new float[m.length * m[0].length];
        for (int y = 0; y < m.length; y++) {
            System.arraycopy(m[y], 0, out, y * m[0].length, m[0].length);
        }
        return out;
    }

    private static float[] slice(float[] v, int from, int count) {
        float[] out = new float[count];
        System.arraycopy(v, from, out, 0, count);
        return out;
    }
}
