package dev.graft.train;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.List;

/**
 * The resumable part of a run besides tensors: how many epochs are done, in which phase the saved optimizer
 * state was made, the best score so far and the history. Stored as JSON in the checkpoint's metadata.
 */
public record TrainState(int epochsDone, String optimizerPhase, double bestScore, int bestEpoch, List<EpochRecord> history) {
    private static final ObjectMapper JSON = new ObjectMapper();

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
