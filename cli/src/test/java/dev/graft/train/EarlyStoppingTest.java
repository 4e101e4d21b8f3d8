package dev.graft.train;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** {@link EarlyStopping} on hand-made histories: which epoch stops, and how the schedule is shortened. */
class EarlyStoppingTest {
    private static EpochRecord epoch(String phase, int n, double valLoss) {
        return new EpochRecord(phase, n, 1, 0.5, valLoss, 0.5, Double.NaN, 1e-3, 1, 1, false);
    }

    /** Validation losses of epochs 1.. in one phase; the state after the last of them. */
    private static TrainState state(int patience, List<TrainState.Segment> segments, String phase, double... losses) {
        List<EpochRecord> h = new ArrayList<>();
        for (int i = 0; i < losses.length; i++) {
            h.add(epoch(phase, i + 1, losses[i]));
        }
        return new TrainState(losses.length, phase, 0, 1, h, segments, patience, List.of(), false);
    }

    private static double score(EpochRecord r) {
        return -r.valLoss();
    }

    @Test
    void stopsOncePatienceEpochsPassWithoutAStrictImprovement() {
        List<TrainState.Segment> plan = List.of(new TrainState.Segment("finetune", 10));
        Phase ft = Phase.of(plan).get(0);
        // Best 0.5 at epoch 2; 0.5 again at epoch 4 is not an improvement (strict, as min_delta 0).
        assertNull(EarlyStopping.check(state(2, plan, "finetune", 0.9, 0.5, 0.6), ft, "loss", EarlyStoppingTest::score));
        EarlyStopping.Decision d = EarlyStopping.check(state(2, plan, "finetune", 0.9, 0.5, 0.6, 0.5), ft, "loss", EarlyStoppingTest::score);
        assertNotNull(d);
        assertEquals(List.of(new TrainState.Segment("finetune", 4)), d.state().segments());
        assertEquals(new TrainState.EarlyStop("finetune", 4, 2, "validation loss has not improved for 2 epoch(s) since epoch 2 (patience 2)"),
                d.state().stops().get(0));
        // Off, and never on a segment's last epoch (it ends there anyway).
        assertNull(EarlyStopping.check(state(0, plan, "finetune", 0.9, 0.5, 0.6, 0.5), ft, "loss", EarlyStoppingTest::score));
        List<TrainState.Segment> four = List.of(new TrainState.Segment("finetune", 4));
        assertNull(EarlyStopping.check(state(2, four, "finetune", 0.9, 0.5, 0.6, 0.5), Phase.of(four).get(0), "loss", EarlyStoppingTest::score));
    }

    @Test
    void countsOnlyTheCurrentSegmentAndKeepsTheOthers() {
        // Head epochs 1-2, then fine-tuning 3-8, then an extension 9-12: the extension's count starts at its own epoch 9,
        // although epoch 1 (loss 0.1) is better than anything since.
        List<TrainState.Segment> plan = List.of(new TrainState.Segment("head", 2), new TrainState.Segment("finetune", 6),
                new TrainState.Segment("finetune", 4));
        Phase ext = Phase.of(plan).get(2);
        assertEquals(8, ext.firstEpoch());
        double[] losses = {0.1, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.5, 0.4};
        List<EpochRecord> h = new ArrayList<>();
        for (int i = 0; i < losses.length; i++) {
            h.add(epoch(i < 2 ? "head" : "finetune", i + 1, losses[i]));
        }
        TrainState s = new TrainState(10, "finetune", -0.1, 1, h, plan, 1, List.of(), false);
        assertNull(EarlyStopping.check(s, ext, "loss", EarlyStoppingTest::score), "epoch 10 improved on epoch 9");
        h.add(epoch("finetune", 11, 0.45));
        s = new TrainState(11, "finetune", -0.1, 1, h, plan, 1, List.of(), false);
        EarlyStopping.Decision d = EarlyStopping.check(s, ext, "loss", EarlyStoppingTest::score);
        assertNotNull(d);
        assertEquals(List.of(new TrainState.Segment("head", 2), new TrainState.Segment("finetune", 6), new TrainState.Segment("finetune", 3)),
                d.state().segments());
        assertEquals(11, Phase.of(d.state().segments()).stream().mapToInt(Phase::epochs).sum());
    }

    @Test
    void anUndefinedFigureNeverCountsAsTheBest() {
        // AUC is NaN where validation holds one class: a later finite value improves on it.
        List<TrainState.Segment> plan = List.of(new TrainState.Segment("train", 6));
        Phase p = Phase.of(plan).get(0);
        assertNull(EarlyStopping.check(state(1, plan, "train", Double.NaN, 0.7), p, "auc", r -> r.valLoss()));
        assertNotNull(EarlyStopping.check(state(1, plan, "train", Double.NaN, 0.7, 0.7), p, "auc", r -> r.valLoss()));
    }
}
