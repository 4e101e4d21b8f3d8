package dev.graft.cli;

import dev.graft.engine.DType;
import dev.graft.engine.GraftException;
import dev.graft.engine.HostTensor;
import dev.graft.loaders.Npy;
import dev.graft.models.ResNetConfig;

import java.nio.file.Path;
import java.util.Set;

/** Reads and checks {@code graft forward}'s arrays; every error names the file and says what was expected. */
final class ForwardInputs {
    private static final Set<String> LABEL_TYPES = Set.of("int64", "int32");

    private ForwardInputs() {
    }

    /** float32 [N, C, H, W] with N, H, W >= 1. */
    static HostTensor images(Path file) {
        HostTensor x = FileChecks.reading("--input", () -> Npy.read(file));
        if (x.dtype() != DType.F32 || !x.sourceType().equals("float32")) {
            throw new GraftException("--input " + file + " holds " + x.sourceType() + "; graft forward takes float32 "
                    + "images (in NumPy: x.astype(np.float32))");
        }
        int[] d = x.shape().dims();
        if (d.length != 4 || d[0] < 1 || d[2] < 1 || d[3] < 1) {
            throw new GraftException("--input " + file + " has shape " + x.shape() + "; expected a non-empty batch of "
                    + "images [N, C, H, W] (rank 4, NCHW)");
        }
        return x;
    }

    /** int64 or int32 class indices [batch]. */
    static long[] labels(Path file, int batch) {
        HostTensor y = FileChecks.reading("--labels", () -> Npy.read(file));
        if (y.dtype() != DType.I64 || !LABEL_TYPES.contains(y.sourceType())) {
            throw new GraftException("--labels " + file + " holds " + y.sourceType() + "; expected class indices as "
                    + "int64 or int32");
        }
        if (y.shape().rank() != 1 || y.shape().dim(0) != batch) {
            throw new GraftException("--labels " + file + " has shape " + y.shape() + "; expected one label per image: ["
                    + batch + "]");
        }
        return y.longs();
    }

    static void checkChannels(Path file, HostTensor x, ResNetConfig config) {
        if (x.shape().dim(1) != config.inChannels()) {
            int c = x.shape().dim(1);
            throw new GraftException("--input " + file + " has " + c + (c == 1 ? " channel" : " channels") + " (shape " + x.shape()
                    + "); the model takes " + config.inChannels() + ": images [N, " + config.inChannels() + ", H, W]");
        }
    }

    /** The labels as ints after checking each lies in [0, classes). */
    static int[] checkRange(Path file, long[] y, int classes) {
        int[] out = new int[y.length];
        for (int i = 0; i < y.length; i++) {
            if (y[i] < 0 || y[i] >= classes) {
                throw new GraftException("--labels " + file + ": label " + y[i] + " at index " + i + " is out of range; "
                        + "the model has " + classes + " classes, so labels must be in [0, " + classes + ")");
            }
            out[i] = (int) y[i];
        }
        return out;
    }
}
