package dev.graft.loaders;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Damaged files: every truncation, byte flip or growth of a valid file must end in a load or a
 * {@link FormatException}: never another exception, a hang or an out-of-memory error (claimed sizes are checked
 * against the file before anything is allocated). Each case runs under a timeout.
 */
class FuzzProperties {
    private static final List<String> FILES = List.of("views.pth", "views_legacy.pth", "views_bigendian.pth",
            "tar_legacy.pth", "resnet_tiny_p4.pth", "hand.safetensors", "written.safetensors", "f4.npy", "fortran_f4.npy");
    private static final Map<String, byte[]> CACHE = new HashMap<>();

    private static synchronized byte[] original(String name) {
        return CACHE.computeIfAbsent(name, n -> n.equals("written.safetensors") ? written() : Fixtures.bytes(n)).clone();
    }

    /** A file from our own writer, so the fuzzing covers what Graft saves too. */
    private static byte[] written() {
        try {
            Path dir = Files.createTempDirectory("graft-fuzz");
            Path f = dir.resolve("w.safetensors");
            StateDict sd = new StateDict().put("w", HostTensor.of(new float[] {1, 2, 3, 4, 5, 6}, Shape.of(2, 3)))
                    .put("n", HostTensor.of(new long[] {3}, Shape.scalar()));
            sd.metadata().put("arch", "resnet18");
            SafeTensors.write(f, sd);
            byte[] b = Files.readAllBytes(f);
            Files.delete(f);
            Files.delete(dir);
            return b;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Provide
    Arbitrary<String> files() {
        return Arbitraries.of(FILES);
    }

    /** Loads or fails with a FormatException; anything else propagates and fails the property. */
    private static void loadOrTypedError(byte[] data, String name) {
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            try {
                StateDicts.load(data, name, LoadOptions.defaults());
            } catch (FormatException expected) {
                // a typed error naming the file is a correct outcome for a damaged file
            }
        });
    }

    @Property(tries = 300)
    void truncated(@ForAll("files") String name, @ForAll @IntRange(min = 0, max = 1_000_000) int cut) {
        byte[] b = original(name);
        loadOrTypedError(Arrays.copyOf(b, cut % (b.length + 1)), name);
    }

    @Property(tries = 600)
    void flipped(@ForAll("files") String name, @ForAll @Size(min = 1, max = 6) List<@IntRange(min = 0, max = 1_000_000) Integer> positions,
                 @ForAll @Size(min = 6, max = 6) List<Byte> values) {
        byte[] b = original(name);
        for (int i = 0; i < positions.size(); i++) {
            b[positions.get(i) % b.length] = values.get(i);
        }
        loadOrTypedError(b, name);
    }

    /** Flips near the start, where headers, lengths and opcodes are densest. */
    @Property(tries = 400)
    void flippedHeader(@ForAll("files") String name, @ForAll @IntRange(min = 0, max = 600) int position, @ForAll byte value) {
        byte[] b = original(name);
        b[position % b.length] = value;
        loadOrTypedError(b, name);
    }

    @Property(tries = 300)
    void grown(@ForAll("files") String name, @ForAll @IntRange(min = 0, max = 1_000_000) int at,
               @ForAll @Size(min = 1, max = 64) byte[] extra) {
        byte[] b = original(name);
        int pos = at % (b.length + 1);
        byte[] out = new byte[b.length + extra.length];
        System.arraycopy(b, 0, out, 0, pos);
        System.arraycopy(extra, 0, out, pos, extra.length);
        System.arraycopy(b, pos, out, pos + extra.length, b.length - pos);
        loadOrTypedError(out, name);
    }
}
