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
        requireFinite(file, "model.", model);
        requireFinite(file, "optim.", optim);
        TrainConfig config;
        try {
            config = TrainConfig.fromJson(meta.get(ModelFile.META_TRAIN_CONFIG));
        } catch (OptionException e) {
            throw new TrainingException(file + " holds a training setting that breaks a rule (" + e.getMessage()
                    + "); the file is damaged or from another version: start a new run with --out");
        } catch (TrainingException e) {
            throw new TrainingException(file + ": " + e.getMessage() + "; start a new run with --out", e);
        }
        return new Checkpoint(config, TrainState.fromJson(meta.get(META_STATE)), model, optim);
    }

    /**
     * A checkpoint is written only after a finite loss, so a NaN or infinite weight or optimizer value means the file
     * was damaged after it was written; resuming from it would fail with "the loss became NaN", blaming the
     * training. Refused here, naming the tensor.
     */
    private static void requireFinite(Path file, String prefix, StateDict part) {
        for (Map.Entry<String, HostTensor> e : part.tensors().entrySet()) {
            HostTensor t = e.getValue();
            if (t.dtype() == dev.graft.engine.DType.I64) {
                continue;
            }
            float[] v = t.toFloats();
            for (int i = 0; i < v.length; i++) {
                if (!Float.isFinite(v[i])) {
                    throw new TrainingException(file + " is corrupt: tensor " + prefix + e.getKey() + " holds " + v[i] + " at index " + i
                            + " (a checkpoint is only written after a finite loss); resume from a copy of the run made earlier, "
                            + "or start a new run with --out");
                }
            }
        }
    }
}
