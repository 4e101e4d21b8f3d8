package dev.graft.loaders;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.fail;

import dev.graft.engine.GraftException;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;

/**
 * Damaged files, one property per reader: valid seed files (committed fixtures, plus files made here by Graft's
 * writer and by hand) go through one to three mutations (truncation, byte and bit flips, inserted bytes, integer
 * fields overwritten with extreme values, numbers in text headers replaced by huge, negative or non-numeric text)
 * and every load must end in a state dict or a {@link GraftException}: any other Throwable (an OutOfMemoryError,
 * a NumberFormatException, an index error, a hang past 5 s) fails the property. Loads run with a 64 MiB heap
 * budget, so a file that talks the loader into a large allocation is caught as a refusal, not by luck of the
 * heap. Each property runs a few hundred cases by default; the {@code fuzz}-tagged twins run 20,000
 * ({@code mvn test -pl loaders -am -Dgroups=fuzz}).
 */
class FuzzProperties {
    private static final LoadOptions BUDGET = LoadOptions.defaults().withMaxBytes(64L << 20);
    private static final int TRIES = 300;
    private static final int LONG_TRIES = 20_000;
    private static final Map<String, byte[]> CACHE = new HashMap<>();

    private static synchronized byte[] seed(String name) {
        return CACHE.computeIfAbsent(name, n -> switch (n) {
            case "written.safetensors" -> written();
            case "expanded.pth" -> LoadLimitsTest.expandedViews(3);
            case "written.npy" -> writtenNpy();
            default -> Fixtures.bytes(n);
        }).clone();
    }

    /** A file from our own writer (with its graft.sha256 record), so the fuzzing covers what Graft saves too. */
    private static byte[] written() {
        StateDict sd = new StateDict().put("w", HostTensor.of(new float[] {1, 2, 3, 4, 5, 6}, Shape.of(2, 3)))
                .put("d", HostTensor.of(new double[] {0.5, -1}, Shape.of(1, 2)))
                .put("n", HostTensor.of(new long[] {3}, Shape.scalar()));
        sd.metadata().put("graft.resnet", "block=basic layers=2,1,1,1");
        return writeAndRead("w.safetensors", f -> SafeTensors.write(f, sd));
    }

    private static byte[] writtenNpy() {
        return writeAndRead("w.npy", f -> Npy.write(f, HostTensor.of(new long[] {1, -2, 3, 4}, Shape.of(2, 1, 2))));
    }

