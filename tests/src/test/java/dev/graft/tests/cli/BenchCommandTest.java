package dev.graft.tests.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code graft bench} at a tiny size on the cpu device (resnet18, as the command takes only named architectures, at
 * 32x32, the smallest image size it takes, batch 3, 7 cached images, no warm-up, one timed iteration, no minimum
 * time): every workload runs and reports a positive, finite throughput and memory figure, on stdout and in
 * {@code --json}; bad options are one-line errors. The figures themselves are not checked: this is a shared machine.
 */
class BenchCommandTest {
    /** Each configuration's result line: name, label, median ms, img/s, (slowest..fastest img/s), peak RSS MiB. */
    private static final Pattern LINE = Pattern.compile(
            "^(\\S+)\\s+(.+?)\\s+median\\s+(\\S+) ms\\s+(\\S+) img/s \\((\\S+)\\.\\.(\\S+)\\)\\s+peak RSS\\s+(\\S+) MiB.*$",
            Pattern.MULTILINE);

    @TempDir
    Path tmp;

    /** The tiny command line; {@code options} (name, value, ...) replace its values or are added (picocli refuses repeats). */
    private static Object[] tiny(Object... options) {
        List<Object> a = new ArrayList<>(List.of("bench", "--arch", "resnet18", "--image-size", 32, "--batch", 3,
                "--cached-images", 7, "--warmup", 0, "--iters", 1, "--min-time", 0, "--device", "cpu"));
        for (int i = 0; i < options.length; i += 2) {
            int at = a.indexOf(options[i]);
            if (at < 0) {
                a.addAll(List.of(options[i], options[i + 1]));
            } else {
                a.set(at + 1, options[i + 1]);
            }
        }
        return a.toArray();
    }

    @Test
    void everyWorkloadReportsAPositiveThroughputAndMemory() throws IOException {
        Path json = tmp.resolve("bench.json");
        Cli.Run r = Cli.ok(tiny("--json", json));
        System.out.print(r.out());
        assertTrue(r.out().startsWith("graft bench on cpu: "), r::toString);

        // name -> label on its line, in the order the command runs them; then the images per iteration of each
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("r18_train_b3", "fine-tune step");
        labels.put("r18_frozen_b3", "frozen step (HOLD)");
        labels.put("r18_cached_b3", "cached head epoch (7 img)");
        labels.put("r18_infer_b1", "inference");
        labels.put("r18_infer_b3", "inference");
        int[] images = {3, 3, 7, 1, 3};

        Matcher m = LINE.matcher(r.out());
        List<String> seen = new ArrayList<>();
        while (m.find()) {
            String name = m.group(1);
            seen.add(name);
            assertEquals(labels.get(name), m.group(2), name);
            for (int g = 3; g <= 7; g++) {
                double v = Double.parseDouble(m.group(g));
                assertTrue(v > 0 && Double.isFinite(v), name + ": field " + g + " = " + m.group(g) + " in\n" + m.group());
            }
        }
        assertEquals(List.copyOf(labels.keySet()), seen, r::toString);

        JsonNode doc = new ObjectMapper().readTree(json.toFile());
        assertEquals("cpu", doc.get("device").asText());
        JsonNode results = doc.get("results");
        assertEquals(labels.size(), results.size());
        int i = 0;
        for (String name : labels.keySet()) {
            JsonNode c = results.get(i);
            assertEquals(name, c.get("config").asText());
            assertEquals(images[i], c.get("images_per_iter").asInt(), name);
            assertEquals(32, c.get("image_size").asInt());
            JsonNode times = c.get("times_s");
            assertEquals(1, times.size(), name + ": --iters 1 and --min-time 0 time exactly one iteration");
            double t = times.get(0).asDouble();
            assertTrue(t > 0 && Double.isFinite(t), name + " time " + t);
            assertEquals(t, c.get("median_s").asDouble(), 0.0, name);
            // the throughput is the images of one iteration over the median time (here the one time); the
            // relative 1e-12 allows for rounding only
            assertEquals(images[i] / t, c.get("img_per_s_median").asDouble(), 1e-12 * images[i] / t, name);
            for (String mem : List.of("peak_rss_mib", "rss_before_mib", "native_peak_in_use_mib", "native_peak_held_mib")) {
                double v = c.get(mem).asDouble();
                assertTrue(v > 0 && Double.isFinite(v), name + ": " + mem + " = " + v);
            }
            assertTrue(c.get("native_peak_held_mib").asDouble() >= c.get("native_peak_in_use_mib").asDouble(), name);
            i++;
        }
    }

    /** deit_s (22 M parameters) at 32 px, batch 2: the model is built for the bench's image size; every workload runs. */
    @Test
    void aVisionTransformerRunsEveryWorkloadAtTheBenchImageSize() {
        Cli.Run r = Cli.ok(tiny("--arch", "deit_s", "--batch", 2, "--cached-images", 2));
        Matcher m = LINE.matcher(r.out());
        int lines = 0;
        while (m.find()) {
            lines++;
        }
        assertEquals(5, lines, r::toString);
        assertTrue(r.out().contains("inference"), r::toString);
    }

    @Test
    void onlySelectsKindsOrConfigurations() {
        assertEquals(List.of("r18_cached_b3"), names(Cli.ok(tiny("--only", "r18_cached_b3"))));
        // at --batch 1 batched inference is batch-1 inference: it runs once
        assertEquals(List.of("r18_infer_b1"), names(Cli.ok(tiny("--only", "infer", "--batch", 1))));
    }

    @Test
    void badOptionsAreOneLineErrors() {
        Cli.userError(tiny("--batch", 0), "--batch 0 is out of range", ">= 1");
        Cli.userError(tiny("--cached-images", 0), "--cached-images 0 is out of range", ">= 1");
        Cli.userError(tiny("--image-size", 16), "--image-size 16 is out of range", "from 32 to 4096");
        Cli.userError(tiny("--only", "training"), "--only 'training' is neither a kind (train, frozen, cached, infer)");
        Cli.userError(tiny("--device", "tpu"), "unknown device 'tpu'");
        Cli.userError(tiny("--arch", "resnet19"), "unknown architecture 'resnet19'", "resnet50");
        // a misspelt second architecture is refused before the first one is timed
        Cli.Run mixed = Cli.userError(tiny("--arch", "resnet18,resnet19"), "unknown architecture 'resnet19'");
        assertEquals(List.of(), names(mixed), mixed::toString);
        // picocli's own parse errors: exit 2, the offending value named, no stack trace
        Cli.Run r = Cli.run(tiny("--batch", "three"));
        assertEquals(2, r.exitCode(), r::toString);
        assertTrue(r.err().contains("Invalid value for option '--batch': 'three' is not an int"), r::toString);
        assertFalse(r.err().contains("\tat "), r::toString);
    }

    private static List<String> names(Cli.Run r) {
        List<String> out = new ArrayList<>();
        Matcher m = LINE.matcher(r.out());
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }
}
