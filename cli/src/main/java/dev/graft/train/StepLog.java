package dev.graft.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code steps.csv} in the run folder: one row per optimizer step, appended (and so on disk) as the step ends:
 * {@code epoch,step,global_step,phase,lr,loss,images_per_s}. epoch and step count from 1, step within its epoch;
 * lr is the largest group's rate for the step, loss the batch's mean loss, images_per_s the batch's images over the
 * time since the previous step ended (data loading included). A resumed run first drops the rows of epochs after
 * its checkpoint (the epoch a kill interrupted, logged but not saved), then appends, so no step appears twice.
 * The file is opened per row: microseconds against a training step's milliseconds, and nothing to close.
 */
public final class StepLog {
    static final String HEADER = "epoch,step,global_step,phase,lr,loss,images_per_s";

    private final Path file;
    private long globalStep;
    private long last = System.nanoTime();

    private StepLog(Path file, long globalStep) {
        this.file = file;
        this.globalStep = globalStep;
    }

    /** Keeps the rows of the first {@code epochsDone} epochs (none for a new run) and continues after them. */
    public static StepLog resume(Path file, int epochsDone) {
        try {
            List<String> kept = new ArrayList<>();
            kept.add(HEADER);
            long global = 0;
            if (epochsDone > 0 && Files.exists(file)) {
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    String[] f = line.split(",");
                    if (f.length != 7 || line.equals(HEADER)) {
                        continue;
                    }
                    try {
                        if (Integer.parseInt(f[0]) <= epochsDone) {
                            kept.add(line);
                            global = Math.max(global, Long.parseLong(f[2]));
                        }
                    } catch (NumberFormatException e) {
                        // a torn row from a kill mid-write: dropped
                    }
                }
            }
            OutputFiles.write(file, (String.join("\n", kept) + "\n").getBytes(StandardCharsets.UTF_8));
            return new StepLog(file, global);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** Starts the clock for an epoch's first step. */
    public void startEpoch() {
        last = System.nanoTime();
    }

    /** Appends one step; {@code epoch} and {@code step} from 1. */
    public void log(int epoch, int step, String phase, double lr, double loss, int images) {
        long now = System.nanoTime();
        double seconds = Math.max(1e-9, (now - last) / 1e9);
        last = now;
        globalStep++;
        String row = String.format(Locale.ROOT, "%d,%d,%d,%s,%.6e,%.6f,%.1f%n", epoch, step, globalStep, phase, lr, loss, images / seconds);
        try {
            Files.writeString(file, row, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + file, e);
        }
    }
}
