package dev.graft.study;

import dev.graft.train.OptionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** study.yaml / study.json: what is read, and the errors a user can make. */
class StudyConfigTest {
    static final String YAML = """
            architectures:
              - {name: small, weights: w.safetensors}
              - {name: cbr, arch: cbr_tiny}
            initializations: [random, pretrained, stats, "up-to:layer2:stats"]
            datasets:
              - {name: set1, data: data}
            seeds: [1, 2, 3]
            train: {image-size: 32, augment: none, calibrate: true}
            """;

    static Path setUp(Path dir, String name, String text) throws IOException {
        Files.createDirectories(dir.resolve("data"));
        Files.writeString(dir.resolve("w.safetensors"), "x");
        return Files.writeString(dir.resolve(name), text);
    }

    @Test
    void readsYamlWithPathsRelativeToTheFile(@TempDir Path dir) throws IOException {
        StudyConfig c = StudyConfig.read(setUp(dir, "study.yaml", YAML));
        assertEquals(List.of("small", "cbr"), c.architectures().stream().map(StudyConfig.Architecture::name).toList());
        assertEquals(dir.resolve("w.safetensors").toAbsolutePath(), c.architectures().get(0).weights());
        assertEquals("cbr_tiny", c.architectures().get(1).arch());
        assertEquals(List.of("random", "pretrained", "stats", "up-to:layer2:stats"), c.initializations());
        assertEquals(dir.resolve("data").toAbsolutePath(), c.datasets().get(0).data());
        assertEquals(List.of(1L, 2L, 3L), c.seeds());
        assertEquals("auc", c.metric());
        assertEquals("32", c.train().get("image-size"));
        assertEquals("true", c.train().get("calibrate"));
        StudyRunner r = new StudyRunner(c, dir.resolve("out"), 1, 2, "cpu", a -> 0, System.out);
        assertEquals(2 * 4 * 3, r.cells().size());
        List<String> args = r.trainArgs(r.cells().get(9)); // small, up-to:layer2:stats, seed 1
        assertTrue(String.join(" ", args).contains("--transfer-up-to layer2 --init-above stats --seed 1"), args.toString());
        assertTrue(args.contains("--calibrate") && args.contains("--image-size"), args.toString());
        assertEquals(dir.resolve("out/runs/set1/small/up-to-layer2-stats/seed-1"), r.cells().get(9).dir());
    }

    @Test
    void readsJson(@TempDir Path dir) throws IOException {
        StudyConfig c = StudyConfig.read(setUp(dir, "study.json", """
                {"architectures": [{"name": "a", "arch": "resnet18"}], "initializations": ["random"],
                 "datasets": [{"name": "d", "data": "data"}], "seeds": [0], "metric": "accuracy"}"""));
        assertEquals("accuracy", c.metric());
    }

    static String error(Path dir, String text) throws IOException {
        return assertThrows(OptionException.class, () -> StudyConfig.read(setUp(dir, "study.yaml", text))).getMessage();
    }

    @Test
    void errorsNameTheEntryAndWhatToDo(@TempDir Path dir) throws IOException {
        assertTrue(error(dir, YAML.replace("stats,", "imagenet,")).contains("unknown initialization 'imagenet'"));
        assertTrue(error(dir, YAML.replace("up-to:layer2:stats", "up-to:layer2:mean-var")).contains("up-to:UNIT"));
        assertTrue(error(dir, YAML.replace("data: data", "data: nowhere")).contains("is not a folder"));
        assertTrue(error(dir, YAML.replace("{name: set1, data: data}", "{name: set1}")).contains("needs data"));
        assertTrue(error(dir, YAML.replace("weights: w.safetensors", "weights: missing.pth")).contains("do not exist"));
        assertTrue(error(dir, YAML.replace("arch: cbr_tiny", "kind: cbr_tiny")).contains("unknown entry 'kind'"));
        assertTrue(error(dir, YAML.replace("seeds: [1, 2, 3]", "seeds: []")).contains("seeds must be a non-empty list"));
        assertTrue(error(dir, YAML.replace("seeds: [1, 2, 3]", "seeds: [1, 1]")).contains("repeat a seed"));
        assertTrue(error(dir, YAML.replace("seeds: [1, 2, 3]", "seeds: [one]")).contains("whole numbers"));
        assertTrue(error(dir, YAML.replace("name: cbr", "name: small")).contains("listed twice"));
        assertTrue(error(dir, YAML.replace("name: cbr", "name: 'a/b'")).contains("names are"));
        assertTrue(error(dir, YAML.replace("augment: none", "seed: 4")).contains("set by the study"));
        assertTrue(error(dir, YAML + "metric: f1\n").contains("unknown metric 'f1'"));
        assertTrue(error(dir, YAML + "grid: 1\n").contains("unknown entry 'grid'"));
        assertTrue(error(dir, "architectures: [").contains("not valid YAML"));
        assertTrue(error(dir, "- 1\n").contains("top level"));
        String missing = assertThrows(OptionException.class, () -> StudyConfig.read(dir.resolve("none.yaml"))).getMessage();
        assertTrue(missing.contains("no such file"), missing);
    }

    @Test
    void anArchitectureWithoutWeightsGetsOnlyRandomAndTheRestAreNotApplicable(@TempDir Path dir) throws IOException {
        StudyConfig c = StudyConfig.read(setUp(dir, "study.yaml", YAML));
        StudyConfig cbrOnly = new StudyConfig(c.file(), List.of(c.architectures().get(1)), List.of("pretrained", "stats"), c.datasets(),
                List.of(1L), "auc", c.train());
        List<StudyRunner.Outcome> o = new StudyRunner(cbrOnly, dir.resolve("out"), 1, 2, "cpu", a -> {
            throw new AssertionError("no run expected: " + String.join(" ", a));
        }, new java.io.PrintStream(java.io.OutputStream.nullOutputStream())).run();
        assertEquals(2, o.size());
        o.forEach(x -> assertTrue(x.status().startsWith("n/a"), x.status()));
    }
}
