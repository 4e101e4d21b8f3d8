package dev.graft.engine.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Arrays a script wrote with real PyTorch, one per line: {@code name|shape|values} (comma-separated shape,
 * space-separated row-major float64 values); '#' starts a comment line. See engine/src/test/python.
 */
public final class Fixtures {
    private final Map<String, Array> arrays;

    public record Array(int[] shape, double[] values) {
        public double scalar() {
            if (values.length != 1) {
                throw new IllegalStateException("fixture array of shape " + Arrays.toString(shape) + " is not a scalar");
            }
            return values[0];
        }

        public int[] ints() {
            return Arrays.stream(values).mapToInt(v -> (int) v).toArray();
        }

        public float[] floats() {
            float[] f = new float[values.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) values[i];
            }
            return f;
        }
    }

    private Fixtures(Map<String, Array> arrays) {
        this.arrays = arrays;
    }

    /** Loads a class-path resource such as {@code /fixtures/forward_values.txt}. */
    public static Fixtures load(String resource) {
        Map<String, Array> arrays = new LinkedHashMap<>();
        try (InputStream in = Fixtures.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + resource);
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] parts = line.split("\\|", -1);
                int[] shape = parts[1].isEmpty() ? new int[0] : Arrays.stream(parts[1].split(",")).mapToInt(Integer::parseInt).toArray();
                double[] values = Arrays.stream(parts[2].trim().split(" ")).mapToDouble(Double::parseDouble).toArray();
                arrays.put(parts[0], new Array(shape, values));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Fixtures(arrays);
    }

    public Array get(String name) {
        Array a = arrays.get(name);
        if (a == null) {
            throw new IllegalStateException("no fixture array '" + name + "'; regenerate with engine/src/test/python");
        }
        return a;
    }
}
