package dev.graft.train;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.List;

/**
 * The resumable part of a run besides tensors: how many epochs are done, in which phase the saved optimizer
 * state was made, the best score so far and the history. Stored as JSON in the checkpoint's metadata.
 * <p>
 * {@code segments} is the run's schedule as it now stands: the phases planned from its settings, shortened where
 * early stopping ended one, with the extensions of {@code --resume RUN --finetune-epochs N} appended (null in
 * checkpoints written before segments existed: the plan from the settings). {@code patience} is {@code --patience}
 * (0: off), {@code stops} says why segments ended early, and {@code finished} is true once the final report was
 * written (false in older checkpoints: their run is finished when every planned epoch is done).
 */
public record TrainState(int epochsDone, String optimizerPhase, double bestScore, int bestEpoch, List<EpochRecord> history,
                         List<Segment> segments, int patience, List<EarlyStop> stops, boolean finished) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One stretch of epochs of one phase ({@link Phase#HEAD}, {@link Phase#FINETUNE} or {@link Phase#TRAIN}), with its own schedule. */
    public record Segment(String phase, int epochs) {
    }

    /** A segment that early stopping ended: at which epoch, and why. */
    public record EarlyStop(String phase, int epoch, int bestEpoch, String reason) {
    }

    public TrainState(int epochsDone, String optimizerPhase, double bestScore, int bestEpoch, List<EpochRecord> history) {
        this(epochsDone, optimizerPhase, bestScore, bestEpoch, history, null, 0, List.of(), false);
    }

    public TrainState {
        stops = stops == null ? List.of() : List.copyOf(stops);
        segments = segments == null ? null : List.copyOf(segments);
    }

    TrainState withSegments(List<Segment> s) {
        return new TrainState(epochsDone, optimizerPhase, bestScore, bestEpoch, history, s, patience, stops, finished);
    }

    TrainState withPatience(int p) {
        return new TrainState(epochsDone, optimizerPhase, bestScore, bestEpoch, history, segments, p, stops, finished);
    }

    TrainState withStop(EarlyStop stop) {
        List<EarlyStop> s = new ArrayList<>(stops);
        s.add(stop);
        return new TrainState(epochsDone, optimizerPhase, bestScore, bestEpoch, history, segments, patience, s, finished);
    }

    TrainState withFinished(boolean f) {
        return new TrainState(epochsDone, optimizerPhase, bestScore, bestEpoch, history, segments, patience, stops, f);
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static TrainState fromJson(String json) {
        try {
            return JSON.readValue(json, TrainState.class);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new TrainingException("the checkpoint's training state is unreadable: " + e.getOriginalMessage());
        }
    }
}
