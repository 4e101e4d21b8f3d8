package dev.graft.loaders.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import dev.graft.engine.Shape;
import dev.graft.loaders.Format;
import dev.graft.loaders.LoadLimits;
import dev.graft.loaders.SafeTensors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * safetensors (huggingface/safetensors README): an 8-byte little-endian header length N, N bytes of UTF-8 JSON
 * (possibly padded with spaces), then the buffer. Each header entry is {@code name: {dtype, shape,
 * data_offsets: [begin, end]}} relative to the buffer; {@code __metadata__} is a string map. As in the reference
 * implementation, the tensors must tile the buffer exactly: sorted by offset, no overlap, no gap, nothing after.
 *
 * <p>Stricter than the reference: a key that appears twice anywhere in the header is an error (the reference
 * refuses a repeated field inside an entry and a repeated {@code __metadata__}, but keeps the last of two equal
 * tensor entries and the last value of a repeated metadata key), and shapes have at most
 * {@link LoadLimits#MAX_RANK} dimensions (the reference sets no limit). A {@code graft.sha256} metadata entry
 * (see {@link SafeTensorsWriter}) is taken out of the metadata and checked against each tensor's bytes as they
 * are read.
 */
public final class SafeTensorsReader {
    /** The reference implementation's limit (safetensors {@code MAX_HEADER_SIZE}). */
    static final long MAX_HEADER = 100_000_000;
    /**
     * Repeated keys are errors; Jackson's own caps on name and string length (50,000 and 20,000,000 chars) are
     * lifted to the header limit, so whatever fits a header reads (the writer checks only that limit).
     */
    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder().maxNameLength((int) MAX_HEADER)
                    .maxStringLength((int) MAX_HEADER).build())
            .build();

    private record Entry(String name, ElementType type, Shape shape, long begin, long end, long at) {
    }

    private SafeTensorsReader() {
    }

    public static Contents read(Source src) {
        if (src.size() < 8) {
            throw src.error(0, "too short for a safetensors header length");
        }
        long n = ByteBuffer.wrap(src.read(0, 8, "header length")).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (n < 2 || n > MAX_HEADER || n > src.size() - 8) {
            throw src.error(0, "safetensors header length " + Long.toUnsignedString(n) + " is invalid (file has "
                    + src.size() + " bytes; at most " + MAX_HEADER + " are allowed for a header)");
        }
        byte[] header = src.read(8, n, "safetensors header");
        long base = 8 + n;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = parse(src, header, metadata);
        checkTiling(src, entries, src.size() - base);
        Map<String, String> digests = digests(src, metadata.remove(SafeTensors.META_SHA256), entries);
        List<StoredTensor> tensors = new ArrayList<>();
        for (Entry e : entries) {
            tensors.add(new ContiguousTensor(src, e.name(), e.type(), e.shape(), base + e.begin(), ByteOrder.LITTLE_ENDIAN,
                    digests == null ? null : digests.get(e.name())));
        }
        return new Contents(Format.SAFETENSORS, tensors, List.of(), "", metadata, digests != null);
    }

    /**
     * The {@code graft.sha256} record: a JSON object from every tensor's name to the SHA-256 of its bytes; null when
     * the file has none (not written by Graft). One that does not cover exactly the file's tensors is an error.
     */
    private static Map<String, String> digests(Source src, String record, List<Entry> entries) {
        if (record == null) {
            return null;
        }
        String what = "__metadata__ " + SafeTensors.META_SHA256;
        Map<String, String> out = new LinkedHashMap<>();
        try (JsonParser p = JSON.createParser(record)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw src.error(8, what + " is not a JSON object of tensor names to SHA-256 digests");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                if (p.nextToken() != JsonToken.VALUE_STRING || !Sha256.isHex(p.getText())) {
                    throw src.error(8, what + " for '" + name + "' is not 64 lowercase hex digits");
                }
                out.put(name, p.getText());
            }
            if (p.nextToken() != null) {
                throw src.error(8, what + " has content after its object");
            }
        } catch (JsonProcessingException e) {
            throw src.error(8, what + " is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw src.error(8, what + " unreadable: " + e.getMessage());
        }
        for (Entry e : entries) {
            if (!out.containsKey(e.name())) {
                throw src.error(e.at(), what + " records no digest for tensor '" + e.name() + "' (the record or the header"
                        + " was edited after the file was written)");
            }
        }
        if (out.size() != entries.size()) {
            Set<String> names = new HashSet<>();
            entries.forEach(e -> names.add(e.name()));
            String extra = out.keySet().stream().filter(k -> !names.contains(k)).findFirst().orElse("?");
            throw src.error(8, what + " records a digest for '" + extra + "', which is not a tensor of the file");
        }
        return out;
    }

    private static List<Entry> parse(Source src, byte[] header, Map<String, String> metadata) {
        List<Entry> entries = new ArrayList<>();
        try (JsonParser p = JSON.createParser(header)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw fail(src, p, "header is not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                if (name.equals("__metadata__")) {
                    metadata(src, p, metadata);
                } else {
                    entries.add(entry(src, p, name));
                }
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw fail(src, p, "unexpected content after the header object");
            }
        } catch (JsonProcessingException e) {
            long at = e.getLocation() == null ? -1 : 8 + Math.max(0, e.getLocation().getByteOffset());
            String duplicate = duplicate(e);
            if (duplicate != null) {
                throw src.error(at, "safetensors header has a duplicate key: " + duplicate + " appears twice; each key may"
                        + " appear only once");
            }
            throw src.error(at, "safetensors header is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw src.error(8, "safetensors header unreadable: " + e.getMessage());
        }
        return entries;
    }

    /** "'k' in entry 'w'"-style, when Jackson refused a repeated key (STRICT_DUPLICATE_DETECTION); else null. */
    private static String duplicate(JsonProcessingException e) {
        String m = e.getOriginalMessage();
        if (!(e instanceof JsonParseException pe) || m == null || !m.startsWith("Duplicate field '") || !m.endsWith("'")) {
            return null;
        }
        String key = m.substring("Duplicate field ".length());
        List<String> path = new ArrayList<>();
        JsonParser p = pe.getProcessor();
        if (p != null) {
            for (JsonStreamContext c = p.getParsingContext().getParent(); c != null && !c.inRoot(); c = c.getParent()) {
                if (c.getCurrentName() != null) {
                    path.add(0, c.getCurrentName());
                }
            }
        }
        if (path.isEmpty()) {
            return key + " at the top level";
        }
        String where = path.get(0).equals("__metadata__") ? "__metadata__" : "entry '" + path.get(0) + "'";
        return key + " in " + where + (path.size() > 1 ? " (under " + String.join(".", path.subList(1, path.size())) + ")" : "");
    }

    private static void metadata(Source src, JsonParser p, Map<String, String> out) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw fail(src, p, "__metadata__ must be an object of strings");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            if (p.nextToken() != JsonToken.VALUE_STRING) {
                throw fail(src, p, "__metadata__ value for '" + key + "' is not a string");
            }
            out.put(key, p.getText());
        }
    }

    private static Entry entry(Source src, JsonParser p, String name) throws IOException {
        long at = offset(p);
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw fail(src, p, "entry '" + name + "' is not an object");
        }
        String dtype = null;
        long[] shape = null;
        long[] offsets = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            p.nextToken();
            switch (field) {
                case "dtype" -> {
                    if (p.currentToken() != JsonToken.VALUE_STRING) {
                        throw fail(src, p, "dtype of '" + name + "' is not a string");
                    }
                    dtype = p.getText();
                }
                case "shape" -> shape = longs(src, p, "shape of '" + name + "'", LoadLimits.MAX_RANK);
                case "data_offsets" -> offsets = longs(src, p, "data_offsets of '" + name + "'", 2);
                default -> p.skipChildren();          // unknown fields are ignored, as the reference reader does
            }
        }
        if (dtype == null || shape == null || offsets == null) {
            throw src.error(at, "entry '" + name + "' needs dtype, shape and data_offsets");
        }
        ElementType type = ElementType.ofSafetensors(dtype);
        if (type == null) {
            throw src.error(at, "entry '" + name + "' has dtype " + dtype + "; supported: F64, F32, F16, BF16, I64, I32,"
                    + " I16, I8, U8, BOOL");
        }
        if (offsets.length != 2) {
            throw src.error(at, "data_offsets of '" + name + "' must be [begin, end]");
        }
        Shape s = Shapes.of(src, at, shape, "entry '" + name + "'");
        if (offsets[0] > offsets[1]) {
            throw src.error(at, "entry '" + name + "' has data_offsets misordered: begin " + offsets[0] + " > end " + offsets[1]);
        }
        long bytes = Shapes.bytes(src, at, s.numel(), type.bytes(), "entry '" + name + "'");
        if (offsets[1] - offsets[0] != bytes) {
            throw src.error(at, "entry '" + name + "' (" + dtype + " " + s + ") needs " + bytes + " bytes but data_offsets ["
                    + offsets[0] + ", " + offsets[1] + ") span " + (offsets[1] - offsets[0]));
        }
        return new Entry(name, type, s, offsets[0], offsets[1], at);
    }

    /** A JSON array of at most {@code max} non-negative 64-bit integers. */
    private static long[] longs(Source src, JsonParser p, String what, int max) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw fail(src, p, what + " is not an array");
        }
        List<Long> out = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (p.currentToken() != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER
                    || p.getLongValue() < 0) {
                throw fail(src, p, what + " must hold non-negative 64-bit integers");
            }
            if (out.size() == max) {
                throw fail(src, p, what + " has more than " + max + " elements"
                        + (max == LoadLimits.MAX_RANK ? " (dimensions); at most " + max + " are supported" : ""));
            }
            out.add(p.getLongValue());
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    /** The tensors, sorted by offset, must cover [0, bufferSize) exactly once. */
    private static void checkTiling(Source src, List<Entry> entries, long bufferSize) {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long expect = 0;
        for (Entry e : sorted) {
            if (e.end() > bufferSize) {
                throw src.error(e.at(), "entry '" + e.name() + "' data_offsets [" + e.begin() + ", " + e.end()
                        + ") are out of range of the " + bufferSize + "-byte buffer");
            }
            if (e.begin() < expect) {
                throw src.error(e.at(), "entry '" + e.name() + "' overlaps the tensor before it (begins at " + e.begin()
                        + ", previous ends at " + expect + ")");
            }
            if (e.begin() > expect) {
                throw src.error(e.at(), "gap in the buffer before entry '" + e.name() + "' (bytes " + expect + " to "
                        + e.begin() + " belong to no tensor)");
            }
            expect = e.end();
        }
        if (expect != bufferSize) {
            throw src.error(-1, "the buffer has " + (bufferSize - expect) + " bytes after the last tensor that belong to"
                    + " no tensor (truncated header or appended data)");
        }
    }

    private static long offset(JsonParser p) {
        return 8 + Math.max(0, p.currentTokenLocation().getByteOffset());
    }

    private static RuntimeException fail(Source src, JsonParser p, String reason) {
        return src.error(offset(p), reason);
    }
}
