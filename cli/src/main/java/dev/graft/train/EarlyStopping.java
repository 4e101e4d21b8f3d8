package dev.graft.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * {@code --patience N}: a segment of the schedule (a phase, or an extension added with {@code --resume}) ends once the
 * monitored validation figure has not improved for N epochs of that segment. Like fastai's EarlyStoppingCallback,
 * which lives for one fit call, the count starts afresh in each segment: phase 1 stopping early moves on to phase 2.
 * Improvement is strict (min_delta 0), judged against the best of the segment so far, whose first epoch sets it; the
 * choice of best.safetensors still runs over all epochs. The stop shortens the segment in the saved schedule, so a
 * resumed run continues with what follows it.
 */
final class EarlyStopping {
    private EarlyStopping() {
    }

    /** The state with the shortened schedule and the stop recorded, and the line that tells the user. */
    record Decision(TrainState state, String message) {
    }

    /** Null when training goes on as planned; {@code score}: larger is better, NaN where undefined. */
    static Decision check(TrainState s, Phase phase, String monitor, ToDoubleFunction<EpochRecord> score) {
        int done = s.epochsDone();
        int end = phase.firstEpoch() + phase.epochs();
        if (s.patience() <= 0 || done >= end) {
            return null;
        }
        int bestEpoch = -1;
        double best = Double.NaN;
        for (EpochRecord r : s.history()) {
            if (r.epoch() > phase.firstEpoch() && r.epoch() <= done) {
                double v = score.applyAsDouble(r);
                if (bestEpoch < 0 || (Double.isFinite(v) && !(v <= best))) {
                    best = v;
                    bestEpoch = r.epoch();
                }
            }
        }
        int stale = done - bestEpoch;
        if (bestEpoch < 0 || stale < s.patience()) {
            return null;
        }
        List<TrainState.Segment> segments = new ArrayList<>();
        int first = 0;
        for (TrainState.Segment seg : s.segments()) {
            boolean current = first == phase.firstEpoch() && seg.phase().equals(phase.name()) && seg.epochs() > 0;
            segments.add(current ? new TrainState.Segment(seg.phase(), done - first) : seg);
            first += seg.epochs();
        }
        String reason = String.format(Locale.ROOT, "validation %s has not improved for %d epoch(s) since epoch %d (patience %d)",
                monitor, stale, bestEpoch, s.patience());
        TrainState next = s.withSegments(segments).withStop(new TrainState.EarlyStop(phase.name(), done, bestEpoch, reason));
        return new Decision(next, "early stopping: " + reason + "; phase " + phase.name() + " ends after epoch " + done
                + " instead of " + end);
    }
}
