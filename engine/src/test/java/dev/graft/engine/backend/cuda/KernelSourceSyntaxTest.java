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
 * NVRTC compiles the kernels only on a GPU machine; this catches mistakes earlier, without a GPU. Where the CUDA
 * compiler is installed (nvcc on PATH or in /usr/local/cuda/bin) each file (common.cuh in front, as NVRTC sees it)
 * is compiled to a CUBIN for sm_75, the oldest architecture CUDA 13 supports; where only g++ is, it parses them
 * with a small shim for CUDA's keywords. Skips where neither exists.
 */
class KernelSourceSyntaxTest {

    @Test
    void everyKernelFileCompilesWithNvcc() throws Exception {
        String nvcc = nvcc();
        Assumptions.assumeTrue(nvcc != null, "nvcc is not installed; the CUDA compile check needs it");
        for (CudaKernels.Source s : CudaKernels.Source.values()) {
            Path file = Files.createTempFile("graft-" + s.name().toLowerCase(), ".cu");
            Path cubin = Files.createTempFile("graft-" + s.name().toLowerCase(), ".cubin");
            try {
                Files.writeString(file, s.text());
                Process p = new ProcessBuilder(nvcc, "-cubin", "-arch=sm_75", "-std=c++17", "-Werror", "all-warnings",
                        "-o", cubin.toString(), file.toString()).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                p.waitFor(120, TimeUnit.SECONDS);
                assertEquals(0, p.exitValue(), s.file + " does not compile:\n" + out);
            } finally {
                Files.deleteIfExists(file);
                Files.deleteIfExists(cubin);
            }
        }
    }

    private static String nvcc() {
        for (String candidate : new String[] {"nvcc", "/usr/local/cuda/bin/nvcc"}) {
            if (runs(candidate, "--version")) {
                return candidate;
            }
        }
        return null;
    }

    @Test
    void everyKernelFileParsesAsCpp17() throws Exception {
        Assumptions.assumeTrue(runs("g++", "--version"), "g++ is not installed; the kernel syntax check needs it");
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

    private static boolean runs(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }
}
