package dev.graft.tests.parity;

import dev.graft.engine.Device;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;

/**
 * Transfusion's CBR networks at small widths (committed fixtures made by make_cbr_fixtures.py from a plain PyTorch
 * re-implementation: {@code features = nn.Sequential(conv, bn, relu, pool, ...)}, {@code avgpool}, {@code fc})
 * replayed on the reference backend: the fixture's state dict loads strictly under its PyTorch names, and eval and
 * train logits, losses, gradients, running statistics and one SGD step match within {@link TorchvisionParityTest}'s
 * tolerances (the same float32-vs-double rounding argument; measured figures are printed by each run).
 */
class CbrParityTest {
    private static void replay(String stem) {
        RawFixture f = RawFixture.resource(stem);
        ResNetConfig config = ResNetConfig.parse(f.meta().path("config").asText());
        System.out.println(stem + " (" + config + ")");
        TorchvisionParityTest.check(ModelParity.run(f, config, Device.REFERENCE));
    }

    /** CBR-Tiny's shape: 5x5 kernels, a 3x3/2 max pool after each of the 4 blocks; widths 8-16-16-32. */
    @Test
    void cbrTinyShapedNetworkMatchesPyTorch() {
        replay("cbr_tiny");
    }

    /** CBR-LargeT's shape: 7x7 kernels, 5 blocks, pools after the first four only; widths 4-8-8-16-16. */
    @Test
    void cbrLargeTShapedNetworkMatchesPyTorch() {
        replay("cbr_large_t");
    }
}
