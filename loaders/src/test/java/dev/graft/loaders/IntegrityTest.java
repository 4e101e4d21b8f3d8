package dev.graft.loaders;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files Graft writes record the SHA-256 of each tensor's bytes ({@code graft.sha256}); reading checks each tensor
 * as it is read, whole loads and streaming loads alike, and one flipped bit is an {@link IntegrityException} naming
 * the tensor and its bytes. Files without the record load as before.
 */
class IntegrityTest {
    @TempDir
    Path dir;

    private static StateDict sample() {
        StateDict sd = new StateDict();
        sd.put("conv1.weight", HostTensor.of(new float[] {1, -2, 3.5f, 4, 5, 6}, Shape.of(1, 2, 3)));
        sd.put("fc.bias", HostTensor.of(new double[] {0.25, -8}, Shape.of(2)));
        sd.put("bn1.num_batches_tracked", HostTensor.of(new long[] {12}, Shape.scalar()));
        sd.put("empty", HostTensor.of(new float[0], Shape.of(0, 3)));
        sd.metadata().put("graft.architecture", "resnet18");
        return sd;
    }

    /** The header of a safetensors file. */
    static Map<String, Object> header(byte[] file) {
        long n = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return TestJson.object(new String(file, 8, (int) n, StandardCharsets.UTF_8));
    }

