package dev.graft.tests.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.cli.GraftCli;
import dev.graft.engine.Device;
import dev.graft.engine.StateDict;
import dev.graft.loaders.SafeTensors;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import dev.graft.study.StudyConfig;
import dev.graft.study.StudyReport;
import dev.graft.study.StudyRunner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A tiny study end to end: 2 architectures (a narrow ResNet and a two-block CBR net, each with stand-in "pretrained"
 * weights) x 2 initializations (random, stats) x 2 seeds on generated 12x12 images, then skip what is done and continue
 * an interrupted run from its checkpoint.
 */
class StudyEndToEndTest {
    static final String CBR = "family=cbr kernel=3 channels=4,8 pools=1,1 classes=2 in_channels=3";

    /** Stand-in "pretrained" weights: a seeded random network of {@code arch}, saved as a weights file (plumbing only). */
    static Path weights(Path dir, String name, String arch) {
        Path file = dir.resolve(name + ".safetensors");
        try (ResNet m = ResNet.builder(ResNetConfig.parse(arch)).device(Device.REFERENCE).seed(5).build()) {
            StateDict sd = m.stateDict();
            sd.metadata().putAll(m.metadata());
            SafeTensors.write(file, sd);
        }
        return file;
    }

    @Test
    void runsTheGridSkipsWhatIsDoneAndContinuesAnInterruptedRun(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data/train"), 1, 10, 10);
        SyntheticImages.folder(dir.resolve("data/val"), 2, 6, 6);
        SyntheticImages.folder(dir.resolve("data/test"), 3, 6, 6);
        Path resnetWeights = weights(dir, "resnet", TrainCommandTest.TINY);
        Path cbrWeights = weights(dir, "cbr", CBR);
        Path config = Files.writeString(dir.resolve("study.yaml"), """
                architectures:
                  - {name: resnet, weights: %s}
                  - {name: cbr, weights: %s}
                initializations: [random, stats]
                datasets:
                  - {name: stripes, data: data}
                seeds: [1, 2]
                train: {image-size: 16, resize-size: 16, batch-size: 10, head-epochs: 0, finetune-epochs: 2, augment: none}
                """.formatted(resnetWeights, cbrWeights));
        StudyConfig cfg = StudyConfig.read(config);
        Path out = dir.resolve("study");
        // First pass: the cbr/stats/seed-2 run stops after one epoch, as a kill would, which stops the study there.
        AtomicInteger trainCalls = new AtomicInteger();
        ByteArrayOutputStream terminal = new ByteArrayOutputStream();
        List<StudyRunner.Outcome> first = new StudyRunner(cfg, out, 1, 1, "reference", args -> {
            trainCalls.incrementAndGet();
            List<String> a = new ArrayList<>(Arrays.asList(args));
            if (String.join(" ", a).contains("cbr/stats/seed-2")) {
                a.addAll(List.of("--stop-after-epochs", "1"));
            }
            return GraftCli.execute(a.toArray(String[]::new));
        }, new PrintStream(terminal, true, StandardCharsets.UTF_8)).run();
        String lines = terminal.toString(StandardCharsets.UTF_8);
        assertEquals(8, first.size());
        assertEquals(8, trainCalls.get(), lines); // the interrupted run is the last cell in grid order
        assertEquals(8, lines.lines().filter(l -> l.matches("\\[\\d+/8] .*")).count(), lines);
        assertTrue(lines.contains("cbr stats seed 2: interrupted"), lines);
        Path interrupted = out.resolve("runs/stripes/cbr/stats/seed-2");
        assertFalse(Files.exists(interrupted.resolve(StudyRunner.MARKER)));
        assertTrue(Files.exists(interrupted.resolve("checkpoint.safetensors")));
        // Each finished run: its own folder, its log, the --init saved in metrics.json's config, the test split read.
        JsonNode m = new ObjectMapper().readTree(out.resolve("runs/stripes/resnet/stats/seed-1/metrics.json").toFile());
        assertEquals("stats", m.get("config").get("init").asText());
        assertTrue(m.has("test"));
        assertTrue(Files.readString(out.resolve("runs/stripes/resnet/stats/seed-1/train.log")).contains("init: stats"));
        assertEquals("random", new ObjectMapper().readTree(out.resolve("runs/stripes/cbr/random/seed-2/metrics.json").toFile())
                .get("config").get("init").asText());

        // Second pass: 7 runs skipped, the interrupted one continued with --resume and tested.
        trainCalls.set(0);
        List<String> calls = new ArrayList<>();
        terminal.reset();
        List<StudyRunner.Outcome> second = new StudyRunner(cfg, out, 1, 1, "reference", args -> {
            trainCalls.incrementAndGet();
            calls.add(String.join(" ", args));
            return GraftCli.execute(args);
        }, new PrintStream(terminal, true, StandardCharsets.UTF_8)).run();
        lines = terminal.toString(StandardCharsets.UTF_8);
        assertEquals(1, trainCalls.get(), lines);
        assertTrue(calls.get(0).startsWith("train --resume " + interrupted), calls.toString());
        assertEquals(7, lines.lines().filter(l -> l.contains("skipped")).count(), lines);
        assertTrue(lines.contains("cbr stats seed 2: auc"), lines);
        JsonNode resumed = new ObjectMapper().readTree(interrupted.resolve("metrics.json").toFile());
        assertTrue(resumed.has("test"), "the study tests a resumed run itself");
        assertEquals("stats", resumed.get("config").get("init").asText(), "--resume keeps the init");
        second.forEach(o -> assertFalse(Double.isNaN(o.value()), o.toString()));
        second.forEach(o -> assertEquals("test", o.split()));

        StudyReport report = new StudyReport(cfg, second);
        report.write(out);
        String md = Files.readString(out.resolve("study.md"));
        assertTrue(md.contains("| resnet |") && md.contains("| cbr |") && md.contains("(n=2)"), md);
        assertEquals(0, report.comparisons().size()); // no pretrained column here: StudyReportTest checks the paired test
        assertEquals(5, Files.readAllLines(out.resolve("study.csv")).size()); // header + 2 archs x 2 inits
        assertTrue(Files.size(out.resolve("study-stripes.png")) > 1000);
    }

    @Test
    void theCommandLineRefusesABadConfigBeforeTraining(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("data"));
        Path config = Files.writeString(dir.resolve("study.json"), """
                {"architectures": [{"name": "a", "arch": "resnet18"}], "initializations": ["imagenet"],
                 "datasets": [{"name": "d", "data": "data"}], "seeds": [0]}""");
        var r = TrainCommandTest.graft("study", "--config", config.toString(), "--out", dir.resolve("out").toString());
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("unknown initialization 'imagenet'"), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
        assertFalse(Files.exists(dir.resolve("out/runs")));
    }
}
