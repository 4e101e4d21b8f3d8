package dev.graft.tests.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.engine.StateDict;
import dev.graft.loaders.StateDicts;
import dev.graft.runtime.Classifier;
import dev.graft.runtime.Prediction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Narrow plain vision transformers through the command line, as {@link SwinTrainTest} does for Swin: {@code train}
 * (a head epoch, then fine-tuning from a block, named by its unit) given the configuration line, under timm's DeiT
 * names and torchvision's ViT names; {@code evaluate}, {@code predict} and {@code inspect} on the model file it
 * wrote; the runtime {@link Classifier} on that file gives {@code graft predict}'s probabilities; the file as
 * {@code --weights} for another run at another image size (position embedding interpolated); torch-made {@code .pth}
 * files (the DeiT {@code {"model": ...}} wrapper, torchvision's legacy MLP names) as {@code --weights}. 32x32
 * images, patch 8, width 16: each run takes seconds. End to end, not an accuracy.
 */
class ViTTrainTest {
    static final String DEIT = "family=vit naming=timm image=32 patch=8 hidden=16 depth=2 heads=2 mlp=32 classes=2 in_channels=3";
    static final String VIT = "family=vit naming=torchvision image=32 patch=8 hidden=16 depth=2 heads=2 mlp=32 classes=2 in_channels=3";
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void deitTrainsEvaluatesPredictsAndTheRuntimeAgrees(@TempDir Path dir) throws IOException {
        roundTrip(dir, DEIT, "blocks.1", "blocks.1.mlp.fc2.weight", "head.weight");
    }

    @Test
    void torchvisionViTTrainsEvaluatesPredictsAndTheRuntimeAgrees(@TempDir Path dir) throws IOException {
        roundTrip(dir, VIT, "encoder.layers.encoder_layer_1", "encoder.layers.encoder_layer_1.mlp.3.weight", "heads.head.weight");
    }

    private static void roundTrip(Path dir, String arch, String unit, String blockKey, String headKey) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 1, 8, 8);
        Path run = dir.resolve("run");
        TrainCommandTest.Run r = train(data, run, "--arch", arch, "--image-size", "32", "--unfreeze-from", unit);
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("--bn-policy does not apply"), r.out());
        Path best = run.resolve("best.safetensors");
        StateDict file = StateDicts.read(best);
        assertEquals(arch, file.metadata().get("graft.resnet"));
        assertTrue(file.tensors().containsKey(blockKey) && file.tensors().containsKey(headKey), file.tensors().keySet().toString());

        TrainCommandTest.Run ev = TrainCommandTest.graft("evaluate", "--model", best.toString(), "--data", data.toString(),
                "--out", dir.resolve("eval").toString(), "--no-progress", "--device", "cpu");
        assertEquals(0, ev.code(), ev.out() + ev.err());
        assertTrue(Files.exists(dir.resolve("eval/metrics.json")));

        TrainCommandTest.Run in = TrainCommandTest.graft("inspect", "--json", best.toString());
        assertEquals(0, in.code(), in.err());
        JsonNode a = JSON.readTree(in.out()).get("architecture");
        assertEquals("vit", a.get("family").asText());
        assertEquals(false, a.get("resnet").asBoolean(), "a ViT is not a ResNet");
        assertEquals(true, a.get("registry").asBoolean());
        assertEquals(arch, a.get("config").asText(), "the heads from the file's line, not guessed from the keys");

        // graft predict and the runtime Classifier on the same file and images, same device
        List<Path> images = List.of(data.resolve("vertical/000.png"), data.resolve("horizontal/001.png"), data.resolve("vertical/005.png"));
        List<String> args = new ArrayList<>(List.of("predict", "--model", best.toString(), "--json", "--device", "cpu"));
        images.forEach(p -> args.add(p.toString()));
        TrainCommandTest.Run pr = TrainCommandTest.graft(args.toArray(String[]::new));
        assertEquals(0, pr.code(), pr.out() + pr.err());
        JsonNode rows = JSON.readTree(pr.out());
        double worst = 0;
        try (Classifier c = Classifier.load(best, Classifier.Options.defaults().withDevice("cpu"))) {
            for (int i = 0; i < images.size(); i++) {
                Prediction p = c.classify(images.get(i));
                JsonNode row = rows.get(i);
                assertEquals(row.get("predicted").asText(), p.label(), images.get(i).toString());
                for (int k = 0; k < c.classes().size(); k++) {
                    double cli = row.get("probabilities").get(c.classes().get(k)).asDouble();
                    worst = Math.max(worst, Math.abs(cli - p.probabilities()[k]));
                }
            }
        }
        // Both run the same unfused modules on the same backend and preprocessing; predict batches the three images,
        // the runtime one at a time, and the runtime rounds to float: 1e-6 covers a float rounding of a probability
        // (6e-8) and a reordered float sum in a batched matrix product, which is what can differ.
        System.out.println(arch + ": max |P(predict) - P(Classifier)| = " + worst);
        assertTrue(worst <= 1e-6, "max |P(predict) - P(Classifier)| " + worst);

        // predict --cam writes a heat map per image (the ViT recipe, RegistryViTParityTest checks its values)
        Path cams = dir.resolve("cams");
        TrainCommandTest.Run cam = TrainCommandTest.graft("predict", "--model", best.toString(), "--device", "cpu", "--cam",
                cams.toString(), images.get(0).toString());
        assertEquals(0, cam.code(), cam.out() + cam.err());
        try (var listing = Files.list(cams)) {
            assertEquals(1, listing.count(), "one heat map");
        }

        // ONNX export writes the vision transformer's eval graph (OnnxTransformerExportTest checks its logits) at the trained size
        Path onnx = dir.resolve("vit.onnx");
        TrainCommandTest.Run ex = TrainCommandTest.graft("export", "--model", best.toString(), "--onnx", onnx.toString());
        assertEquals(0, ex.code(), ex.out() + ex.err());
        assertTrue(Files.exists(onnx) && ex.out().contains("[N, 3, 32, 32]"), ex.out());

        // a runtime folder: the runtime's own loader takes the file (unfused), so the export goes through
        Path folder = dir.resolve("runtime");
        TrainCommandTest.Run rt = TrainCommandTest.graft("export", "--model", best.toString(), "--runtime", folder.toString(), "--no-onednn");
        assertEquals(0, rt.code(), rt.out() + rt.err());
        assertTrue(Files.exists(folder.resolve("graft-runtime.jar")) && Files.exists(folder.resolve("model.safetensors")));

        // lr-find on the trained file, fine-tuning from the block unit (its freezing is checked before the sweep)
        TrainCommandTest.Run lr = TrainCommandTest.graft("lr-find", "--data", data.toString(), "--out", dir.resolve("lr").toString(),
                "--image-size", "32", "--resize-size", "32", "--batch-size", "8", "--device", "cpu", "--no-progress", "--workers", "2",
                "--seed", "3", "--weights", best.toString(), "--phase", "finetune", "--unfreeze-from", unit, "--iters", "5");
        assertEquals(0, lr.code(), lr.out() + lr.err());
        assertTrue(lr.out().contains("--bn-policy does not apply"), lr.out());

        // the model file as --weights for a run at 48 px: the position embedding is interpolated, the file reloads at 48
        Path run48 = dir.resolve("run48");
        TrainCommandTest.Run r48 = train(data, run48, "--weights", best.toString(), "--image-size", "48");
        assertEquals(0, r48.code(), r48.out() + r48.err());
        assertTrue(StateDicts.read(run48.resolve("best.safetensors")).metadata().get("graft.resnet").contains(" image=48 "));
        TrainCommandTest.Run pr48 = TrainCommandTest.graft("predict", "--model", run48.resolve("best.safetensors").toString(),
                "--csv", images.get(0).toString());
        assertEquals(0, pr48.code(), pr48.out() + pr48.err());
    }

    @Test
    void torchMadeCheckpointsTrainAsWeights(@TempDir Path dir) throws IOException, URISyntaxException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 1, 6, 6);
        // the fixtures' networks: width 32, 2 heads, 3 classes (a state dict does not record heads: --arch gives them)
        String deit = "family=vit naming=timm image=32 patch=8 hidden=32 depth=2 heads=2 mlp=64 classes=3 in_channels=3";
        TrainCommandTest.Run r = train(data, dir.resolve("deit"), "--weights", fixture("deit_narrow_wrapped.pth").toString(),
                "--arch", deit, "--image-size", "32", "--unfreeze-from", "blocks.1");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("head: replaced"), r.out());
        String vit = deit.replace("naming=timm", "naming=torchvision");
        TrainCommandTest.Run l = train(data, dir.resolve("legacy"), "--weights", fixture("vit_narrow_legacy.pth").toString(),
                "--arch", vit, "--image-size", "32");
        assertEquals(0, l.code(), l.out() + l.err());
        // without the heads, a custom width is refused rather than guessed
        TrainCommandTest.Run g = train(data, dir.resolve("guess"), "--weights", fixture("vit_narrow_legacy.pth").toString(),
                "--image-size", "32");
        assertTrue(g.code() != 0, g.out() + g.err());
        assertTrue(g.err().contains("does not record its number of heads"), g.out() + g.err());
        // re-initialisations that only know convolutions, linear layers and batch norms are refused for a transformer
        TrainCommandTest.Run stats = train(data, dir.resolve("stats"), "--weights", fixture("vit_narrow_legacy.pth").toString(),
                "--arch", vit, "--image-size", "32", "--init", "stats");
        assertTrue(stats.code() != 0 && stats.err().contains("--init stats is not available"), stats.out() + stats.err());
        // an image size the patches do not tile is refused, saying why
        TrainCommandTest.Run bad = train(data, dir.resolve("bad"), "--arch", deit, "--image-size", "36");
        assertTrue(bad.code() != 0 && bad.err().contains("multiple of the patch size 8"), bad.out() + bad.err());
    }

    private static Path fixture(String name) throws URISyntaxException {
        return Path.of(ViTTrainTest.class.getResource("/parity/" + name).toURI());
    }

    private static TrainCommandTest.Run train(Path data, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(), "--resize-size", "48",
                "--batch-size", "8", "--device", "cpu", "--no-progress", "--workers", "2", "--seed", "3", "--head-epochs", "1",
                "--finetune-epochs", "1"));
        a.addAll(List.of(extra));
        return TrainCommandTest.graft(a.toArray(String[]::new));
    }
}
