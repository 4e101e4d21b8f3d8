package dev.graft.tests.differential;

import dev.graft.engine.Device;
import dev.graft.models.BatchNormPolicy;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The network-level differential harness on CBR-Tiny's shape (5x5 convolutions, a 3x3/2 max pool after each of four
 * blocks) at small widths: the cpu backend against the reference backend in F64 with the activation pattern replayed,
 * as for the ResNet draws. CBR networks use only operations the harness already covers (convolution, batch norm,
 * relu, max pool, global average pool, linear).
 */
class CbrDifferentialTest {
    private static final ResNetConfig TINY = ResNetConfig.named("cbr_tiny", 3).withWidths(4, 8, 8, 16, 16);

    @Test
    void trainingStepOnCpuMatchesTheReference() {
        NetworkCase draw = new NetworkCase(TINY, 2, 41, 37, true, null, BatchNormPolicy.TRACK, 11);
        NetworkDifferential.Outcome o = NetworkDifferential.run(draw, Device.CPU);
        assertTrue(o.failures().isEmpty(), o.report());
    }

    @Test
    void frozenFirstBlocksAndFusedEvalMatchTheReference() {
        NetworkDifferential.Outcome o = NetworkDifferential.run(
                new NetworkCase(TINY, 2, 36, 36, true, "features.8", BatchNormPolicy.HOLD, 12), Device.CPU);
        assertTrue(o.failures().isEmpty(), o.report());
        o = NetworkDifferential.run(new NetworkCase(TINY, 3, 33, 40, false, "all", BatchNormPolicy.TRACK, 13), Device.CPU);
        assertTrue(o.failures().isEmpty(), o.report());
    }
}
