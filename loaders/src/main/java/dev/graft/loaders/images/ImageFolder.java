package dev.graft.loaders.images;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * torchvision's ImageFolder layout: {@code root/CLASS/*.png|jpg|jpeg|bmp}. Classes are the sub-folders in
 * sorted order (label = index), files sorted by name. An empty class folder or a root with no images is an
 * error before any training starts.
 */
public record ImageFolder(Path root, List<String> classes, List<Sample> samples) {

    /** One labelled image file. */
    public record Sample(Path path, int label) {
    }

    public static ImageFolder scan(Path root) {
        if (!Files.isDirectory(root)) {
            throw new DatasetException("dataset folder " + root + " does not exist or is not a folder; expected root/CLASS/*.png|jpg|jpeg|bmp");
        }
        List<Path> classDirs;
        try (Stream<Path> s = Files.list(root)) {
            classDirs = s.filter(Files::isDirectory).filter(p -> !p.getFileName().toString().startsWith(".")).sorted().toList();
        } catch (IOException e) {
            throw new DatasetException("cannot list dataset folder " + root + ": " + e.getMessage(), e);
        }
        if (classDirs.isEmpty()) {
            throw new DatasetException("dataset folder " + root + " has no class sub-folders; expected root/CLASS/*.png|jpg|jpeg|bmp");
        }
        DataLayout.checkClassNames(root, classDirs.stream().map(d -> d.getFileName().toString()).toList());
        List<String> classes = new ArrayList<>();
        List<Sample> samples = new ArrayList<>();
        for (int label = 0; label < classDirs.size(); label++) {
            Path dir = classDirs.get(label);
            classes.add(dir.getFileName().toString());
            List<Path> files;
            try (Stream<Path> s = Files.walk(dir)) {
                files = s.filter(Files::isRegularFile).filter(ImageFolder::isImage).sorted().toList();
            } catch (IOException e) {
                throw new DatasetException("cannot list class folder " + dir + ": " + e.getMessage(), e);
            }
            if (files.isEmpty()) {
                throw new DatasetException("class folder " + dir + " has no images (" + ImageInputs.EXTENSIONS + "); "
                        + "add images or remove the folder");
            }
            for (Path f : files) {
                samples.add(new Sample(f, label));
            }
        }
        return new ImageFolder(root, List.copyOf(classes), List.copyOf(samples));
    }

    public static boolean isImage(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg") || n.endsWith(".bmp") || n.endsWith(".dcm");
    }

    /** Number of samples per class label. */
    public int[] classCounts() {
        return countLabels(samples, classes.size());
    }

    public static int[] countLabels(List<Sample> samples, int numClasses) {
        int[] counts = new int[numClasses];
        for (Sample s : samples) {
            counts[s.label()]++;
        }
        return counts;
    }
}