    /** The graft.sha256 record of a safetensors file. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> digests(byte[] file) {
        return TestJson.object((String) ((Map<String, Object>) header(file).get("__metadata__")).get(SafeTensors.META_SHA256));
    }

    private static long buffer(byte[] file) {
        return 8 + ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    @Test
    @SuppressWarnings("unchecked")
    void theWriterRecordsTheSha256OfEachTensorsBytes() throws Exception {
        Path f = dir.resolve("m.safetensors");
        SafeTensors.write(f, sample());
        byte[] b = Files.readAllBytes(f);
        Map<String, Object> h = header(b);
        Map<String, Object> digests = digests(b);
        assertEquals(List.of("conv1.weight", "fc.bias", "bn1.num_batches_tracked", "empty"), List.copyOf(digests.keySet()));
        for (String name : digests.keySet()) {
            List<Object> off = (List<Object>) ((Map<String, Object>) h.get(name)).get("data_offsets");
            long begin = (Long) off.get(0);
            long end = (Long) off.get(1);
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(b, (int) (buffer(b) + begin), (int) (end - begin));
            assertEquals(HexFormat.of().formatHex(md.digest()), digests.get(name), name);
        }
        assertEquals("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", digests.get("empty"),
                "SHA-256 of no bytes");

        StateDict back = SafeTensors.read(f);
        assertEquals(sample().metadata(), back.metadata(), "the record is not part of the metadata a load returns");
        StateDictSummary s = StateDicts.inspect(f);
        assertTrue(s.recordsDigests());
        assertEquals(digests.get("fc.bias"), s.tensors().get(1).sha256());
        Verification v = StateDicts.verify(f, LoadOptions.defaults());
        assertTrue(v.ok());
        assertEquals(4, v.verified());
        assertEquals(24 + 16 + 8, v.bytes());
    }

    @Test
    void oneFlippedBitIsAnErrorNamingTheTensorWholeOrStreaming() throws IOException {
        Path f = dir.resolve("m.safetensors");
        SafeTensors.write(f, sample());
        byte[] b = Files.readAllBytes(f);
        long fcBias = buffer(b) + 24;                       // after conv1.weight's 6 float32
        b[(int) fcBias + 3] ^= 0x10;
        Files.write(f, b);

        IntegrityException e = assertThrows(IntegrityException.class, () -> StateDicts.read(f));
        assertEquals("fc.bias", e.tensor());
        assertEquals(fcBias, e.offset());
        assertTrue(e.getMessage().contains("tensor 'fc.bias' (bytes " + fcBias + " to " + (fcBias + 16) + ") does not match the"
                + " SHA-256 recorded"), e.getMessage());
        assertTrue(e.getMessage().startsWith(f + " at byte " + fcBias), e.getMessage());

        // streaming verifies what it reads: the intact tensors load, the damaged one does not
        try (StateDictFile in = StateDictFile.open(f)) {
            assertTrue(in.recordsDigests());
            assertEquals(sample().get("conv1.weight"), in.load("conv1.weight"));
            assertEquals(sample().get("bn1.num_batches_tracked"), in.load("bn1.num_batches_tracked"));
            assertEquals("fc.bias", assertThrows(IntegrityException.class, () -> in.load("fc.bias")).tensor());
        }
        Verification v = StateDicts.verify(f, LoadOptions.defaults());
        assertFalse(v.ok());
        assertEquals(3, v.verified());
        assertEquals(List.of("fc.bias"), v.failures().stream().map(IntegrityException::tensor).toList());
    }

    @Test
    void aBackgroundCheckReportsTheSameDamageWhenAwaited() throws IOException {
        Path f = dir.resolve("m.safetensors");
        SafeTensors.write(f, sample());
        byte[] good = Files.readAllBytes(f);
        // intact: the values are those written, and waiting for the check succeeds
        try (StateDictFile in = StateDictFile.open(f)) {
            in.checkDigestsInBackground();
            for (String name : List.of("conv1.weight", "fc.bias", "bn1.num_batches_tracked", "empty")) {
                assertEquals(sample().get(name), in.load(name), name);
            }
            in.awaitDigests();
            in.awaitDigests(); // waiting again is harmless
        }
        // damaged: load no longer checks, awaitDigests reports the tensor and its bytes as a check on load does
        byte[] b = good.clone();
        long fcBias = buffer(b) + 24;
        b[(int) fcBias + 3] ^= 0x10;
        Files.write(f, b);
        try (StateDictFile in = StateDictFile.open(f)) {
            in.checkDigestsInBackground();
            in.load("fc.bias");
            IntegrityException e = assertThrows(IntegrityException.class, in::awaitDigests);
            assertEquals("fc.bias", e.tensor());
            assertEquals(fcBias, e.offset());
            assertThrows(IntegrityException.class, in::awaitDigests, "the failure stays");
        }
        // closing while the check may still run stops it without an error
        try (StateDictFile in = StateDictFile.open(f)) {
            in.checkDigestsInBackground();
        }
        // a file with no record: nothing to wait for, load as before
        try (StateDictFile in = StateDictFile.open(Fixtures.path("hand.safetensors"))) {
            in.checkDigestsInBackground();
            in.awaitDigests();
            assertEquals(SafeTensors.read(Fixtures.path("hand.safetensors")).size(), in.shapes().size());
        }
    }

    @Test
    void everyBitOfTheDataIsCovered() throws IOException {
        Path f = dir.resolve("m.safetensors");
        SafeTensors.write(f, sample());
        byte[] good = Files.readAllBytes(f);
        for (long at = buffer(good); at < good.length; at++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] b = good.clone();
                b[(int) at] ^= (byte) (1 << bit);
                assertThrows(IntegrityException.class, () -> StateDicts.load(b, "m.safetensors", LoadOptions.defaults()),
                        "bit " + bit + " of byte " + at);
            }
        }
    }

    @Test
    void filesWithoutTheRecordLoadAsBefore() {
        Path f = Fixtures.path("hand.safetensors");
        assertEquals(8, SafeTensors.read(f).size());
        assertFalse(StateDicts.inspect(f).recordsDigests());
        assertEquals("", StateDicts.inspect(f).tensors().get(0).sha256());
        Verification v = StateDicts.verify(f, LoadOptions.defaults());
        assertFalse(v.recorded());
        assertFalse(v.ok());
        assertEquals(0, v.verified());
        assertFalse(StateDicts.verify(Fixtures.path("views.pth"), LoadOptions.defaults()).recorded());
    }

    /** The message a file with one tensor 'a' of 4 zero bytes and this graft.sha256 record fails with. */
    private static String error(String record) {
        String quoted = "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(record)) + "\"";
        byte[] f = SafeTensorsTest.file("{\"__metadata__\":{\"graft.sha256\":" + quoted + "},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        return assertThrows(FormatException.class, () -> StateDicts.load(f, "t.safetensors", LoadOptions.defaults())).getMessage();
    }

    @Test
    void aMalformedRecordIsAnError() {
        String zeros = "df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119";   // SHA-256 of 4 zero bytes
        assertEquals(1, StateDicts.load(SafeTensorsTest.file("{\"__metadata__\":{\"graft.sha256\":\"{\\\"a\\\":\\\"" + zeros
                + "\\\"}\"},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "t.safetensors",
                LoadOptions.defaults()).stateDict().size());
        assertTrue(error("not json").contains("graft.sha256 is not valid JSON"));
        assertTrue(error("[]").contains("is not a JSON object"));
        assertTrue(error("{\"a\":\"abc\"}").contains("for 'a' is not 64 lowercase hex digits"));
        assertTrue(error("{\"a\":\"" + zeros.toUpperCase() + "\"}").contains("not 64 lowercase hex digits"));
        assertTrue(error("{}").contains("records no digest for tensor 'a'"));
        assertTrue(error("{\"a\":\"" + zeros + "\",\"b\":\"" + zeros + "\"}").contains("for 'b', which is not a tensor"));
        assertTrue(error("{\"a\":\"" + zeros + "\",\"a\":\"" + zeros + "\"}").contains("not valid JSON: Duplicate field 'a'"));
        assertTrue(error("{\"a\":\"" + zeros.replace('d', 'e') + "\"}").contains("does not match the SHA-256"));
    }
}
