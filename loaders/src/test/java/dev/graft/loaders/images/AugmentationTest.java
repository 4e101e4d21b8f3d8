package dev.graft.loaders.images;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The named augmentation presets and their spelled-out equivalents. */
class AugmentationTest {
    @Test
    void defaultIsUnchangedAndNoflipIsDefaultWithoutTheFlip() {
        assertEquals(new Augmentation(true, 0.75, 0.5, 10), Augmentation.parse("default"), "saved runs keep their meaning");
        assertEquals(new Augmentation(true, 0.75, 0, 10), Augmentation.parse("noflip"));
        assertEquals(Augmentation.parse("crop=0.75,flip=0.5,rotate=10"), Augmentation.parse("default"));
        assertEquals(Augmentation.parse("crop,rotate"), Augmentation.parse(" NoFlip "));
        assertEquals("crop=0.75,rotate=10.0", Augmentation.NO_FLIP.toString());
    }

    @Test
    void anUnknownNameListsThePresets() {
        DatasetException e = assertThrows(DatasetException.class, () -> Augmentation.parse("mirror"));
        assertTrue(e.getMessage().contains("use none, default, noflip, or crop=S,flip=P,rotate=DEG"), e.getMessage());
    }
}
