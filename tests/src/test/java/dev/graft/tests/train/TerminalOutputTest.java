package dev.graft.tests.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What a person sees: {@code graft train} and {@code graft evaluate} run as separate processes under a
 * pseudo-terminal (util-linux {@code script}, which .ci/run installs), and the output is replayed as a terminal
 * shows it (each carriage return starts the line over, later text overwriting earlier). Every bar must end at its
 * total exactly once and be finished before the line that sums it up; no summary line may carry bar text; rates
 * never read ".0 img/s"; and the data line states the images the dropped last batch leaves out, so that the bar
 * counts what the data line says. A warning printed while a bar is drawn (an unreadable image that evaluate skips)
 * takes a line of its own, and the bar goes on below it. A second run writes to a pipe, as CI logs and {@code | tee} do: no carriage
 * returns at all, and one line per epoch.
 */
class TerminalOutputTest {
    private static final String TINY = TrainCommandTest.TINY;
    /** 30 + 30 images, 20% held out: 48 to train on; batches of 10 leave 8 out of each epoch (PyTorch's drop_last). */
    private static final int EPOCHS = 2;
    private static final Pattern BAR = Pattern.compile("^(.+?)\\s+(\\d+)% (?:\\[[=> ]*\\] )?(\\d+)/(\\d+) img\\s.*img/s.*$");
    /** What only a bar prints: its count ("40/40 img"). */
    private static final Pattern BAR_TEXT = Pattern.compile("\\d+/\\d+ img");
    private static final Pattern EPOCH_LINE = Pattern.compile("^train\\s+epoch\\s+(\\d+)/" + EPOCHS + "  train loss \\S+ acc\\s+\\S+%  "
            + "val loss \\S+ acc \\(argmax\\)\\s+\\S+%( auc \\S+)?  lr \\S+  \\S+s \\((\\d+|\\d\\.\\d|\\?) img/s\\)(  \\*best)?$");

    @Test
    void barsEndOnceBeforeTheirSummariesUnderATerminal(@TempDir Path dir) throws Exception {
        assumeTrue(utilLinuxScript(), "needs util-linux script(1) for a pseudo-terminal (Debian's bsdutils; .ci/run installs it)");
        Path data = SyntheticImages.folder(dir.resolve("data"), 5, 30, 30);
        Path run = dir.resolve("run");
        // evaluate reads the same images plus one that cannot be decoded: its warning comes while the bar is drawn.
        Path withBroken = SyntheticImages.folder(dir.resolve("evaluate"), 5, 30, 30);
        Files.write(withBroken.resolve("vertical/zz-broken.png"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        String train = shell(graft(trainArgs(data, run)));
        String evaluate = shell(graft(List.of("evaluate", "--model", run.resolve("best.safetensors").toString(), "--data", withBroken.toString(),
                "--out", dir.resolve("eval").toString(), "--device", "cpu", "--batch-size", "16")));
        Path log = dir.resolve("pty.txt");
        // -q: no start/end banners; -f: flush as written; -e: exit with the command's status; -c: the command.
        Process p = new ProcessBuilder("script", "-qfec", train + " && " + evaluate, "/dev/null")
                .redirectErrorStream(true).redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        assertTrue(p.waitFor(3, TimeUnit.MINUTES), "the runs did not finish");
        String raw = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), raw);
        List<String> lines = screen(raw);
        assertTrue(raw.contains("\r") && lines.stream().anyMatch(l -> BAR.matcher(l).matches()),
                "no bars were drawn: the run did not see a terminal:\n" + raw);
        assertFalse(Pattern.compile("(^|[^0-9])\\.\\d+ img/s").matcher(raw).find(), "a rate printed as '.N img/s':\n" + raw);

        String dataLine = lines.stream().filter(l -> l.startsWith("data: ")).findFirst().orElseThrow(() -> new AssertionError(raw));
        assertTrue(dataLine.contains("48 training images") && dataLine.contains("(40 per epoch: the last 8 ")
                && dataLine.contains("do not fill a batch of 10 and are dropped"), dataLine);

        // The order of events: per epoch its training bar, its validation bar, its line; then the final validation
        // bar(s) before the table; then evaluate's bar before its table.
        List<String> events = new ArrayList<>();
        for (String l : lines) {
            Matcher bar = BAR.matcher(l);
            if (bar.matches()) {
                String task = bar.group(1).strip();
                // evaluate's bar counts the images it scored: all but the skipped one.
                long left = task.equals("evaluate") ? 1 : 0;
                assertEquals(Long.parseLong(bar.group(4)) - left, Long.parseLong(bar.group(3)), () -> "a bar that ends short of its total: " + l
                        + "\n" + raw);
                assertEquals(left == 0 ? "100" : "98", bar.group(2), () -> "a bar left before its end: " + l + "\n" + raw);
                if (task.startsWith("train ")) {
                    assertEquals("40", bar.group(4), () -> "the training bar counts the images an epoch sees, as the data line says: " + l);
                }
                events.add("bar " + task);
            } else if (l.contains("img/s") && !l.contains(" epoch ")) {
                throw new AssertionError("bar text on a line that is not a bar: '" + l + "'\n" + raw);
            } else if (l.contains(" epoch ")) {
                Matcher m = EPOCH_LINE.matcher(l);
                assertTrue(m.matches(), () -> "an epoch line with something else on it: '" + l + "'\n" + raw);
                events.add("epoch " + m.group(1));
            } else if (l.startsWith("metric ")) {
                events.add("table");
            } else if (l.startsWith("warning: skipping")) {
                assertTrue(l.endsWith("zz-broken.png: not a PNG, JPEG or BMP file ImageIO can read (use --strict to fail instead)"),
                        () -> "a warning line with something else on it: '" + l + "'\n" + raw);
                events.add("warning");
            } else {
                assertFalse(BAR_TEXT.matcher(l).find(), () -> "bar text on line '" + l + "'\n" + raw);
            }
        }
        List<String> expected = new ArrayList<>();
        for (int e = 1; e <= EPOCHS; e++) {
            expected.addAll(List.of("bar train " + e + "/" + EPOCHS, "bar validate", "epoch " + e));
        }
        expected.add("bar final validation");
        if (events.contains("bar best model")) {
            expected.add("bar best model"); // the best epoch is not the last one: its model is validated too
        }
        expected.addAll(List.of("table", "warning", "bar evaluate", "table"));
        assertEquals(expected, events, raw);
    }

