package dev.graft.runtime.example;

import dev.graft.runtime.Classifier;
import dev.graft.runtime.Prediction;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;

public class ClassifyXray {
    public static void main(String[] args) throws Exception {
        BufferedImage image = ImageIO.read(Path.of(args[1]).toFile());
        try (Classifier classifier = Classifier.load(Path.of(args[0]))) {
            Prediction p = classifier.classify(image);
            System.out.printf("%s %.3f%n", p.label(), p.probability());
        }
    }
}
