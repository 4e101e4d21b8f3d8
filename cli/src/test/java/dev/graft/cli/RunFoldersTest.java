package dev.graft.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;

import static org.junit.jupiter.api.Assertions.assertEquals;

class RunFoldersTest {
    private static final LocalDateTime T = LocalDateTime.of(2026, 12, 7, 9, 5, 3);

    @TempDir
    Path tmp;

    @Test
    void namedAfterTheDataSetAndTheStartTime() {
        assertEquals(Path.of("runs", "xray-20261207-090503"), RunFolders.defaultFor(Path.of("/data/xray"), T));
        // A split's folder name alone says nothing: its parent names the data set.
        assertEquals(Path.of("runs", "chest_xray-train-20261207-090503"), RunFolders.defaultFor(Path.of("/data/chest_xray/train"), T));
        assertEquals("my_set", RunFolders.dataSetName(Path.of("/d/my set")));
    }

    @Test
    void aRunStartedInTheSameSecondGetsItsOwnFolder() throws Exception {
        Path first = RunFolders.defaultFor(tmp, Path.of("/d/xray"), T);
        Files.createDirectories(first);
        assertEquals(tmp.resolve("xray-20261207-090503-2"), RunFolders.defaultFor(tmp, Path.of("/d/xray"), T));
    }
}
