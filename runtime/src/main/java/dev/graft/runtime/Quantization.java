package dev.graft.runtime;

import dev.graft.engine.Grad;
import dev.graft.engine.Precision;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Backends;
import dev.graft.loaders.StateDicts;
import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.ImageDecoder;
import dev.graft.loaders.images.ImageInputs;
import dev.graft.loaders.images.ImagePipeline;
import dev.graft.loaders.images.InputChannels;
import dev.graft.models.InferencePlan;
import dev.graft.models.Int8Calibration;
import dev.graft.models.ModelException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Post-training static int8 quantization ({@code graft quantize}): the fp32 plan of a model file is run over a few
 * hundred calibration images, preprocessed exactly as {@link Classifier} and {@code graft predict} preprocess
 * (the file's evaluation transform), and each quantized convolution's input range is recorded
 * ({@link InferencePlan#observe}); {@link #write} stores the ranges in a copy of the model file.
 *
 * <p>The written file keeps the fp32 weights and adds the calibration as metadata ({@link Int8Calibration}): batch
 * norm is folded into the convolutions when a file is loaded, and the per-channel s8 weights are a fixed function of
 * the folded weights, so storing them would store the same information twice in a second, Graft-only tensor format.
 * The file stays readable by every tool that reads the fp32 file (ONNX export, {@code --precision fp32} to compare);
 * it is no smaller.
 */
public final class Quantization {
    private Quantization() {
    }

    /** The calibration images: at most {@code count}, spread evenly over the sorted files under {@code data}. */
    public static List<Path> calibrationImages(Path data, int count) {
        if (count < 1) {
            throw new IllegalArgumentException("the number of calibration images must be >= 1, got " + count);
        }
        List<Path> all = ImageInputs.expand(List.of(data)).stream().filter(ImageInputs.Entry::ok)
                .map(ImageInputs.Entry::file).toList();
        if (all.isEmpty()) {
            throw new ImageInputException("no images (" + ImageInputs.EXTENSIONS + ") under " + data);
        }
        if (all.size() <= count) {
            return all;
        }
        List<Path> picked = new ArrayList<>(count);
        for (int i = 0; i < count; i++) { // every class folder of an ImageFolder tree is represented
            picked.add(all.get((int) ((long) i * all.size() / count)));
        }
        return picked;
    }

    /**
     * Calibrates the model file {@code model} on {@code images} with the fp32 plan on {@code device}. An image that
     * cannot be read is an ImageInputException naming it; a model without a fused plan (Swin, ViT) is refused.
     */
    public static Int8Calibration calibrate(Path model, List<Path> images, String device) {
        ModelLoading.Loaded m = ModelLoading.load(model, new Classifier.Options(device, true, 16, Precision.FP32));
        try {
            InferencePlan plan = m.plan();
            if (plan == null) {
                throw new ModelFileException("model file " + model + " has no fused inference plan (a Swin or Vision Transformer, "
                        + m.info().architecture() + "): "
                        + "int8 quantization covers the ResNet, CBR and Inception families");
            }
            ImagePipeline pipeline = new ImagePipeline(m.info().preprocessing().evaluation(), ImageDecoder.Options.defaults(), w -> { });
            int size = m.info().preprocessing().imageSize();
            int plane = size * size;
            int channels = m.inChannels();
            Map<String, double[]> ranges = new LinkedHashMap<>();
            int batch = 16;
            for (int start = 0; start < images.size(); start += batch) {
                int n = Math.min(batch, images.size() - start);
                float[] data = new float[n * channels * plane];
                for (int i = 0; i < n; i++) {
                    Path p = images.get(start + i);
                    float[] chw;
                    try {
                        chw = pipeline.load(p, null).data();
                    } catch (DatasetException e) {
                        throw new ImageInputException("calibration image " + p + ": " + e.getMessage(), e);
                    }
                    InputChannels.copy(chw, plane, channels, data, i * channels * plane);
                }
                try (Scope s = Scope.open("calibration"); Grad.Mode off = Grad.off()) {
                    Tensor x = Tensor.of(Backends.get(m.device()).fromHost(data, Shape.of(n, channels, size, size)));
                    plan.observe(x, ranges);
                }
            }
            Map<String, Int8Calibration.Range> inputs = new LinkedHashMap<>();
            for (String layer : plan.quantizableLayers()) {
                double[] r = ranges.get(layer);
                try {
                    inputs.put(layer, Int8Calibration.Range.of(r[0], r[1]));
                } catch (ModelException e) {
                    throw new ModelException(layer + ": " + e.getMessage());
                }
            }
            return new Int8Calibration(inputs, images.size(), Int8Calibration.METHOD);
        } finally {
            if (m.plan() != null) {
                m.plan().close();
            }
            if (m.model() != null) {
                m.model().close();
            }
        }
    }

    /**
     * Writes {@code out}: the tensors and metadata of {@code model} plus {@code calibration} (atomically: a temporary
     * file moved into place, so a failure never leaves a half-written file). {@code out} must end in .safetensors.
     */
    public static void write(Path model, Int8Calibration calibration, Path out) {
        if (!out.getFileName().toString().endsWith(".safetensors")) {
            throw new ModelFileException("cannot write " + out + ": a quantized model file is .safetensors");
        }
        StateDict sd = StateDicts.read(model);
        Map<String, String> meta = new LinkedHashMap<>(sd.metadata());
        meta.keySet().removeIf(k -> k.startsWith("graft.int8.") || k.equals(Int8Calibration.META_PRECISION));
        meta.putAll(calibration.toMetadata());
        sd.metadata().clear();
        sd.metadata().putAll(meta);
        StateDicts.write(out, sd);
    }
}
