package dev.graft.loaders;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.engine.DType;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * What Graft writes it reads back identically: random state dicts (every dtype Graft writes, shapes from scalars
 * and zero-size to rank 64, every float bit pattern including NaN payloads, names and metadata anywhere in
 * Unicode) through safetensors (whole and streaming loads) and single tensors through .npy, compared bit for bit.
 */
class RoundTripProperties {
    private static final Path DIR;

    static {
        try {
            DIR = Files.createTempDirectory("graft-roundtrip");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterContainer
    static void cleanUp() throws IOException {
        try (var files = Files.list(DIR)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(DIR);
    }

    /** Any Unicode text: code points from the whole range except the surrogate block, which UTF-8 cannot encode. */
    @Provide
    static Arbitrary<String> unicode() {
        Arbitrary<Integer> codePoint = Arbitraries.oneOf(Arbitraries.integers().between(0, 0x7F),
                Arbitraries.integers().between(0x80, 0xD7FF), Arbitraries.integers().between(0xE000, 0x10FFFF));
        return codePoint.list().ofMaxSize(12).map(cps -> {
            StringBuilder sb = new StringBuilder();
            cps.forEach(sb::appendCodePoint);
            return sb.toString();
        });
    }

    private static Arbitrary<Shape> shapes() {
        Arbitrary<Shape> small = Arbitraries.integers().between(0, 5).list().ofMaxSize(4)
                .map(d -> Shape.of(d.stream().mapToInt(Integer::intValue).toArray()));
        Arbitrary<Shape> deep = Arbitraries.integers().between(5, 64).map(SafeTensorsTest::ones);
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(9, small), net.jqwik.api.Tuple.of(1, deep));
    }

    @Provide
    static Arbitrary<HostTensor> tensors() {
        return Combinators.combine(Arbitraries.of(DType.values()), shapes(), Arbitraries.longs().array(long[].class).ofSize(625))
                .as((dtype, shape, bits) -> {
                    int n = shape.numel();
                    return switch (dtype) {
                        case F32 -> {
                            float[] f = new float[n];
                            for (int i = 0; i < n; i++) {
                                f[i] = Float.intBitsToFloat((int) bits[i]);
                            }
                            yield HostTensor.of(f, shape);
                        }
                        case F64 -> {
                            double[] d = new double[n];
                            for (int i = 0; i < n; i++) {
                                d[i] = Double.longBitsToDouble(bits[i]);
                            }
                            yield HostTensor.of(d, shape);
                        }
                        case I64 -> HostTensor.of(Arrays.copyOf(bits, n), shape);
                    };
                });
    }

    @Provide
    Arbitrary<StateDict> stateDicts() {
        Arbitrary<List<String>> names = unicode().filter(s -> !s.equals("__metadata__")).list().uniqueElements().ofMaxSize(6);
        Arbitrary<Map<String, String>> metadata = Arbitraries.maps(unicode().filter(s -> !s.equals(SafeTensors.META_SHA256)),
                unicode()).ofMaxSize(4);
        return Combinators.combine(names, metadata).flatAs((ns, meta) -> tensors().list().ofSize(ns.size()).map(ts -> {
            StateDict sd = new StateDict();
            for (int i = 0; i < ns.size(); i++) {
                sd.put(ns.get(i), ts.get(i));
            }
            sd.metadata().putAll(meta);
            return sd;
        }));
    }

    /** Same dtype, shape and stored type, and the same bits in every element (NaN payloads included). */
    static void assertIdentical(HostTensor want, HostTensor got, String what) {
        assertEquals(want.dtype(), got.dtype(), what);
        assertEquals(want.shape(), got.shape(), what);
        assertEquals(want.dtype().torchName(), got.sourceType(), what);
        switch (want.dtype()) {
            case F32 -> {
                int[] a = new int[want.floats().length];
                int[] b = new int[got.floats().length];
                for (int i = 0; i < a.length; i++) {
                    a[i] = Float.floatToRawIntBits(want.floats()[i]);
                    b[i] = Float.floatToRawIntBits(got.floats()[i]);
                }
                assertArrayEquals(a, b, what);
            }
            case F64 -> assertArrayEquals(Arrays.stream(want.doubles()).mapToLong(Double::doubleToRawLongBits).toArray(),
                    Arrays.stream(got.doubles()).mapToLong(Double::doubleToRawLongBits).toArray(), what);
            case I64 -> assertArrayEquals(want.longs(), got.longs(), what);
        }
    }

    /** 60 tries: each write is forced to disk (AtomicFiles), about 0.1 s here. */
    @Property(tries = 60)
    void safetensorsRoundTrip(@ForAll("stateDicts") StateDict sd) throws IOException {
        Path f = Files.createTempFile(DIR, "rt", ".safetensors");
        StateDicts.write(f, sd);
        StateDict back = StateDicts.read(f);
        assertEquals(List.copyOf(sd.keys()), List.copyOf(back.keys()), "names and their order");
        sd.tensors().forEach((k, v) -> assertIdentical(v, back.get(k), k));
        assertEquals(sd.metadata(), back.metadata());
        try (StateDictFile in = StateDictFile.open(f)) {
            assertTrue(in.recordsDigests());
            assertEquals(sd.metadata(), in.metadata());
            for (String k : sd.keys()) {
                assertIdentical(sd.get(k), in.load(k), k + " (streaming)");
            }
        }
        assertTrue(StateDicts.verify(f, LoadOptions.defaults()).ok());
        Files.delete(f);
    }

    @Property(tries = 100)
    void npyRoundTrip(@ForAll("tensors") HostTensor t) throws IOException {
        Path f = Files.createTempFile(DIR, "rt", ".npy");
        Npy.write(f, t);
        assertIdentical(t, Npy.read(f), f.toString());
        Files.delete(f);
    }
}
