import dev.graft.runtime.Classifier;
import dev.graft.runtime.Prediction;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;

/**
 * Parity check of bench/inference_bench.sh (SECTIONS=ort), run as a source file on the runtime's class path:
 * {@code java -cp CP bench/ort/GraftLogits.java MODEL IMAGE} classifies the decoded image through the runtime's public
 * API (the folded and fused plan, Classifier.classify(BufferedImage)) and prints IMAGE, label, probability and the
 * logits, comma-separated, as OrtBench classify --logits and inference_bench_torch.py --cold-start --logits print them.
 */
public final class GraftLogits {
    public static void main(String[] args) throws Exception {
        BufferedImage img = ImageIO.read(Path.of(args[1]).toFile());
        try (Classifier c = Classifier.load(Path.of(args[0]))) {
            Prediction p = c.classify(img);
            StringBuilder line = new StringBuilder(args[1] + "\t" + p.label() + "\t" + String.format(java.util.Locale.ROOT, "%.4f", p.probability()));
            float[] l = p.logits();
            for (int i = 0; i < l.length; i++) {
                line.append(i == 0 ? "\t" : ",").append(l[i]);
            }
            System.out.println(line);
        }
    }
}
