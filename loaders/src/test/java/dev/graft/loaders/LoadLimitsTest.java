package dev.graft.loaders;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.engine.GraftException;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The heap budget is checked before anything is allocated: files whose tensors would take more than the budget
 * after widening (views that repeat a small storage, uint8 that widens to int64) are refused with what they would
 * cost, what is allowed and how to raise it; the budget is exact, configurable, and applies per tensor when
 * streaming.
 */
class LoadLimitsTest {
    private static final long VIEW = 1L << 24;     // elements per expanded view: at the per-view cap, 64 MiB as float32

    @TempDir
    Path dir;

    /** {@code count} tensors, each a stride-0 view of {@link #VIEW} elements over one float32 storage of 1 element. */
    static byte[] expandedViews(int count) {
        PickleWriter w = new PickleWriter().proto(2).orderedDict().op('(');
        for (int i = 0; i < count; i++) {
            w.str(String.format("w%03d", i)).tensor("FloatStorage", "0", 1, 0, new long[] {VIEW}, new long[] {0});
        }
        return PickleWriter.zip("archive", w.op('u', '.').bytes(), Map.of("0", new byte[4]));
    }

    @Test
    void fourHundredExpandedViewsOfOneStorageAreRefusedBeforeReading() throws IOException {
        byte[] zip = expandedViews(400);
        assertTrue(zip.length < 100_000, "the file is small: " + zip.length);
        LoadLimitException e = assertThrows(LoadLimitException.class, () -> StateDicts.load(zip, "views.pth", LoadOptions.defaults()));
        assertEquals(400 * (VIEW * 4 + 4), e.neededBytes(), "64 MiB per view plus the 4-byte span each gathers from");
        assertTrue(e.getMessage().contains("loading the 400 tensors of views.pth would take 26,843,547,200 bytes (25.0 GiB)"), e.getMessage());
        assertTrue(e.getMessage().contains("-D" + LoadLimits.MAX_BYTES_PROPERTY + "="), e.getMessage());
        assertTrue(e.getMessage().contains("50% of the JVM's"), e.getMessage());

        // the headers alone are fine: inspect lists the views without reading them
        Path f = dir.resolve("views.pth");
        Files.write(f, zip);
        StateDictSummary s = StateDicts.inspect(f);
        assertEquals(400, s.tensors().size());
        assertEquals(Shape.of((int) VIEW), s.tensors().get(0).shape());

        // streaming: each view is checked on its own against the budget
        try (StateDictFile in = StateDictFile.open(f, LoadOptions.defaults().withMaxBytes(VIEW * 4))) {
            LoadLimitException one = assertThrows(LoadLimitException.class, () -> in.load("w007"));
            assertTrue(one.getMessage().startsWith("tensor 'w007' (float32 [16777216]) would take 67,108,868 bytes"), one.getMessage());
        }
    }

    @Test
    void widenedSizeIsWhatCounts() throws IOException {
        // 700 MB of uint8 widens to 5.6 GB of int64; the file is sparse, and nothing of it is read
        Path f = dir.resolve("u8.safetensors");
        long n = 700_000_000L;
        String header = "{\"big\":{\"dtype\":\"U8\",\"shape\":[" + n + "],\"data_offsets\":[0," + n + "]}}";
        try (RandomAccessFile out = new RandomAccessFile(f.toFile(), "rw")) {
            byte[] h = header.getBytes(StandardCharsets.UTF_8);
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            out.write(h);
            out.setLength(8 + h.length + n);
        }
        assertEquals("uint8", StateDicts.inspect(f).tensors().get(0).storedType());
        LoadLimitException e = assertThrows(LoadLimitException.class, () -> StateDicts.read(f));
        assertEquals(8 * n, e.neededBytes());
        assertTrue(e.getMessage().contains("5,600,000,000 bytes"), e.getMessage());
        try (StateDictFile in = StateDictFile.open(f)) {
            assertThrows(LoadLimitException.class, () -> in.load("big"));
        }
    }

