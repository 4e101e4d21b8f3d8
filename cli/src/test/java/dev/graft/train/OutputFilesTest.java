package dev.graft.train;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Reports, JSON and plots get the permissions any new file of this process gets (the umask's), and no leftovers. */
class OutputFilesTest {
    @Test
    void writtenFilesHaveTheProcessDefaultPermissions(@TempDir Path dir) throws IOException {
        Assumptions.assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"), "POSIX permissions only");
        Path plain = Files.write(dir.resolve("plain.txt"), new byte[] {1}); // what the umask gives a new file
        var expected = Files.getPosixFilePermissions(plain);
        Report.writeJson(dir.resolve("out/metrics.json"), Map.of("a", 1));
        Plots.savePng(new byte[] {2, 3}, dir.resolve("out/plots/x.png"));
        OutputFiles.write(dir.resolve("out/report.html"), new byte[] {4});
        OutputFiles.write(dir.resolve("out/report.html"), new byte[] {5}); // replacing keeps them too
        for (Path f : List.of(dir.resolve("out/metrics.json"), dir.resolve("out/plots/x.png"), dir.resolve("out/report.html"))) {
            assertEquals(expected, Files.getPosixFilePermissions(f), f.toString());
        }
        assertArrayEquals(new byte[] {5}, Files.readAllBytes(dir.resolve("out/report.html")));
        try (Stream<Path> all = Files.walk(dir)) {
            assertEquals(List.of(), all.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList(), "temporary files left");
        }
    }
}
