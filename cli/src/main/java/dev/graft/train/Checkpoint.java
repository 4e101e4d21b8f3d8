package dev.graft.train;

import dev.graft.engine.HostTensor;
import dev.graft.engine.StateDict;
import dev.graft.loaders.StateDicts;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Full training state in one safetensors file, written atomically (temp file, fsync, rename): killing the
 * process at any moment leaves either the previous checkpoint or the new one, never a torn file. Tensors:
 * the model's state under {@code model.}, the optimizer's under {@code optim.}; metadata: configuration and
 * {@link TrainState} as JSON.
 */
public record Checkpoint(TrainConfig config, TrainState state, StateDict model, StateDict optimizer) {
    public static final String FILE = "checkpoint.safetensors";
    static final String META_STATE = "graft.train_state";

    public void write(Path runDir) {
        StateDict sd = new StateDict();
        model.tensors().forEach((k, v) -> sd.put("model." + k, v));
        if (optimizer != null) {
            optimizer.tensors().forEach((k, v) -> sd.put("optim." + k, v));
            optimizer.metadata().forEach((k, v) -> sd.metadata().put("optim." + k, v));
        }
        model.metadata().forEach((k, v) -> sd.metadata().put("model." + k, v));
        sd.metadata().put(ModelFile.META_TRAIN_CONFIG, config.toJson());
        sd.metadata().put(META_STATE, state.toJson());
        StateDicts.write(runDir.resolve(FILE), sd);
    }

    public static boolean exists(Path runDir) {
        return Files.isRegularFile(runDir.resolve(FILE));
    }

    public static Checkpoint read(Path runDir) {
        Path file = runDir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new TrainingException("no checkpoint to resume in " + runDir + " (expected " + FILE + "); start a new run without --resume");
        }
        StateDict sd = StateDicts.read(file);
        Map<String, String> meta = sd.metadata();
        if (!meta.containsKey(ModelFile.META_TRAIN_CONFIG) || !meta.containsKey(META_STATE)) {
            throw new TrainingException(file + " is not a Graft training checkpoint (no training state in its metadata)");
        }
        StateDict model = new StateDict();
        StateDict optim = new StateDict();
        for (Map.Entry<String, HostTensor> e : sd.tensors().entrySet()) {
            if (e.getKey().startsWith("model.")) {
                model.put(e.getKey().substring(6), e.getValue());
            } else if (e.getKey().startsWith("optim.")) {
                optim.put(e.getKey().substring(6), e.getValue());
            }
        }
        meta.forEach((k, v) -> {
            if (k.startsWith("model.")) {
                model.metadata().put(k.substring(6), v);
            } else if (k.startsWith("optim.")) {
                optim.metadata().put(k.substring(6), v);
            }
        });
        return new Checkpoint(TrainConfig.fromJson(meta.get(ModelFile.META_TRAIN_CONFIG)), TrainState.fromJson(meta.get(META_STATE)), model, optim);
    }
}
