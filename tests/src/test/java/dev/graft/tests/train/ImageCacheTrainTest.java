package dev.graft.tests.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static dev.graft.tests.train.TrainCommandTest.graft;
import static dev.graft.tests.train.TrainCommandTest.trainArgs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code graft train --cache}: each image is decoded once per working resolution, across epochs and (on disk) across runs. */
class ImageCacheTrainTest {

    private static long entries(Path cache) throws IOException {
        try (Stream<Path> s = Files.walk(cache)) {
            return s.filter(p -> p.toString().endsWith(".gic")).count();
        }
    }

    /**
     * 20 images, 2 epochs plus the final validation: every image is decoded once (training images for the random
     * crop's working resolution, validation images for resize + center crop), and a second run on the same cache
     * folder decodes none.
     */
    @Test
    void diskCacheDecodesEachImageOnceAcrossEpochsAndRuns(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 5, 10, 10);
        Path cache = dir.resolve("cache");
        String[] extra = {"--head-epochs", "1", "--finetune-epochs", "1", "--cache", "disk", "--cache-dir", cache.toString()};
        TrainCommandTest.Run r = graft(trainArgs(data, dir.resolve("run1"), "cpu", extra).toArray(String[]::new));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("image cache: on disk in " + cache), r.out());
        assertTrue(r.out().contains("image cache: 20 image reads decoded"), r.out());
        assertEquals(20, entries(cache));

        TrainCommandTest.Run again = graft(trainArgs(data, dir.resolve("run2"), "cpu", extra).toArray(String[]::new));
        assertEquals(0, again.code(), again.out() + again.err());
        assertTrue(again.out().contains("image cache: 0 image reads decoded"), again.out());
    }

    /** The default keeps images in memory (nothing on disk for a set this small) and says so. */
    @Test
    void theDefaultIsMemoryWhileItFits(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 5, 6, 6);
        Path cache = dir.resolve("cache");
        TrainCommandTest.Run r = graft(trainArgs(data, dir.resolve("run"), "cpu", "--head-epochs", "1", "--finetune-epochs", "1",
                "--cache-dir", cache.toString()).toArray(String[]::new));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("image cache: in memory up to"), r.out());
        assertTrue(r.out().contains("the rest on disk in " + cache), r.out());
        assertTrue(r.out().contains("image cache: 12 image reads decoded"), r.out());
        assertTrue(!Files.exists(cache), "nothing spilled to disk");
    }

    @Test
    void badCacheOptionsAreOptionErrors(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 5, 4, 4);
        for (List<String> bad : List.of(List.of("--cache", "ram"), List.of("--cache-memory", "lots"))) {
            TrainCommandTest.Run r = graft(trainArgs(data, dir.resolve("run"), "cpu", bad.toArray(String[]::new)).toArray(String[]::new));
            assertEquals(2, r.code(), r.out() + r.err());
            assertTrue(r.err().contains(bad.get(0) + " " + bad.get(1)), r.err());
        }
        TrainCommandTest.Run off = graft(trainArgs(data, dir.resolve("off"), "cpu", "--head-epochs", "0", "--finetune-epochs", "1",
                "--cache", "off").toArray(String[]::new));
        assertEquals(0, off.code(), off.out() + off.err());
        assertTrue(off.out().contains("image cache: off"), off.out());
    }

    /** The cache options say where images are kept, not what is computed: a resumed run takes them. */
    @Test
    void aResumedRunTakesTheCacheOptions(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 5, 4, 4);
        Path run = dir.resolve("run");
        TrainCommandTest.Run first = graft(trainArgs(data, run, "cpu", "--head-epochs", "1", "--finetune-epochs", "1",
                "--stop-after-epochs", "1").toArray(String[]::new));
        assertEquals(0, first.code(), first.out() + first.err());
        TrainCommandTest.Run resumed = graft("train", "--resume", run.toString(), "--no-progress", "--cache", "memory",
                "--cache-memory", "64m", "--cache-dir", dir.resolve("unused").toString());
        assertEquals(0, resumed.code(), resumed.out() + resumed.err());
        assertTrue(resumed.out().contains("image cache: in memory up to 64 MiB"), resumed.out());
        assertTrue(resumed.err().contains("--cache-dir " + dir.resolve("unused") + " is not used"), resumed.err());
    }
}