    @Test
    void aPipeGetsPlainLinesOnePerEpoch(@TempDir Path dir) throws Exception {
        Path data = SyntheticImages.folder(dir.resolve("data"), 5, 30, 30);
        Process p = new ProcessBuilder(graft(trainArgs(data, dir.resolve("run")))).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(3, TimeUnit.MINUTES), "the run did not finish");
        assertEquals(0, p.exitValue(), out);
        assertFalse(out.contains("\r"), "carriage returns in piped output:\n" + out);
        assertFalse(BAR_TEXT.matcher(out).find(), "bar text in piped output:\n" + out);
        for (int e = 1; e <= EPOCHS; e++) {
            String tag = " epoch " + String.format("%2d", e) + "/" + EPOCHS + " ";
            long n = out.lines().filter(l -> l.contains(tag)).count();
            assertEquals(1, n, "lines for epoch " + e + ":\n" + out);
            assertTrue(out.lines().filter(l -> l.contains(tag)).allMatch(l -> EPOCH_LINE.matcher(l).matches()), out);
        }
    }

    private static List<String> trainArgs(Path data, Path out) {
        return List.of("train", "--data", data.toString(), "--out", out.toString(), "--arch", TINY, "--image-size", "16", "--resize-size", "16",
                "--batch-size", "10", "--device", "cpu", "--workers", "2", "--seed", "3", "--head-epochs", "1",
                "--finetune-epochs", Integer.toString(EPOCHS - 1));
    }

    /**
     * The lines as a terminal leaves them: a carriage return moves back to the start of the line and later text
     * overwrites earlier text character by character (what a shorter redraw fails to cover stays visible). The
     * terminal's own CR LF line ends are taken off first; trailing blanks are dropped.
     */
    static List<String> screen(String raw) {
        List<String> out = new ArrayList<>();
        for (String line : raw.split("\n", -1)) {
            String l = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
            StringBuilder shown = new StringBuilder();
            for (String segment : l.split("\r", -1)) {
                for (int i = 0; i < segment.length(); i++) {
                    if (i < shown.length()) {
                        shown.setCharAt(i, segment.charAt(i));
                    } else {
                        shown.append(segment.charAt(i));
                    }
                }
            }
            String s = shown.toString().stripTrailing();
            if (!s.isEmpty()) {
                out.add(s);
            }
        }
        return out;
    }

    private static List<String> graft(List<String> args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), "-Dorg.bytedeco.javacpp.nopointergc=true", "dev.graft.cli.GraftCli"));
        cmd.addAll(args);
        return cmd;
    }

    /** One shell word per argument: single quotes, with a quote inside written as '\''. */
    private static String shell(List<String> cmd) {
        StringBuilder b = new StringBuilder();
        for (String a : cmd) {
            b.append(b.isEmpty() ? "" : " ").append('\'').append(a.replace("'", "'\\''")).append('\'');
        }
        return b.toString();
    }

    private static boolean utilLinuxScript() {
        try {
            Process p = new ProcessBuilder("script", "--version").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 && v.contains("util-linux");
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }
}
