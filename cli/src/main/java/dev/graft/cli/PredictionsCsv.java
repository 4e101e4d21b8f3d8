package dev.graft.cli;

import dev.graft.train.OutputFiles;
import dev.graft.train.Predictions;
import dev.graft.train.TopLosses;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code predictions.csv} of {@code graft evaluate}: one row per image in the order evaluated, with the columns
 * {@code file, true, p_CLASS... (one per class, in class order), predicted, loss}. The loss is the cross-entropy of
 * the true class, {@code -ln p_true}. Probabilities and losses are written with 8 decimals; fields are quoted as
 * {@link Csv} does.
 */
final class PredictionsCsv {
    private PredictionsCsv() {
    }

    static String text(Predictions p, List<Path> files, int[] predicted, List<String> classes) {
        StringBuilder b = new StringBuilder();
        List<String> header = new ArrayList<>(List.of("file", "true"));
        classes.forEach(c -> header.add("p_" + c));
        header.add("predicted");
        header.add("loss");
        b.append(Csv.record(header));
        for (int i = 0; i < p.labels().length; i++) {
            List<String> row = new ArrayList<>(List.of(files.get(i).toString(), classes.get(p.labels()[i])));
            for (double v : p.probabilities()[i]) {
                row.add(String.format(Locale.ROOT, "%.8f", v));
            }
            row.add(classes.get(predicted[i]));
            row.add(String.format(Locale.ROOT, "%.8f", TopLosses.loss(p.probabilities()[i], p.labels()[i])));
            b.append(Csv.record(row));
        }
        return b.toString();
    }

    static void write(Path file, Predictions p, List<Path> files, int[] predicted, List<String> classes) throws IOException {
        try {
            OutputFiles.write(file, text(p, files, predicted, classes).getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
