package dev.graft.train;

import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.ImageFolder;
import dev.graft.loaders.images.ImageFolder.Sample;
import dev.graft.loaders.images.Sampling;

import java.nio.file.Path;
import java.util.List;

/** The run's classes and its train/validation samples: a validation folder, or a seeded stratified split (by patient with --patient-regex). */
record RunData(List<String> classes, List<Sample> train, List<Sample> validation, int positiveClass) {

    static RunData prepare(TrainConfig cfg) {
        ImageFolder train = ImageFolder.scan(Path.of(cfg.data()));
        if (train.classes().size() < 2) {
            throw new DatasetException("dataset " + cfg.data() + " has one class folder (" + train.classes()
                    + "); a classifier needs at least two");
        }
        List<Sample> trainSamples;
        List<Sample> valSamples;
        if (cfg.val() != null) {
            ImageFolder val = ImageFolder.scan(Path.of(cfg.val()));
            if (!val.classes().equals(train.classes())) {
                throw new DatasetException("validation classes " + val.classes() + " differ from training classes "
                        + train.classes() + "; both folders need the same class sub-folders");
            }
            trainSamples = train.samples();
            valSamples = val.samples();
        } else {
            Sampling.Split s = cfg.patientRegex() == null
                    ? Sampling.stratified(train.samples(), train.classes().size(), cfg.valFraction(), cfg.seed())
                    : PatientSplit.split(train.samples(), train.classes().size(), cfg.valFraction(), cfg.seed(),
                            PatientSplit.compile(cfg.patientRegex()));
            if (s.validation().isEmpty()) {
                throw new DatasetException("too few images in " + cfg.data() + " to hold out a validation set; add images or pass --val DIR");
            }
            trainSamples = s.train();
            valSamples = s.validation();
        }
        int positive = -1;
        if (train.classes().size() == 2) {
            positive = 1;
            if (cfg.positiveClass() != null) {
                positive = train.classes().indexOf(cfg.positiveClass());
                if (positive < 0) {
                    throw new DatasetException("--positive-class '" + cfg.positiveClass() + "' is not one of the classes " + train.classes());
                }
            }
        }
        return new RunData(train.classes(), trainSamples, valSamples, positive);
    }

    int[] trainCounts() {
        return ImageFolder.countLabels(train, classes.size());
    }

    /** Per-class loss weights: none, "auto" (N / (C * count), sklearn's "balanced"), or a comma list. */
    float[] classWeights(String spec) {
        if (spec == null || spec.equals("none")) {
            return null;
        }
        int c = classes.size();
        float[] w = new float[c];
        if (spec.equals("auto")) {
            int[] counts = trainCounts();
            for (int k = 0; k < c; k++) {
                w[k] = counts[k] == 0 ? 0 : (float) (train.size() / (double) (c * counts[k]));
            }
            return w;
        }
        String[] parts = spec.split(",");
        if (parts.length != c) {
            throw new TrainingException("--class-weights needs " + c + " values (one per class " + classes + "), got '" + spec + "'");
        }
        for (int k = 0; k < c; k++) {
            try {
                w[k] = Float.parseFloat(parts[k].trim());
            } catch (NumberFormatException e) {
                throw new TrainingException("--class-weights: '" + parts[k] + "' is not a number");
            }
            if (!(w[k] >= 0)) {
                throw new TrainingException("--class-weights must be >= 0");
            }
        }
        return w;
    }
}
