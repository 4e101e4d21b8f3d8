package dev.graft.loaders;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.graft.engine.HostTensor;
import dev.graft.engine.StateDict;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The committed fixtures (made by src/test/fixtures/make_fixtures.py) and what they should load as. Expected
 * values come from NAME.expected.npz, opened with java.util.zip (not our zip reader) and parsed as .npy; the
 * stored dtype of each key and the key order come from NAME.expected.json.
 */
final class Fixtures {
    private Fixtures() {
    }

    static Path path(String name) {
        try {
            return Path.of(Fixtures.class.getResource("/fixtures/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing fixture " + name + "; run make_fixtures.py", e);
        }
    }

    static byte[] bytes(String name) {
        try {
            return Files.readAllBytes(path(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Key -> stored dtype name, in torch's key order. */
    static Map<String, String> dtypes(String base) {
        Map<String, String> out = new LinkedHashMap<>();
        try (JsonParser p = new JsonFactory().createParser(path(base + ".expected.json").toFile())) {
            p.nextToken();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String k = p.currentName();
                p.nextToken();
                out.put(k, p.getText());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** The expected state dict: values from the npz, in the json's key order. */
    static StateDict expected(String base) {
        Map<String, HostTensor> arrays = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(path(base + ".expected.npz").toFile())) {
            for (ZipEntry e : new ArrayList<>(zip.stream().toList())) {
                byte[] npy = zip.getInputStream(e).readAllBytes();
                String key = e.getName().substring(0, e.getName().length() - ".npy".length());
                arrays.put(key, StateDicts.load(npy, key + ".npy", LoadOptions.defaults()).stateDict().tensors().values().iterator().next());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        StateDict sd = new StateDict();
        for (String k : dtypes(base).keySet()) {
            sd.put(k, arrays.get(k));
        }
        return sd;
    }

    /** Same keys in the same order, every tensor equal exactly (dtype, shape, values), stored dtypes recorded. */
    static void assertMatches(String base, StateDict actual) {
        StateDict want = expected(base);
        Map<String, String> dtypes = dtypes(base);
        assertEquals(List.copyOf(want.keys()), List.copyOf(actual.keys()), "keys");
        for (String k : want.keys()) {
            HostTensor a = actual.get(k);
            assertEquals(want.get(k), a, k + ": " + a + " vs " + want.get(k));
            assertEquals(dtypes.get(k), a.sourceType(), k + " stored type");
        }
    }
}