    private static byte[] writeAndRead(String name, java.util.function.Consumer<Path> write) {
        try {
            Path dir = Files.createTempDirectory("graft-fuzz");
            Path f = dir.resolve(name);
            write.accept(f);
            byte[] b = Files.readAllBytes(f);
            Files.delete(f);
            Files.delete(dir);
            return b;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One damage to a file; {@code description} is what jqwik prints for a failing case. */
    record Mutation(String description, UnaryOperator<byte[]> apply) {
        @Override
        public String toString() {
            return description;
        }
    }

    record Case(String seed, List<Mutation> mutations) {
        byte[] bytes() {
            byte[] b = FuzzProperties.seed(seed);
            for (Mutation m : mutations) {
                b = m.apply().apply(b);
            }
            return b;
        }
    }

    // ---- mutations ----

    private static Arbitrary<Mutation> truncation() {
        return Arbitraries.integers().between(0, 1_000_000).map(cut -> new Mutation("truncate at " + cut + " mod length",
                b -> Arrays.copyOf(b, cut % (b.length + 1))));
    }

    private static Arbitrary<Mutation> byteFlip() {
        // positions near the start half of the time, where headers, lengths and opcodes are densest
        Arbitrary<Integer> at = Arbitraries.oneOf(Arbitraries.integers().between(0, 600), Arbitraries.integers().between(0, 1_000_000));
        return Combinators.combine(at, Arbitraries.bytes()).as((p, v) -> new Mutation("byte " + p + " mod length = " + v, b -> {
            if (b.length > 0) {
                b[p % b.length] = v;
            }
            return b;
        }));
    }

    private static Arbitrary<Mutation> bitFlip() {
        return Combinators.combine(Arbitraries.integers().between(0, 1_000_000), Arbitraries.integers().between(0, 7))
                .as((p, bit) -> new Mutation("flip bit " + bit + " of byte " + p + " mod length", b -> {
                    if (b.length > 0) {
                        b[p % b.length] ^= (byte) (1 << bit);
                    }
                    return b;
                }));
    }

    private static Arbitrary<Mutation> growth() {
        return Combinators.combine(Arbitraries.integers().between(0, 1_000_000), Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(64))
                .as((at, extra) -> new Mutation("insert " + extra.length + " bytes at " + at + " mod length", b -> {
                    int pos = at % (b.length + 1);
                    byte[] out = new byte[b.length + extra.length];
                    System.arraycopy(b, 0, out, 0, pos);
                    System.arraycopy(extra, 0, out, pos, extra.length);
                    System.arraycopy(b, pos, out, pos + extra.length, b.length - pos);
                    return out;
                }));
    }

    /** Extremes for binary length, count, offset and size fields. */
    private static final long[] EXTREMES = {0, 1, -1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFF_FFFFL, 0x8000_0000L,
        0xFFFF_FFFFL, 0x1_0000_0000L, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 40, (1L << 31) - 8, 1L << 24};

    private static Arbitrary<Mutation> binaryField() {
        Arbitrary<Integer> at = Arbitraries.oneOf(Arbitraries.integers().between(0, 1024), Arbitraries.integers().between(0, 1_000_000));
        Arbitrary<Long> value = Arbitraries.oneOf(Arbitraries.of(Arrays.stream(EXTREMES).boxed().toList()), Arbitraries.longs());
        return Combinators.combine(at, Arbitraries.of(1, 2, 4, 8), value).as((p, width, v) ->
                new Mutation(width + "-byte little-endian field at " + p + " mod length = " + v, b -> {
                    if (b.length >= width) {
                        int pos = p % (b.length - width + 1);
                        for (int i = 0; i < width; i++) {
                            b[pos + i] = (byte) (v >>> (8 * i));
                        }
                    }
                    return b;
                }));
    }

    /** Replacements for a number in a text header (safetensors JSON, the npy dict, tar's octal fields). */
    private static final List<String> NUMBERS = List.of("-1", "0", "99999999999999999999", "9999999999999999999",
            "18446744073709551615", "9223372036854775807", "9223372036854775808", "2147483647", "2147483648", "4294967296",
            "1e309", "1.5", "-0", "abc", "", "NaN", "0x10", "1" + "0".repeat(400), "77777777777", "[1]", "{}", "null");
    private static final Pattern DIGITS = Pattern.compile("[0-9]+");

    private static Arbitrary<Mutation> textNumber() {
        return Combinators.combine(Arbitraries.integers().between(0, 60), Arbitraries.of(NUMBERS)).as((k, r) ->
                new Mutation("number #" + k + " in the first 4 KiB -> '" + r + "'", b -> {
                    String head = new String(b, 0, Math.min(b.length, 4096), StandardCharsets.ISO_8859_1);
                    Matcher m = DIGITS.matcher(head);
                    int found = 0;
                    int count = 0;
                    while (m.find()) {
                        count++;
                    }
                    if (count == 0) {
                        return b;
                    }
                    m.reset();
                    while (m.find()) {
                        if (found++ == k % count) {
                            byte[] rep = r.getBytes(StandardCharsets.ISO_8859_1);
                            byte[] out = new byte[b.length - (m.end() - m.start()) + rep.length];
                            System.arraycopy(b, 0, out, 0, m.start());
                            System.arraycopy(rep, 0, out, m.start(), rep.length);
                            System.arraycopy(b, m.end(), out, m.start() + rep.length, b.length - m.end());
                            return fixLengths(out, b.length);
                        }
                    }
                    return b;
                }));
    }

    /**
     * After a text edit changed a file's length: a safetensors header length or an npy v1 header length is moved
     * by the same amount, so the edit reaches the header parser instead of failing the length check every time.
     */
    private static byte[] fixLengths(byte[] out, int oldLength) {
        int delta = out.length - oldLength;
        if (out.length >= 10 && out[0] == (byte) 0x93 && out[1] == 'N' && out[6] == 1) {
            ByteBuffer bb = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
            bb.putShort(8, (short) ((bb.getShort(8) & 0xFFFF) + delta));
        } else if (out.length >= 9 && out[8] == '{') {
            ByteBuffer bb = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
            bb.putLong(0, bb.getLong(0) + delta);
        }
        return out;
    }

    private static Arbitrary<List<Mutation>> mutations() {
        return Arbitraries.oneOf(truncation(), byteFlip(), bitFlip(), growth(), binaryField(), textNumber())
                .list().ofMinSize(1).ofMaxSize(3);
    }

    private static Arbitrary<Case> cases(String... seeds) {
        return Combinators.combine(Arbitraries.of(seeds), mutations()).as(Case::new);
    }

    // ---- the check ----

    /** Loads, or fails with a GraftException; anything else (OutOfMemoryError included) fails the property. */
    private static void loadOrTypedError(Case c) {
        byte[] data = c.bytes();
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            try {
                StateDicts.load(data, c.seed(), BUDGET);
            } catch (GraftException expected) {
                // a typed error naming the file is a correct outcome for a damaged file
            } catch (Throwable t) {
                StringWriter trace = new StringWriter();
                t.printStackTrace(new PrintWriter(trace));
                fail(c.seed() + " after " + c.mutations() + ": " + t + " is not a GraftException\n" + trace);
            }
        }, () -> c.seed() + " after " + c.mutations() + " did not finish in 5 s");
    }

