package dev.graft.engine.backend.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * NVRTC compiles the kernels only on a GPU machine; this catches typos earlier by letting g++ parse each file
 * (with common.cuh and a small shim for CUDA keywords). Skips where g++ is missing.
 */
class KernelSourceSyntaxTest {

    @Test
    void everyKernelFileParsesAsCpp17() throws Exception {
        Assumptions.assumeTrue(hasGpp(), "g++ is not installed; the kernel syntax check needs it");
        String shim;
        try (InputStream in = getClass().getResourceAsStream("cuda-syntax-shim.h")) {
            shim = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        for (CudaKernels.Source s : CudaKernels.Source.values()) {
            Path file = Files.createTempFile("graft-" + s.name().toLowerCase(), ".cpp");
            try {
                Files.writeString(file, shim + "\n" + s.text());
                Process p = new ProcessBuilder("g++", "-std=c++17", "-fsyntax-only", "-Wall", "-Werror", file.toString())
                        .redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                p.waitFor(60, TimeUnit.SECONDS);
                assertEquals(0, p.exitValue(), s.file + " does not parse:\n" + out);
            } finally {
                Files.deleteIfExists(file);
            }
        }
    }

    private static boolean hasGpp() {
        try {
            Process p = new ProcessBuilder("g++", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }
}
