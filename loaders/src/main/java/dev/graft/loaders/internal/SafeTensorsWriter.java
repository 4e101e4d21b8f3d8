package dev.graft.loaders.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.graft.engine.GraftException;
import dev.graft.engine.HostTensor;
import dev.graft.engine.StateDict;
import dev.graft.loaders.SafeTensors;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes a {@link StateDict} as safetensors, atomically. Tensors keep the state dict's order, in the header and
 * in the buffer; the header is padded with spaces to a multiple of 8 bytes so that every tensor starts aligned;
 * {@code metadata()} becomes {@code __metadata__}, followed by {@value SafeTensors#META_SHA256}: a JSON object
 * from each tensor's name to the SHA-256 of its bytes in the buffer, which {@link SafeTensorsReader} checks as it
 * reads each tensor.
 *
 * <p>One pass over the data: the header is written first with placeholder digests of the same length, the
 * tensors are hashed as they are written, and the final header is written over the placeholder. Everything the
 * reader would refuse (a reserved name, a string that is not valid Unicode, more than
 * {@link dev.graft.loaders.LoadLimits#MAX_RANK} dimensions, a header over the 100 MB limit) is refused before the
 * file is touched.
 */
public final class SafeTensorsWriter {
    private static final JsonFactory JSON = new JsonFactory();
    private static final String PLACEHOLDER = "0".repeat(64);

    private SafeTensorsWriter() {
    }

    public static void write(Path target, StateDict dict) {
        check(target, dict);
        Map<String, String> digests = new LinkedHashMap<>();
        dict.tensors().keySet().forEach(k -> digests.put(k, PLACEHOLDER));
        byte[] placeholder = header(dict, digests);
        if (placeholder.length > SafeTensorsReader.MAX_HEADER) {
            throw new GraftException("cannot write " + target + ": its safetensors header would take " + placeholder.length
                    + " bytes, more than the " + SafeTensorsReader.MAX_HEADER + " any reader accepts (too many tensors or"
                    + " too much metadata)");
        }
        AtomicFiles.write(target, out -> {
            RawWriter.writeAll(out, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, placeholder.length));
            RawWriter.writeAll(out, ByteBuffer.wrap(placeholder));
            for (Map.Entry<String, HostTensor> e : dict.tensors().entrySet()) {
                MessageDigest md = Sha256.digest();
                RawWriter.write(out, e.getValue(), md);
                digests.put(e.getKey(), Sha256.hex(md.digest()));
            }
            byte[] header = header(dict, digests);
            if (header.length != placeholder.length) {
                throw new IllegalStateException("digests changed the header length");   // hex digests have a fixed length
            }
            ByteBuffer h = ByteBuffer.wrap(header);
            while (h.hasRemaining()) {
                out.write(h, 8 + h.position());
            }
        });
    }

    private static void check(Path target, StateDict dict) {
        if (dict.contains("__metadata__")) {
            throw new GraftException("cannot write " + target + ": '__metadata__' is reserved by safetensors and cannot name a tensor");
        }
        if (dict.metadata().containsKey(SafeTensors.META_SHA256)) {
            throw new GraftException("cannot write " + target + ": metadata key '" + SafeTensors.META_SHA256 + "' is reserved"
                    + " for the digests the writer records");
        }
        for (Map.Entry<String, HostTensor> e : dict.tensors().entrySet()) {
            unicode(target, e.getKey(), "tensor name");
            String unwritable = Shapes.unwritable(e.getValue().shape());
            if (unwritable != null) {
                throw new GraftException("cannot write " + target + ": tensor '" + e.getKey() + "' cannot be stored: " + unwritable);
            }
        }
        for (Map.Entry<String, String> e : dict.metadata().entrySet()) {
            unicode(target, e.getKey(), "metadata key");
            unicode(target, e.getValue(), "metadata value of '" + e.getKey() + "'");
        }
    }

    /** JSON in UTF-8 cannot hold a lone UTF-16 surrogate. */
    private static void unicode(Path target, String s, String what) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new GraftException("cannot write " + target + ": " + what + " '" + s.replace(c, '?') + "' has a lone"
                        + " UTF-16 surrogate at index " + i + " and is not valid Unicode");
            }
        }
    }

    static byte[] header(StateDict dict, Map<String, String> digests) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.createGenerator(bytes)) {
            g.writeStartObject();
            g.writeObjectFieldStart("__metadata__");
            for (Map.Entry<String, String> e : dict.metadata().entrySet()) {
                g.writeStringField(e.getKey(), e.getValue());
            }
            g.writeStringField(SafeTensors.META_SHA256, json(digests));
            g.writeEndObject();
            long offset = 0;
            for (Map.Entry<String, HostTensor> e : dict.tensors().entrySet()) {
                HostTensor t = e.getValue();
                long size = (long) t.shape().numel() * t.dtype().bytes();
                g.writeObjectFieldStart(e.getKey());
                g.writeStringField("dtype", ElementType.of(t.dtype()).safetensorsName());
                g.writeFieldName("shape");
                g.writeArray(t.shape().dims(), 0, t.shape().rank());
                g.writeFieldName("data_offsets");
                g.writeArray(new long[] {offset, offset + size}, 0, 2);
                g.writeEndObject();
                offset += size;
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);   // a ByteArrayOutputStream does not fail
        }
        byte[] json = bytes.toByteArray();
        byte[] padded = Arrays.copyOf(json, (json.length + 7) / 8 * 8);
        Arrays.fill(padded, json.length, padded.length, (byte) ' ');
        return padded;
    }

    private static String json(Map<String, String> map) {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = JSON.createGenerator(w)) {
            g.writeStartObject();
            for (Map.Entry<String, String> e : map.entrySet()) {
                g.writeStringField(e.getKey(), e.getValue());
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);   // a StringWriter does not fail
        }
        return w.toString();
    }
}
