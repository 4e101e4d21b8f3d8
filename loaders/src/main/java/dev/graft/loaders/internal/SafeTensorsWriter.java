package dev.graft.loaders.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.graft.engine.GraftException;
import dev.graft.engine.HostTensor;
import dev.graft.engine.StateDict;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Writes a {@link StateDict} as safetensors, atomically. Tensors keep the state dict's order, in the header and
 * in the buffer; the header is padded with spaces to a multiple of 8 bytes so that every tensor starts aligned;
 * {@code metadata()} becomes {@code __metadata__} (omitted when empty). Everything the reader would refuse (a
 * reserved name, a string that is not valid Unicode, more than {@link dev.graft.loaders.LoadLimits#MAX_RANK}
 * dimensions, a header over the 100 MB limit) is refused before the file is touched.
 */
public final class SafeTensorsWriter {
    private static final JsonFactory JSON = new JsonFactory();

    private SafeTensorsWriter() {
    }

    public static void write(Path target, StateDict dict) {
        check(target, dict);
        byte[] header = header(dict);
        if (header.length > SafeTensorsReader.MAX_HEADER) {
            throw new GraftException("cannot write " + target + ": its safetensors header would take " + header.length
                    + " bytes, more than the " + SafeTensorsReader.MAX_HEADER + " any reader accepts (too many tensors or"
                    + " too much metadata)");
        }
        AtomicFiles.write(target, out -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            RawWriter.writeAll(out, len);
            RawWriter.writeAll(out, ByteBuffer.wrap(header));
            for (HostTensor t : dict.tensors().values()) {
                RawWriter.write(out, t);
            }
        });
    }

    private static void check(Path target, StateDict dict) {
        if (dict.contains("__metadata__")) {
            throw new GraftException("cannot write " + target + ": '__metadata__' is reserved by safetensors and cannot name a tensor");
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

    static byte[] header(StateDict dict) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.createGenerator(bytes)) {
            g.writeStartObject();
            if (!dict.metadata().isEmpty()) {
                g.writeObjectFieldStart("__metadata__");
                for (Map.Entry<String, String> e : dict.metadata().entrySet()) {
                    g.writeStringField(e.getKey(), e.getValue());
                }
                g.writeEndObject();
            }
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
}