    @Test
    void theBudgetIsExact() {
        // float16 [10] -> 40 bytes of float32; a contiguous read holds no second copy
        byte[] f16 = SafeTensorsTest.file("{\"h\":{\"dtype\":\"F16\",\"shape\":[10],\"data_offsets\":[0,20]}}", 20);
        assertEquals(HostTensor.of(new float[10], Shape.of(10)),
                StateDicts.load(f16, "h.safetensors", LoadOptions.defaults().withMaxBytes(40)).stateDict().get("h"));
        LoadLimitException e = assertThrows(LoadLimitException.class,
                () -> StateDicts.load(f16, "h.safetensors", LoadOptions.defaults().withMaxBytes(39)));
        assertEquals(40, e.neededBytes());
        assertEquals(39, e.allowedBytes());
    }

    @Test
    void theBudgetComesFromTheSystemProperty() {
        String old = System.getProperty(LoadLimits.MAX_BYTES_PROPERTY);
        long heap = Runtime.getRuntime().maxMemory();
        try {
            System.clearProperty(LoadLimits.MAX_BYTES_PROPERTY);
            assertEquals(heap / 100 * 50, LoadLimits.maxBytes());
            System.setProperty(LoadLimits.MAX_BYTES_PROPERTY, "12g");
            assertEquals(12L << 30, LoadLimits.maxBytes());
            assertEquals(12L << 30, LoadOptions.defaults().budget());
            System.setProperty(LoadLimits.MAX_BYTES_PROPERTY, "512M");
            assertEquals(512L << 20, LoadLimits.maxBytes());
            System.setProperty(LoadLimits.MAX_BYTES_PROPERTY, "1000");
            assertEquals(1000, LoadLimits.maxBytes());
            System.setProperty(LoadLimits.MAX_BYTES_PROPERTY, "80%");
            assertEquals(heap / 100 * 80, LoadLimits.maxBytes());
            byte[] f32 = SafeTensorsTest.file("{\"x\":{\"dtype\":\"F32\",\"shape\":[1000],\"data_offsets\":[0,4000]}}", 4000);
            System.setProperty(LoadLimits.MAX_BYTES_PROPERTY, "3999");
            LoadLimitException e = assertThrows(LoadLimitException.class, () -> StateDicts.load(f32, "x.safetensors", LoadOptions.defaults()));
            assertTrue(e.getMessage().contains("(-D" + LoadLimits.MAX_BYTES_PROPERTY + "=3999)"), e.getMessage());
            for (String bad : new String[] {"lots", "-5", "0%", "101%", "g", "99999999999999999999", "9999999999g"}) {
                System.setProperty(LoadLimits.MAX_BYTES_PROPERTY, bad);
                GraftException g = assertThrows(GraftException.class, () -> StateDicts.load(f32, "x.safetensors", LoadOptions.defaults()), bad);
                assertTrue(g.getMessage().contains(LoadLimits.MAX_BYTES_PROPERTY + "='" + bad + "' is not a size"), g.getMessage());
            }
        } finally {
            if (old == null) {
                System.clearProperty(LoadLimits.MAX_BYTES_PROPERTY);
            } else {
                System.setProperty(LoadLimits.MAX_BYTES_PROPERTY, old);
            }
        }
    }

    @Test
    void theDefaultLoadsLargeModelsButNotTheExpandedViews() {
        long heap = (24L << 30) / 4;          // Java's default max heap on a 24 GiB machine: a quarter of it
        long budget = LoadLimits.defaultBudget(heap);
        long resnet152 = 60_192_808L * 4;     // torchvision resnet152's parameters, float32
        long vitL16 = 304_326_632L * 4;       // torchvision vit_l_16's parameters, float32 (or float16 widened)
        assertTrue(resnet152 < budget && vitL16 < budget, "budget " + budget);
        assertTrue(400 * (VIEW * 4) > budget, "budget " + budget);
        assertTrue(vitL16 + budget <= heap, "what the tensors are copied into fits beside them");
    }
}
