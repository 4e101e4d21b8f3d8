package dev.graft.tests.train;

import dev.graft.tests.train.TrainCommandTest.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;

import static dev.graft.tests.train.TrainCommandTest.graft;
import static dev.graft.tests.train.TrainCommandTest.trainArgs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 18 end to end: an image declaring 20000 x 20000 pixels and a truncated JPEG among good ones. Training skips
 * both with a warning naming each (or fails under --strict); predict reports both in their rows, predicts the good
 * image and exits 2; --lenient and --max-image-pixels change the outcome as documented.
 */
class BadImagesTest {
    /** A valid 16 x 16 PNG whose IHDR (CRC recomputed) declares w x h: nothing large is ever allocated. */
    static byte[] pngDeclaring(int w, int h) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(16, 16, BufferedImage.TYPE_BYTE_GRAY), "png", out);
        byte[] b = out.toByteArray();
        ByteBuffer.wrap(b).putInt(16, w).putInt(20, h);
        CRC32 crc = new CRC32();
        crc.update(b, 12, 17); // chunk type and the 13 bytes of IHDR data
        ByteBuffer.wrap(b).putInt(29, (int) crc.getValue());
        return b;
    }

    /** A noisy 64 x 64 JPEG cut at two thirds, inside its entropy-coded data. */
    static byte[] truncatedJpeg() throws IOException {
        BufferedImage img = new BufferedImage(64, 64, BufferedImage.TYPE_BYTE_GRAY);
        java.util.Random r = new java.util.Random(1);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                img.getRaster().setSample(x, y, 0, r.nextInt(256));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "jpeg", out);
        return Arrays.copyOf(out.toByteArray(), out.size() * 2 / 3);
    }

    @Test
    void trainSkipsAndPredictReportsOversizedAndTruncatedImages(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 1, 10, 10);
        Path big = Files.write(data.resolve("horizontal/big.png"), pngDeclaring(20_000, 20_000));
        Path cut = Files.write(data.resolve("vertical/cut.jpg"), truncatedJpeg());

        Path run = dir.resolve("run");
        Run train = graft(trainArgs(data, run, "cpu", "--head-epochs", "1", "--finetune-epochs", "0").toArray(String[]::new));
        assertEquals(0, train.code(), train.out() + train.err());
        for (Path bad : List.of(big, cut)) {
            // Once per loader that meets it: a validation image is met again by the final report's loader.
            assertTrue(train.err().lines().anyMatch(l -> l.startsWith("warning: skipping") && l.contains(bad.toString())),
                    "a warning for " + bad + ":\n" + train.err());
        }
        assertTrue(train.err().contains("20000 x 20000") && train.err().contains("--max-image-pixels"), train.err());
        assertTrue(train.err().contains("truncated or damaged"), train.err());
        assertFalse(train.err().contains("\tat ") || train.err().contains("OutOfMemoryError"), train.err());

        Run strict = graft(trainArgs(data, dir.resolve("strict"), "cpu", "--head-epochs", "1", "--finetune-epochs", "0", "--strict")
                .toArray(String[]::new));
        assertEquals(2, strict.code(), strict.out() + strict.err());
        assertTrue(strict.err().contains("big.png") || strict.err().contains("cut.jpg"), strict.err());
        assertFalse(strict.err().contains("\tat "), "no stack trace: " + strict.err());

        String model = run.resolve("best.safetensors").toString();
        Path good = data.resolve("vertical/000.png");
        Run predict = graft("predict", "--model", model, "--csv", big.toString(), cut.toString(), good.toString());
        assertEquals(2, predict.code(), "partial failure: " + predict.out() + predict.err());
        String[] rows = predict.out().strip().split("\n");
        assertEquals(4, rows.length, predict.out());
        assertTrue(rows[1].startsWith(big + ",,") && rows[1].contains("20000 x 20000") && rows[1].contains("limit"), rows[1]);
        assertTrue(rows[2].startsWith(cut + ",,") && rows[2].contains("truncated or damaged") && rows[2].contains("--lenient"), rows[2]);
        assertTrue(rows[3].matches(java.util.regex.Pattern.quote(good.toString()) + ",(horizontal|vertical),[0-9.]+,[0-9.]+,,[0-9.]*"), rows[3]);
        assertFalse(predict.err().contains("\tat ") || predict.err().contains("internal error"), predict.err());

        // --lenient: the truncated JPEG is predicted on what decoded, with a warning naming it.
        Run lenient = graft("predict", "--model", model, "--csv", "--lenient", cut.toString());
        assertEquals(0, lenient.code(), lenient.out() + lenient.err());
        assertTrue(lenient.err().startsWith("warning: image " + cut) && lenient.err().contains("using the part that decoded"), lenient.err());
        assertTrue(lenient.out().strip().split("\n")[1].matches(java.util.regex.Pattern.quote(cut.toString()) + ",(horizontal|vertical),.*"));

        // A raised limit lets the oversized file through to decoding, where its missing pixel data is the error.
        Run raised = graft("predict", "--model", model, "--csv", "--max-image-pixels", "400000000", big.toString());
        assertEquals(2, raised.code());
        assertFalse(raised.out().contains("limit"), raised.out());
        assertTrue(raised.out().contains(big.toString() + ",,"), raised.out());

        Run evaluate = graft("evaluate", "--model", model, "--data", data.toString(), "--out", dir.resolve("eval").toString(),
                "--no-progress", "--device", "cpu");
        assertEquals(0, evaluate.code(), evaluate.out() + evaluate.err());
        assertTrue(evaluate.err().contains("skipping image " + big) && evaluate.err().contains(cut.toString()), evaluate.err());
    }
}
