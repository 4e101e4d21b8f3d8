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
 * {@code metadata()} becomes {@code __metadata__} (omitted when empty).
 */
public final class SafeTensorsWriter {
    private static final JsonFactory JSON = new JsonFactory();

    private SafeTensorsWriter() {
    }

    public static void write(Path target, StateDict dict) {
        if (dict.contains("__metadata__")) {
            throw new GraftException("cannot write " + target + ": '__metadata__' is reserved by safetensors and cannot name a tensor");
        }
        byte[] header = header(dict);
        AtomicFiles.write(target, out -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            RawWriter.writeAll(out, len);
            RawWriter.writeAll(out, ByteBuffer.wrap(header));
            for (HostTensor t : dict.tensors().values()) {
                RawWriter.write(out, t);
            }
        });
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
