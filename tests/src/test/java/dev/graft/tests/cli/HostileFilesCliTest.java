package dev.graft.tests.cli;

import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import dev.graft.loaders.LoadLimits;
import dev.graft.loaders.SafeTensors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every file from issue 18 that once ended in an OutOfMemoryError, a NumberFormatException or a silent load, run
 * through the commands that met it: now one line on stderr naming the file and the reason, exit code 2.
 * {@code expanded_views.pth} and {@code rank100.pth} are made by torch.save (make_hostile_fixtures.py).
 */
class HostileFilesCliTest {
    @TempDir
    Path dir;
    private Path image;
    private Path data;

    @BeforeEach
    void images() throws Exception {
        image = DecisionFixtures.images(dir.resolve("images"), 1).get(0);
        data = dir.resolve("data");
        for (String c : DecisionFixtures.CLASSES) {
            Files.createDirectories(data.resolve(c));
            Files.copy(image, data.resolve(c).resolve("0.png"));
        }
    }

    /** 400 views of one 4-byte storage, 64 MiB each: inspect lists them; everything that would load them refuses first. */
    @Test
    void expandedViewsAreRefusedBeforeAllocating() {
        Path views = Cli.fixture("expanded_views.pth");
        String listing = Cli.ok("inspect", views).out();
        assertTrue(listing.contains("w399") && listing.contains("[16777216]"), listing);
        String[] cost = {views.toString(), "would take 26,843,547,200 bytes (25.0 GiB)", LoadLimits.MAX_BYTES_PROPERTY};
        Cli.userError(Cli.args("convert", views, dir.resolve("v.safetensors")), cost);
        assertFalse(Files.exists(dir.resolve("v.safetensors")));
        Cli.userError(Cli.args("predict", "--model", views, "--device", "reference", image), cost);
        Cli.userError(Cli.args("forward", "--weights", views, "--input", Cli.fixture("input.npy"), "--output", dir.resolve("l.npy"),
                "--device", "reference"), cost);
        Cli.userError(Cli.args("train", "--data", data, "--val", data, "--weights", views, "--arch", "resnet18", "--out", dir.resolve("run"),
                "--device", "reference", "--no-progress", "--head-epochs", "1", "--finetune-epochs", "0"), cost);
    }

    /** PyTorch saves a rank-100 tensor; Graft reads at most 64 dimensions, so convert cannot write a file inspect refuses. */
    @Test
    void moreThan64DimensionsAreRefusedOnReadingSoNeverWritten() {
        Path deep = Cli.fixture("rank100.pth");
        Cli.userError(Cli.args("inspect", deep), "tensor 'deep' has 100 dimensions; at most 64 are supported");
        Cli.userError(Cli.args("convert", deep, dir.resolve("d.safetensors")), "100 dimensions");
        assertFalse(Files.exists(dir.resolve("d.safetensors")));
    }

    /** An .npy header whose dimension has 19 digits was a NumberFormatException in convert and forward. */
    @Test
    void aNineteenDigitDimension() throws IOException {
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (9999999999999999999, 3, 24, 24), }";
        String header = dict + " ".repeat(128 - 10 - dict.length() - 1) + "\n";
        ByteBuffer b = ByteBuffer.allocate(128 + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length());
        b.put(header.getBytes(StandardCharsets.ISO_8859_1));
        Path npy = dir.resolve("x.npy");
        Files.write(npy, b.array());
        String why = "shape dimension 9999999999999999999 has more than 18 digits";
        Cli.userError(Cli.args("convert", npy, dir.resolve("x.safetensors")), why);
        Cli.userError(Cli.args("forward", "--weights", Cli.fixture("narrow.pth"), "--input", npy, "--output", dir.resolve("l.npy"),
                "--device", "reference"), "--input", why);
    }

    @Test
    void aSafetensorsHeaderWithAKeyTwice() throws IOException {
        String header = "{\"__metadata__\":{\"graft.classes\":\"[\\\"a\\\"]\",\"graft.classes\":\"[\\\"b\\\"]\"},"
                + "\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path f = dir.resolve("dup.safetensors");
        Files.write(f, b.array());
        Cli.userError(Cli.args("inspect", f), "duplicate key: 'graft.classes' in __metadata__ appears twice");
        Cli.userError(Cli.args("convert", f, dir.resolve("o.safetensors")), "duplicate key");
    }

    /** One flipped bit in a model's tensor data: predict refuses, naming the tensor; inspect shows which one. */
    @Test
    void aFlippedBitInAModelFile() throws IOException {
        Path model = DecisionFixtures.model(dir.resolve("m.safetensors"), 1, Map.of());
        Cli.ok("predict", "--model", model, "--device", "reference", image);
        byte[] b = Files.readAllBytes(model);
        b[b.length - 3] ^= 0x01;                            // inside the last tensor, fc.bias
        Files.write(model, b);
        Cli.userError(Cli.args("predict", "--model", model, "--device", "reference", image),
                model.toString(), "tensor 'fc.bias'", "does not match the SHA-256 recorded");
        Cli.userError(Cli.args("evaluate", "--model", model, "--data", data, "--out", dir.resolve("eval"), "--device", "reference",
                "--no-progress"), "tensor 'fc.bias'");
        Cli.Run r = Cli.userError(Cli.args("inspect", model), "tensor 'fc.bias'");
        assertTrue(r.out().contains("integrity     FAILED: 1 of"), r.out());
    }

    /** convert writes the digests, and inspect checks them. */
    @Test
    void convertedFilesCarryDigestsThatInspectVerifies() {
        Path out = dir.resolve("narrow.safetensors");
        String r = Cli.ok("convert", Cli.fixture("narrow.pth"), out).out();
        assertTrue(r.contains("integrity: the SHA-256 of each tensor is recorded (graft.sha256)"), r);
        String listing = Cli.ok("inspect", out).out();
        assertTrue(listing.contains("integrity     SHA-256 per tensor (graft.sha256): verified, all 86 tensors"), listing);
        assertTrue(Cli.ok("inspect", "--no-verify", out).out().contains("not checked (--no-verify)"));
        assertTrue(Cli.ok("inspect", Cli.fixture("narrow.pth")).out().contains("integrity     no digests recorded"));
        StateDict sd = new StateDict().put("x", HostTensor.of(new float[] {1}, Shape.of(1)));
        SafeTensors.write(dir.resolve("x.safetensors"), sd);
        assertTrue(Cli.ok("inspect", "--json", dir.resolve("x.safetensors")).out().contains("\"status\" : \"verified\""));
    }
}
