package dev.graft.tests.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the "raw-f32le-v1" fixtures written by {@code make_parity_fixtures.py}: NAME.json indexes tensors
 * (name, shape, byte offset, source dtype) in NAME.bin, little-endian float32, row-major. Tensors whose source
 * dtype was int64 come back as I64. Independent of the loaders module on purpose.
 */
final class RawFixture {
    private final JsonNode meta;
    private final LinkedHashMap<String, HostTensor> tensors = new LinkedHashMap<>();

    private RawFixture(Path json) throws IOException {
        JsonNode index = new ObjectMapper().readTree(json.toFile());
        if (!"raw-f32le-v1".equals(index.path("format").asText())) {
            throw new IllegalArgumentException(json + ": not a raw-f32le-v1 index");
        }
        meta = index.path("meta");
        ByteBuffer bin;
        try (FileChannel ch = FileChannel.open(json.resolveSibling(index.path("bin").asText()), StandardOpenOption.READ)) {
            bin = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size()).order(ByteOrder.LITTLE_ENDIAN);
        }
        for (JsonNode e : index.path("tensors")) {
            int[] dims = new int[e.path("shape").size()];
            for (int i = 0; i < dims.length; i++) {
                dims[i] = e.path("shape").get(i).asInt();
            }
            Shape shape = Shape.of(dims);
            int offset = e.path("offset").asInt();
            float[] v = new float[shape.numel()];
            for (int i = 0; i < v.length; i++) {
                v[i] = bin.getFloat(offset + 4 * i);
            }
            HostTensor t;
            if (e.path("source_dtype").asText().equals("int64")) {
                long[] l = new long[v.length];
                for (int i = 0; i < v.length; i++) {
                    l[i] = (long) v[i];
                }
                t = HostTensor.of(l, shape);
            } else {
                t = HostTensor.of(v, shape);
            }
            tensors.put(e.path("name").asText(), t);
        }
    }

    static RawFixture load(Path json) {
        try {
            return new RawFixture(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A fixture committed under src/test/resources/parity. */
    static RawFixture resource(String stem) {
        return load(resourcePath(stem + ".json"));
    }

    static Path resourcePath(String name) {
        try {
            var url = RawFixture.class.getResource("/parity/" + name);
            if (url == null) {
                throw new IllegalStateException("fixture /parity/" + name + " is missing; regenerate with "
                        + "/usr/bin/python3 tests/src/test/fixtures/make_parity_fixtures.py");
            }
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    JsonNode meta() {
        return meta;
    }

    HostTensor get(String name) {
        HostTensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("fixture has no tensor '" + name + "'");
        }
        return t;
    }

    /** Entries named {@code prefix + key}, keyed by {@code key}, in file order. */
    Map<String, HostTensor> group(String prefix) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        tensors.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                out.put(k.substring(prefix.length()), v);
            }
        });
        return out;
    }

    StateDict stateDict(String prefix) {
        StateDict s = new StateDict();
        group(prefix).forEach(s::put);
        return s;
    }

    int[] labels(String name) {
        long[] l = get(name).longs();
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            out[i] = (int) l[i];
        }
        return out;
    }

    List<String> names() {
        return List.copyOf(tensors.keySet());
    }
}
