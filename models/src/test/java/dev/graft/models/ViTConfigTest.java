package dev.graft.models;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The named vision transformers (torchvision's vision_transformer.py, timm's deit_small_patch16_224) and the metadata line. */
class ViTConfigTest {

    @Test
    void namedConfigurations() {
        assertEquals(List.of("vit_b_16", "vit_b_32", "vit_l_16", "deit_s"), List.copyOf(ViTConfig.names()));
        ViTConfig b16 = ViTConfig.named("vit_b_16", 1000);
        assertEquals(List.of(224, 16, 768, 12, 12, 3072, 197), List.of(b16.imageSize(), b16.patch(), b16.hidden(), b16.depth(),
                b16.heads(), b16.mlp(), b16.tokens()));
        ViTConfig l16 = ViTConfig.named("vit_l_16", 1000);
        assertEquals(List.of(1024, 24, 16, 4096), List.of(l16.hidden(), l16.depth(), l16.heads(), l16.mlp()));
        assertEquals(50, ViTConfig.named("vit_b_32", 2).tokens());
        ViTConfig deit = ViTConfig.named("deit_small_patch16_224", 2);
        assertEquals("deit_s", deit.architecture());
        assertEquals(ViTConfig.Naming.TIMM, deit.naming());
        assertEquals(List.of(384, 12, 6, 1536, 2), List.of(deit.hidden(), deit.depth(), deit.heads(), deit.mlp(), deit.numClasses()));
    }

    @Test
    void describeParsesBack() {
        for (String name : ViTConfig.names()) {
            ViTConfig c = ViTConfig.named(name, 3).withImageSize(384);
            assertEquals(c, ViTConfig.parse(c.describe()), name);
        }
        ViTConfig custom = ViTConfig.parse("family=vit naming=timm image=32 patch=8 hidden=32 depth=2 heads=2 mlp=64 classes=3 in_channels=3");
        assertEquals("custom", custom.architecture());
        assertEquals(2, custom.heads());
    }

    @Test
    void badInputIsAModelError() {
        ModelException e = assertThrows(ModelException.class, () -> ViTConfig.parse("family=vit image=32"));
        assertTrue(e.getMessage().contains("cannot read the vision-transformer configuration"), e.getMessage());
        assertThrows(ModelException.class, () -> ViTConfig.parse("family=cbr kernel=5"));
        assertThrows(ModelException.class, () -> ViTConfig.named("vit_h_14", 10));
        e = assertThrows(ModelException.class, () -> ViTConfig.named("vit_b_16", 10).withImageSize(100));
        assertTrue(e.getMessage().contains("multiple of the patch size 16"), e.getMessage());
    }
}
