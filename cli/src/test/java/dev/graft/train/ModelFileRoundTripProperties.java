package dev.graft.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.engine.Device;
import dev.graft.engine.HostTensor;
import dev.graft.engine.StateDict;
import dev.graft.loaders.IntegrityException;
import dev.graft.loaders.SafeTensors;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.models.BlockType;
import dev.graft.models.DecisionRule;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * The files training writes read back as written: a model file (weights, class names anywhere in Unicode, the
 * decision rule, preprocessing) and a checkpoint (model and optimizer tensors, training state), both with their
 * per-tensor SHA-256; one flipped bit in either is an {@link IntegrityException} naming the tensor.
 */
class ModelFileRoundTripProperties {
    private static final ResNetConfig SMALL = ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(4, 4, 4, 8, 8);
    private static final Path DIR;

    static {
        try {
            DIR = Files.createTempDirectory("graft-modelfile");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterContainer
    static void cleanUp() throws IOException {
        try (var files = Files.list(DIR)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(DIR);
    }

    @Provide
    Arbitrary<List<String>> classNames() {
        // Names the model-file rules accept (ModelMetadata: not blank); a blank one is refused when writing (below).
        Arbitrary<String> name = Arbitraries.strings().all().ofMinLength(1).ofMaxLength(10)
                .filter(s -> s.codePoints().noneMatch(c -> Character.getType(c) == Character.SURROGATE))
                .filter(s -> !s.isBlank());
        return name.list().uniqueElements().ofMinSize(2).ofMaxSize(5);
    }

    private static void assertSameTensors(StateDict want, StateDict got) {
        assertEquals(List.copyOf(want.keys()), List.copyOf(got.keys()));
        want.tensors().forEach((k, v) -> assertEquals(v, got.get(k), k));
    }

    /** Flips one bit in the middle of {@code file}'s tensor data. */
    private static void flipABit(Path file) throws IOException {
        byte[] b = Files.readAllBytes(file);
        long data = 8 + ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        b[(int) (data + (b.length - data) / 2)] ^= 0x20;
        Files.write(file, b);
    }

    @net.jqwik.api.Example
    void aClassListTheReaderWouldRefuseIsNotWritten() throws IOException {
        Path f = DIR.resolve("refused.safetensors");
        try (ResNet m = ResNet.builder(SMALL.withNumClasses(2)).device(Device.REFERENCE).seed(1).build()) {
            Preprocessing pre = new Preprocessing(16, 16, new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.2f, 0.2f, 0.2f});
            assertThrows(dev.graft.models.ModelMetadataException.class, () -> ModelFile.write(f, m, List.of("\t", "b"), pre, 0.5, 1, null));
        }
        assertTrue(!Files.exists(f), "nothing written");
    }

    @Property(tries = 12)
    void modelFilesRoundTrip(@ForAll("classNames") List<String> classes, @ForAll @DoubleRange(min = 0.01, max = 0.99) double threshold,
                             @ForAll @IntRange(min = 16, max = 64) int imageSize, @ForAll @IntRange(min = 0, max = 1000) int seed)
            throws IOException {
        Path f = Files.createTempFile(DIR, "model", ".safetensors");
        Preprocessing pre = new Preprocessing(imageSize, imageSize + seed % 32, new float[] {0.5f, 0.25f, 0.125f},
                new float[] {0.2f, 0.3f, 0.4f});
        StateDict written;
        try (ResNet m = ResNet.builder(SMALL.withNumClasses(classes.size())).device(Device.REFERENCE).seed(seed).build()) {
            m.freeze("layer1.*");
            ModelFile.write(f, m, classes, pre, threshold, 1, null);
            written = m.stateDict();
        }
        ModelFile back = ModelFile.read(f);
        assertSameTensors(written, back.state());
        assertEquals(classes, back.classes());
        assertEquals(pre.imageSize(), back.preprocessing().imageSize());
        assertEquals(pre.resizeSize(), back.preprocessing().resizeSize());
        assertEquals(Arrays.toString(pre.mean()), Arrays.toString(back.preprocessing().mean()));
        assertEquals(Arrays.toString(pre.std()), Arrays.toString(back.preprocessing().std()));
        DecisionRule want = classes.size() == 2 ? DecisionRule.of(classes, 1, threshold, "test") : DecisionRule.argmax(classes);
        assertEquals(want, back.decision());
        assertTrue(back.state().metadata().keySet().stream().noneMatch(k -> k.equals(SafeTensors.META_SHA256)));

        flipABit(f);
        assertTrue(assertThrows(IntegrityException.class, () -> ModelFile.read(f)).getMessage().contains("does not match the SHA-256"));
        Files.delete(f);
    }

    @Property(tries = 8)
    void checkpointsRoundTrip(@ForAll @IntRange(min = 0, max = 1000) int seed, @ForAll @IntRange(min = 0, max = 5) int epochs) throws IOException {
        Path run = Files.createTempDirectory(DIR, "run");
        StateDict model;
        try (ResNet m = ResNet.builder(SMALL.withNumClasses(3)).device(Device.REFERENCE).seed(seed).build()) {
            model = m.stateDict();
        }
        StateDict optim = new StateDict();
        model.tensors().forEach((k, v) -> optim.put("exp_avg." + k, v));
        optim.put("step", HostTensor.of(new long[] {epochs * 10L}, dev.graft.engine.Shape.scalar()));
        optim.metadata().put("phase", "finetune");
        List<EpochRecord> history = new ArrayList<>();
        for (int e = 0; e < epochs; e++) {
            history.add(new EpochRecord("head", e, 1.0 / (e + 1), 0.5, 0.7, 0.6, 0.8, 1e-3, 2.5, 100, e % 2 == 0));
        }
        TrainState state = new TrainState(epochs, "finetune", 0.8, Math.max(0, epochs - 1), history);
        TrainConfig config = TrainConfig.fromJson(minimalConfig(seed));
        new Checkpoint(config, state, model, optim).write(run);
        Checkpoint back = Checkpoint.read(run);
        assertSameTensors(model, back.model());
        assertSameTensors(optim, back.optimizer());
        assertEquals(Map.of("phase", "finetune"), back.optimizer().metadata());
        assertEquals(state, back.state());
        assertEquals(config, back.config());

        flipABit(run.resolve(Checkpoint.FILE));
        assertThrows(IntegrityException.class, () -> Checkpoint.read(run));
        Files.delete(run.resolve(Checkpoint.FILE));
        Files.delete(run);
    }

    private static String minimalConfig(long seed) {
        return "{\"data\":\"d\",\"val\":null,\"valFraction\":0.2,\"arch\":\"resnet18\",\"weights\":null,\"out\":\"o\","
                + "\"imageSize\":32,\"resizeSize\":36,\"batchSize\":4,\"headEpochs\":1,\"finetuneEpochs\":1,\"lr\":0.002,"
                + "\"lrMult\":10,\"optimizer\":\"adamw\",\"momentum\":0.9,\"weightDecay\":0.01,\"nesterov\":false,"
                + "\"schedule\":\"onecycle\",\"warmupEpochs\":0,\"classWeights\":\"none\",\"labelSmoothing\":0,"
                + "\"clipGradNorm\":0,\"bnPolicy\":\"hold\",\"unfreezeFrom\":null,\"augment\":\"none\",\"sampler\":\"shuffle\","
                + "\"seed\":" + seed + ",\"workers\":1,\"device\":\"reference\",\"monitor\":\"auc\",\"threshold\":\"youden\","
                + "\"positiveClass\":null,\"strict\":false}";
    }
}
