package dev.graft.testsupport;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClasspathRoots;

/**
 * Says, at the end of a module's test run, which tests did not run and why: those the build leaves out by tag
 * ({@code gpu}, {@code slow}, {@code fuzz}; found by discovering the module's tests again without the tag filter) and
 * those that skipped themselves (a disabled test, a failed assumption such as "nvcc is not installed"). The lines are
 * printed and written to {@code target/skipped-tests.txt}; the last module of the build ({@code -Dgraft.skips.aggregate}
 * set, the tests module) also prints the whole build's summary from its siblings' files. Registered for every module
 * through {@code META-INF/services}.
 */
public final class SkippedTestsReport implements TestExecutionListener {
    /** Why a tag is left out of the default build, and how to run its tests. */
    static final Map<String, String> TAGS = new LinkedHashMap<>();

    static {
        TAGS.put("gpu", "need a CUDA GPU; run them on a GPU machine with -Dgroups=gpu (bench/gpu/README.md)");
        TAGS.put("slow", "opt-in full-size parity; run with -Dgroups=slow (needs /usr/bin/python3 with torch and torchvision)");
        TAGS.put("fuzz", "long fuzzing; run with -Dgroups=fuzz (the default build runs a budgeted version)");
    }

    private final Set<String> ran = new HashSet<>();
    private final Map<String, List<String>> skipped = new TreeMap<>();

    @Override
    public void executionSkipped(TestIdentifier test, String reason) {
        skipped.computeIfAbsent("skipped: " + reason, r -> new ArrayList<>()).add(name(test));
    }

    @Override
    public void executionFinished(TestIdentifier test, TestExecutionResult result) {
        if (test.isTest()) {
            ran.add(test.getUniqueId());
        }
        if (test.isTest() && result.getStatus() == TestExecutionResult.Status.ABORTED) {
            String why = result.getThrowable().map(Throwable::getMessage).orElse("aborted");
            skipped.computeIfAbsent("skipped itself: " + why, r -> new ArrayList<>()).add(name(test));
        }
    }

    @Override
    public void testPlanExecutionFinished(TestPlan plan) {
        Path base = Path.of(System.getProperty("basedir", "."));
        Map<String, Integer> byTag = excludedByTag(base.resolve("target").resolve("test-classes"));
        List<String> lines = new ArrayList<>();
        byTag.forEach((tag, n) -> lines.add(n + " test" + (n == 1 ? "" : "s") + " tagged " + tag + " not run: " + TAGS.get(tag)));
        skipped.forEach((why, tests) -> lines.add(tests.size() + " test" + (tests.size() == 1 ? "" : "s") + " " + why
                + " (" + String.join(", ", tests.subList(0, Math.min(3, tests.size()))) + (tests.size() > 3 ? ", ..." : "") + ")"));
        String module = base.getFileName() == null ? "." : base.getFileName().toString();
        if (!lines.isEmpty()) {
            System.out.println("\n[not run in " + module + "]");
            lines.forEach(l -> System.out.println("  " + l));
        }
        try {
            Files.createDirectories(base.resolve("target"));
            Files.write(base.resolve("target").resolve("skipped-tests.txt"), lines, StandardCharsets.UTF_8);
        } catch (IOException e) {
            System.out.println("could not write the skipped-tests report: " + e);
        }
        if (Boolean.getBoolean("graft.skips.aggregate")) {
            aggregate(base.toAbsolutePath().getParent());
        }
    }

    /** Tests of the module's own classes that carry an excluded tag and did not run, per tag. */
    private Map<String, Integer> excludedByTag(Path testClasses) {
        Map<String, Integer> out = new LinkedHashMap<>();
        if (!Files.isDirectory(testClasses)) {
            return out;
        }
        try {
            LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                    .selectors(selectClasspathRoots(Set.of(testClasses)))
                    .configurationParameter("junit.platform.output.capture.stdout", "false")
                    .build();
            Launcher launcher = LauncherFactory.create();
            TestPlan all = launcher.discover(request);
            for (TestIdentifier root : all.getRoots()) {
                for (TestIdentifier t : all.getDescendants(root)) {
                    if (!t.isTest() || ran.contains(t.getUniqueId())) {
                        continue;
                    }
                    for (String tag : TAGS.keySet()) {
                        if (hasTag(all, t, tag)) {
                            out.merge(tag, 1, Integer::sum);
                            break;
                        }
                    }
                }
            }
        } catch (RuntimeException | LinkageError e) {
            out.clear();
            System.out.println("could not count the tests left out by tag: " + e);
        }
        return out;
    }

    /** A test carries a tag when it or any of its containers (class, nested class) does. */
    private static boolean hasTag(TestPlan plan, TestIdentifier t, String tag) {
        for (TestIdentifier at = t; at != null; at = plan.getParent(at).orElse(null)) {
            if (at.getTags().stream().anyMatch(x -> x.getName().equals(tag))) {
                return true;
            }
        }
        return false;
    }

    private static void aggregate(Path root) {
        List<String> all = new ArrayList<>();
        try (var modules = Files.list(root)) {
            for (Path m : modules.sorted().toList()) {
                Path f = m.resolve("target").resolve("skipped-tests.txt");
                if (Files.isRegularFile(f)) {
                    for (String l : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                        all.add(m.getFileName() + ": " + l);
                    }
                }
            }
        } catch (IOException e) {
            System.out.println("could not read the modules' skipped-tests reports: " + e);
            return;
        }
        System.out.println("\n[not run in this build, all modules]" + (all.isEmpty() ? " nothing: every test ran" : ""));
        all.forEach(l -> System.out.println("  " + l));
    }

    private static String name(TestIdentifier t) {
        return t.getLegacyReportingName() + (t.getSource().map(s -> "").orElse(""));
    }
}
