package dev.graft.tests.train;

import org.junit.jupiter.api.Assumptions;

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
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Opens HTML reports in Debian's {@code chromium} (headless) and checks what a reader would see: every image
 * decodes and nothing is logged to the console.
 *
 * <p>How: the report itself holds no script, and the check adds none to it. A checker page written beside the
 * test's output loads each page in an iframe; when a page has finished loading, the checker's own script walks
 * its {@code document.images} and writes, into the checker's DOM, how many there are, which of them did not decode
 * ({@code complete} but {@code naturalWidth == 0} is how a browser marks a broken image) and the page's title.
 * {@code --dump-dom} prints that DOM once the page is idle ({@code --virtual-time-budget} lets loads finish first);
 * {@code --allow-file-access-from-files} lets a file: page read a file: iframe's document. Console output (a script
 * error, a failed load, a blocked resource) goes to stderr through {@code --enable-logging=stderr} as lines holding
 * {@code CONSOLE} or {@code Uncaught}, with the URL of the page it came from. One browser start checks every page.
 *
 * <p>Where chromium is not installed the test skips itself with the install line (the build's list of tests not run
 * shows it), unless {@code GRAFT_REQUIRE_CHROMIUM=1} is set, as the CI script does: then it fails.
 */
final class HeadlessChromium {
    static final String INSTALL = "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium";

    private final String binary;

    private HeadlessChromium(String binary) {
        this.binary = binary;
    }

    /** The installed browser, or a skipped (or, with GRAFT_REQUIRE_CHROMIUM=1, failed) test. */
    static HeadlessChromium require() {
        for (String name : List.of("chromium", "chromium-browser")) {
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    return new HeadlessChromium(p.toString());
                }
            }
        }
        String why = "chromium is not installed, so report.html is not checked in a browser; install it with: " + INSTALL;
        if ("1".equals(System.getenv("GRAFT_REQUIRE_CHROMIUM"))) {
            fail(why + " (GRAFT_REQUIRE_CHROMIUM=1 makes this a failure)");
        }
        Assumptions.abort(why);
        return null;
    }

    record Load(String dom, String stderr) {
    }

    /** Loads {@code page} and returns the DOM after scripts ran and loads finished, and chromium's stderr. */
    Load load(Path page, Path profile) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(binary, "--headless=new", "--disable-gpu", "--no-sandbox", "--no-first-run",
                "--disable-extensions", "--disable-background-networking", "--user-data-dir=" + profile, "--allow-file-access-from-files",
                "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--dump-dom", page.toUri().toString()));
        Path out = Files.createTempFile(profile.getParent(), "dom", ".html");
        Path err = Files.createTempFile(profile.getParent(), "err", ".txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("chromium did not finish loading " + page + " within 90 s");
        }
        String stderr = Files.readString(err, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), () -> "chromium failed on " + page + ":\n" + stderr);
        return new Load(Files.readString(out, StandardCharsets.UTF_8), stderr);
    }

    /** Console messages and uncaught errors in chromium's log (its own start-up noise is not a console message). */
    static List<String> consoleErrors(String stderr) {
        return stderr.lines().filter(l -> l.contains("CONSOLE") || l.contains("Uncaught")).toList();
    }

    /** What the checker page saw in one page: its images, how many did not decode, its title, its console lines. */
    record Inspection(int images, int broken, String title, List<String> console) {
    }

    /**
     * Loads every page in its own iframe of one checker page (one browser start for all) and returns, per page, what
     * the browser rendered and the console lines whose source is that page; console lines naming none of the pages
     * come back as the last element's {@code console} of an extra entry (images -1).
     */
    List<Inspection> inspect(List<Path> pages, Path work) throws IOException, InterruptedException {
        Files.createDirectories(work);
        StringBuilder list = new StringBuilder();
        for (Path p : pages) {
            list.append(list.isEmpty() ? "" : ", ").append(jsString(p.toUri().toString()));
        }
        Path checker = work.resolve("checker.html");
        Files.writeString(checker, """
                <!DOCTYPE html><html><head><meta charset="utf-8"><title>checker</title></head><body>
                <script>
                [%s].forEach((src, i) => {
                  const frame = document.createElement('iframe');
                  frame.style.width = '1200px';
                  frame.style.height = '900px';
                  frame.onload = () => {
                    let text;
                    try {
                      const doc = frame.contentDocument;
                      const imgs = Array.from(doc.images);
                      const broken = imgs.filter(im => !(im.complete && im.naturalWidth > 0 && im.naturalHeight > 0));
                      text = 'images=' + imgs.length + ' broken=' + broken.length + ' title=' + doc.title;
                    } catch (e) {
                      text = 'error: ' + e;
                    }
                    const pre = document.createElement('pre');
                    pre.id = 'result-' + i;
                    pre.textContent = text;
                    document.body.appendChild(pre);
                  };
                  frame.src = src;
                  document.body.appendChild(frame);
                });
                </script></body></html>
                """.formatted(list), StandardCharsets.UTF_8);
        Load checked = load(checker, Files.createDirectories(work.resolve("profile")));
        List<String> console = consoleErrors(checked.stderr());
        List<String> unattributed = new ArrayList<>(console);
        List<Inspection> out = new ArrayList<>();
        for (int i = 0; i < pages.size(); i++) {
            Matcher m = Pattern.compile("<pre id=\"result-" + i + "\">images=(\\d+) broken=(\\d+) title=(.*?)</pre>", Pattern.DOTALL)
                    .matcher(checked.dom());
            Path page = pages.get(i);
            assertTrue(m.find(), () -> "the checker page has no result for " + page + " (could it read it?):\n" + checked.dom()
                    + "\n" + checked.stderr());
            String uri = page.toUri().toString();
            List<String> own = console.stream().filter(l -> l.contains(uri)).toList();
            unattributed.removeAll(own);
            out.add(new Inspection(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), htmlUnescape(m.group(3)), own));
        }
        out.add(new Inspection(-1, 0, "", unattributed));
        return out;
    }

    private static String jsString(String s) {
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    /** The text content of --dump-dom's serialisation (it escapes &, < and > in text). */
    static String htmlUnescape(String s) {
        return s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&");
    }
}
