package dev.graft.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code graft train --patient-regex}: bad regexes and unmatched names fail before training, with a message and no stack trace. */
class PatientRegexCliTest {
    private static String[] run(String... args) {
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = GraftCli.execute(args);
        } finally {
            System.setErr(err);
        }
        return new String[] {Integer.toString(code), buf.toString(StandardCharsets.UTF_8)};
    }

    private static Path data(Path dir, String badName) throws IOException {
        for (String c : new String[] {"NORMAL", "PNEUMONIA"}) {
            Files.createDirectories(dir.resolve(c));
            for (int p = 0; p < 3; p++) {
                Files.createFile(dir.resolve(c).resolve("person" + c.length() + p + "_x.jpeg"));
            }
        }
        if (badName != null) {
            Files.createFile(dir.resolve("NORMAL").resolve(badName));
        }
        return dir;
    }

    @Test
    void anInvalidRegexIsAnOptionError(@TempDir Path dir) throws IOException {
        String[] r = run("train", "--data", data(dir.resolve("d"), null).toString(), "--out", dir.resolve("run").toString(),
                "--patient-regex", "(person\\d+_", "--no-progress");
        assertNotEquals("0", r[0]);
        assertTrue(r[1].contains("--patient-regex '(person\\d+_' is not a valid Java regular expression"), r[1]);
        assertFalse(r[1].contains("\tat "), r[1]);
    }

    @Test
    void anUnmatchedNameFailsBeforeTrainingNamingTheFile(@TempDir Path dir) throws IOException {
        String[] r = run("train", "--data", data(dir.resolve("d"), "IM-0001.jpeg").toString(), "--out", dir.resolve("run").toString(),
                "--patient-regex", "^(person\\d+)_", "--test", data(dir.resolve("t"), null).toString(), "--no-progress");
        assertNotEquals("0", r[0]);
        assertTrue(r[1].contains("IM-0001.jpeg") && r[1].contains("^(person\\d+)_"), r[1]);
        assertFalse(Files.exists(dir.resolve("run").resolve("checkpoint.safetensors")));
    }

    @Test
    void aTestFolderSharingPatientsIsWarnedAboutBeforeTraining(@TempDir Path dir) throws IOException {
        // The images are empty files, so the run stops at "no readable images" after the check; the warning comes first.
        Path train = data(dir.resolve("d"), null);
        Path test = dir.resolve("t");
        Files.createDirectories(test.resolve("NORMAL"));
        Files.createDirectories(test.resolve("PNEUMONIA"));
        Files.createFile(test.resolve("NORMAL").resolve("person60_y.jpeg")); // person60: in training's NORMAL
        Files.createFile(test.resolve("PNEUMONIA").resolve("person900_y.jpeg"));
        String[] r = run("train", "--data", train.toString(), "--out", dir.resolve("run").toString(), "--patient-regex", "^(person\\d+)_",
                "--test", test.toString(), "--no-progress", "--image-size", "8", "--head-epochs", "0", "--finetune-epochs", "1");
        assertTrue(r[1].contains("warning: 1 patient appears in both training and test (" + test + "; 1 of its 2 patients), e.g. person60: "
                + "figures on test are optimistic"), r[1]);
    }
}