    @Provide
    Arbitrary<Case> pthZip() {
        return cases("views.pth", "views_bigendian.pth", "resnet_tiny_p4.pth", "expanded.pth", "checkpoint_wrapped.pth");
    }

    @Provide
    Arbitrary<Case> pthLegacy() {
        return cases("views_legacy.pth", "resnet_tiny_legacy.pth");
    }

    @Provide
    Arbitrary<Case> pthTar() {
        return cases("tar_legacy.pth");
    }

    @Provide
    Arbitrary<Case> safetensors() {
        return cases("hand.safetensors", "written.safetensors");
    }

    @Provide
    Arbitrary<Case> npy() {
        return cases("f4.npy", "fortran_f4.npy", "f8_be.npy", "v3_f4.npy", "scalar_f8.npy", "written.npy");
    }

    @Property(tries = TRIES)
    void pthZipReader(@ForAll("pthZip") Case c) {
        loadOrTypedError(c);
    }

    @Property(tries = TRIES)
    void pthLegacyReader(@ForAll("pthLegacy") Case c) {
        loadOrTypedError(c);
    }

    @Property(tries = TRIES)
    void pthTarReader(@ForAll("pthTar") Case c) {
        loadOrTypedError(c);
    }

    @Property(tries = TRIES)
    void safetensorsReader(@ForAll("safetensors") Case c) {
        loadOrTypedError(c);
    }

    @Property(tries = TRIES)
    void npyReader(@ForAll("npy") Case c) {
        loadOrTypedError(c);
    }

    @Property(tries = LONG_TRIES)
    @Tag("fuzz")
    void pthZipReaderLong(@ForAll("pthZip") Case c) {
        loadOrTypedError(c);
    }

    @Property(tries = LONG_TRIES)
    @Tag("fuzz")
    void pthLegacyReaderLong(@ForAll("pthLegacy") Case c) {
        loadOrTypedError(c);
    }

    @Property(tries = LONG_TRIES)
    @Tag("fuzz")
    void pthTarReaderLong(@ForAll("pthTar") Case c) {
        loadOrTypedError(c);
    }

    @Property(tries = LONG_TRIES)
    @Tag("fuzz")
    void safetensorsReaderLong(@ForAll("safetensors") Case c) {
        loadOrTypedError(c);
    }

    @Property(tries = LONG_TRIES)
    @Tag("fuzz")
    void npyReaderLong(@ForAll("npy") Case c) {
        loadOrTypedError(c);
    }
}
