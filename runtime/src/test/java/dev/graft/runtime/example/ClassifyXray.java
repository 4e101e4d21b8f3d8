package dev.graft.runtime.example;

import dev.graft.runtime.Classifier;
import dev.graft.runtime.Prediction;

import java.nio.file.Path;

public class ClassifyXray {
    public static void main(String[] args) throws Exception {
        try (Classifier classifier = Classifier.load(Path.of(args[0]))) {
            Prediction p = classifier.classify(Path.of(args[1]));
            System.out.printf("%s %.3f%n", p.label(), p.probability());
        }
    }
}
