package dev.graft.cli;

import dev.graft.engine.Device;
import dev.graft.engine.backend.Backends;
import dev.graft.train.DeviceNotes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The device lines: the choice always, why faster backends were passed over only under --verbose or on a fallback to reference. */
class VerboseDeviceNotesTest {
    private static final String CUDA = "cuda unavailable: the org.bytedeco:cuda jars are not on the class path";
    private static final String CPU = "using cpu: oneDNN 3.11";

    @AfterEach
    void quiet() {
        DeviceNotes.verbose(false);
    }

    @Test
    void withoutVerboseOnlyTheChoiceIsShown() {
        Backends.Selection cpu = new Backends.Selection(Device.CPU, List.of(CUDA, CPU));
        assertEquals(List.of(CPU), DeviceNotes.shown(cpu));
        DeviceNotes.verbose(true);
        assertEquals(List.of(CUDA, CPU), DeviceNotes.shown(cpu));
    }

    @Test
    void aFallbackToTheReferenceBackendSaysWhy() {
        List<String> notes = List.of(CUDA, "cpu unavailable: no oneDNN", "using reference: plain Java kernels");
        assertEquals(notes, DeviceNotes.shown(new Backends.Selection(Device.REFERENCE, notes)));
    }

    @Test
    void verboseIsAGlobalOptionResetForEachCommandLine() {
        run("--verbose", "--version");
        assertTrue(DeviceNotes.verbose());
        run("--version");
        assertFalse(DeviceNotes.verbose(), "--verbose leaked into the next command line");
        run("doctor", "--verbose", "--help");
        assertTrue(DeviceNotes.verbose(), "--verbose after a command name");
    }

    /** picocli expands @FILE by default (the footer of graft --help says so): one or more arguments per line, # comments. */
    @Test
    void argumentFilesAreExpanded() throws Exception {
        Path f = Files.createTempFile("graft-args", ".txt");
        try {
            Files.writeString(f, "# a comment line\n--verbose\n--version\n");
            String out = run("@" + f);
            assertTrue(DeviceNotes.verbose(), "the arguments of " + f + " were not read");
            assertTrue(out.startsWith("graft "), out);
        } finally {
            Files.delete(f);
        }
    }

    private static String run(String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, GraftCli.execute(args));
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }
}
