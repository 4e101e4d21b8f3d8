package dev.graft.loaders.images;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which files a command line's paths stand for, in which order; expected lists are written out by hand. */
class ImageInputsTest {
    @TempDir
    Path dir;

    private Path touch(String name) throws IOException {
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        return Files.writeString(p, "x"); // contents do not matter: nothing is decoded here
    }

    @Test
    void foldersGiveTheirImagesInPathOrderAndArgumentsKeepTheirs() throws IOException {
        for (String n : new String[] {"d/b/x.PNG", "d/a.jpeg", "d/notes.txt", "d/B.bmp", "d/b/a/y.jpg", "d/out/old.png", "f.gif"}) {
            touch(n);
        }
        List<ImageInputs.Entry> e = ImageInputs.expand(List.of(dir.resolve("f.gif"), dir.resolve("d")), dir.resolve("d/out"));
        // f.gif as given (the reader judges it); then d's images, byte order: 'B' < 'a' < 'b', and "b/a/y.jpg" < "b/x.PNG".
        assertEquals(List.of(dir.resolve("f.gif"), dir.resolve("d/B.bmp"), dir.resolve("d/a.jpeg"), dir.resolve("d/b/a/y.jpg"),
                dir.resolve("d/b/x.PNG")), e.stream().map(ImageInputs.Entry::file).toList());
        assertTrue(e.stream().allMatch(ImageInputs.Entry::ok), e::toString);
        assertNull(e.get(0).folder());
        assertEquals(dir.resolve("d"), e.get(1).folder());
    }

    @Test
    void aFolderWithoutImagesAndAMissingPathAreEntriesWithAProblem() throws IOException {
        touch("empty/sub/readme.txt");
        List<ImageInputs.Entry> e = ImageInputs.expand(List.of(dir.resolve("empty"), dir.resolve("gone.png")));
        assertEquals(2, e.size());
        assertEquals("no images (.png, .jpg, .jpeg, .bmp, .dcm) in folder " + dir.resolve("empty") + " or its sub-folders", e.get(0).problem());
        assertEquals("no such file or folder: " + dir.resolve("gone.png"), e.get(1).problem());
    }

    @Test
    void theDecoderSaysAFolderIsAFolder() {
        DatasetException e = assertThrows(DatasetException.class, () -> ImageDecoder.read(dir));
        assertEquals("cannot read image " + dir + ": it is a folder, not an image file", e.getMessage());
    }
}
