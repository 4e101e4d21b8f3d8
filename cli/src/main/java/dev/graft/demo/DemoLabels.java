package dev.graft.demo;

import dev.graft.train.OutputFiles;
import dev.graft.train.TrainingException;

import javax.imageio.ImageIO;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * A CheXpert-shaped multi-label set over the demo's shipped images (demo/fashion/chexpert/train.csv and valid.csv), so
 * {@code graft train --labels} has data in the repository. Columns as CheXpert's
 * ({@code Path,Sex,Age,Frontal/Lateral,AP/PA,<labels>}) plus {@code Patient}, since the paths point at the shipped
 * images and hold no {@code patientNNNNN} folder. Labels, from the Fashion-MNIST class and the 28x28 8-bit pixels:
 * <ul>
 * <li>Shirt: the image is a Shirt (not a T-shirt/top);</li>
 * <li>Bright: the mean grey level is at least 100 (sum of the 784 pixels >= 78400);</li>
 * <li>Large: at least 486 of the 784 pixels are non-zero (62%);</li>
 * <li>Patterned: the non-zero pixels' population standard deviation is at least 60.</li>
 * </ul>
 * Then, per label field in row order, a seeded draw (seed {@value #SEED}) makes it uncertain ({@code -1.0}) with
 * probability 0.1 or blank with probability 0.1; otherwise it is {@code 1.0} or {@code 0.0}. Patients: the rows, in
 * class then file order, are cut into runs of 1 to 4 images, each run one patient with one sex, age and view. train.csv
 * covers task/train and task/val (320 images), valid.csv the first 50 images of each class of task/test, numbered on.
 */
public final class DemoLabels {
    static final long SEED = 13;
    public static final List<String> LABELS = List.of("Shirt", "Bright", "Large", "Patterned");

    private DemoLabels() {
    }

    /** Writes {@code dataDir}/chexpert/train.csv and valid.csv from the images in {@code dataDir}/task. */
    public static void write(Path dataDir) {
        write(dataDir, dataDir.resolve("chexpert"));
    }

    /** Writes train.csv and valid.csv into {@code outDir} from the images in {@code dataDir}/task. */
    public static void write(Path dataDir, Path outDir) {
        SplittableRandom rng = new SplittableRandom(SEED);
        int[] patient = {0};
        List<String> train = new ArrayList<>(images(dataDir, "task/train", Integer.MAX_VALUE));
        train.addAll(images(dataDir, "task/val", Integer.MAX_VALUE));
        String trainCsv = csv(dataDir, train, rng, patient);
        String validCsv = csv(dataDir, images(dataDir, "task/test", 50), rng, patient);
        try {
            Files.createDirectories(outDir);
            OutputFiles.write(outDir.resolve("train.csv"), trainCsv.getBytes(StandardCharsets.UTF_8));
            OutputFiles.write(outDir.resolve("valid.csv"), validCsv.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new TrainingException("cannot write the demo label CSVs in " + outDir + ": " + e.getMessage(), e);
        }
    }

    /** Relative paths (with /) of a split's images: shirt then tshirt_top, file names sorted, at most {@code perClass} each. */
    private static List<String> images(Path dataDir, String split, int perClass) {
        List<String> out = new ArrayList<>();
        for (String c : List.of("shirt", "tshirt_top")) {
            try (Stream<Path> s = Files.list(dataDir.resolve(split).resolve(c))) {
                s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".png")).sorted().limit(perClass)
                        .forEach(n -> out.add(split + "/" + c + "/" + n));
            } catch (IOException e) {
                throw new TrainingException("cannot list the demo images in " + dataDir.resolve(split) + ": " + e.getMessage(), e);
            }
        }
        return out;
    }

    private static String csv(Path dataDir, List<String> paths, SplittableRandom rng, int[] patient) {
        StringBuilder b = new StringBuilder("Path,Sex,Age,Frontal/Lateral,AP/PA," + String.join(",", LABELS) + ",Patient\n");
        int left = 0;
        String sex = "";
        int age = 0;
        String view = "";
        for (String p : paths) {
            if (left == 0) {
                left = 1 + rng.nextInt(4);
                patient[0]++;
                sex = rng.nextBoolean() ? "Female" : "Male";
                age = 20 + rng.nextInt(70);
                view = rng.nextBoolean() ? "AP" : "PA";
            }
            left--;
            boolean[] truth = truth(dataDir.resolve(p), p.contains("/shirt/"));
            b.append(p).append(',').append(sex).append(',').append(age).append(",Frontal,").append(view);
            for (boolean t : truth) {
                double u = rng.nextDouble();
                b.append(',').append(u < 0.1 ? "-1.0" : u < 0.2 ? "" : t ? "1.0" : "0.0");
            }
            b.append(',').append(String.format("patient%05d", patient[0])).append('\n');
        }
        return b.toString();
    }

    /** The four labels' true values (see the class comment). */
    static boolean[] truth(Path png, boolean shirt) {
        Raster r;
        try {
            r = ImageIO.read(png.toFile()).getRaster();
        } catch (IOException | NullPointerException e) {
            throw new TrainingException("cannot read the demo image " + png, e);
        }
        long sum = 0;
        long sumSq = 0;
        long nonZero = 0;
        for (int y = 0; y < r.getHeight(); y++) {
            for (int x = 0; x < r.getWidth(); x++) {
                long v = r.getSample(x, y, 0);
                if (v > 0) {
                    nonZero++;
                    sum += v;
                    sumSq += v * v;
                }
            }
        }
        // population variance of the non-zero pixels >= 60^2, in integers: n * sumSq - sum^2 >= 3600 n^2
        boolean patterned = nonZero > 0 && nonZero * sumSq - sum * sum >= 3600 * nonZero * nonZero;
        return new boolean[] {shirt, sum >= 78400, nonZero >= 486, patterned};
    }
}
