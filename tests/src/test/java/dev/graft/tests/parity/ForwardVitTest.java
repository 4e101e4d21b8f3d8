package dev.graft.tests.parity;

import dev.graft.cli.GraftCli;
import dev.graft.engine.HostTensor;
import dev.graft.engine.StateDict;
import dev.graft.loaders.Npy;
import dev.graft.loaders.SafeTensors;
import dev.graft.models.VisionTransformer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code graft forward} on the narrow ViT and DeiT-named fixtures of {@link ViTParityTest}: logits, loss and every
 * gradient written by the command equal torch's (same tolerances: measured about 1e-6), and a custom-width state dict
 * without {@code graft.vit} metadata is refused (its head count is not in the file).
 */
class ForwardVitTest {
    @TempDir
    Path dir;

    @Test
    void torchvisionNames() {
        forward("vit_narrow");
    }

    @Test
    void timmNames() {
        forward("deit_narrow");
    }

    private void forward(String stem) {
        RawFixture f = RawFixture.resource(stem);
        StateDict init = f.stateDict("init/");
        init.metadata().put(VisionTransformer.META_CONFIG, f.meta().path("config").asText());
        Path weights = dir.resolve(stem + ".safetensors");
        SafeTensors.write(weights, init);
        Path input = dir.resolve("x.npy");
        Npy.write(input, f.get("input"));
        Path labels = dir.resolve("y.npy");
        Npy.write(labels, f.get("labels"));
        Path logits = dir.resolve("logits.npy");
        Path grads = dir.resolve("grads.safetensors");
        int code = GraftCli.execute(new String[] {"forward", "--weights", weights.toString(), "--input", input.toString(),
                "--labels", labels.toString(), "--output", logits.toString(), "--grads", grads.toString(), "--device", "cpu"});
        assertEquals(0, code);
        Deviation d = Deviation.of("logits", f.get("logits_eval").floats(), Npy.read(logits).toFloats());
        assertTrue(d.relative() <= ViTParityTest.LOGITS, d.toString());
        StateDict g = SafeTensors.read(grads);
        assertEquals(init.keys(), g.keys());
        for (String k : g.keys()) {
            HostTensor expected = f.get("grad/" + k);
            Deviation dg = Deviation.of(k, expected.floats(), g.get(k).toFloats());
            assertTrue(dg.relative() <= ViTParityTest.GRADIENTS, dg.toString());
        }
        assertEquals(f.meta().path("config").asText(), g.metadata().get(VisionTransformer.META_CONFIG));
    }

    @Test
    void customWidthWithoutMetadataIsRefused() {
        Path x = dir.resolve("x.npy");
        Npy.write(x, RawFixture.resource("deit_narrow").get("input"));
        int code = GraftCli.execute(new String[] {"forward", "--weights", RawFixture.resourcePath("deit_narrow_wrapped.pth").toString(),
                "--input", x.toString(), "--output", dir.resolve("l.npy").toString()});
        assertEquals(2, code);
    }
}
