package dev.graft.cli;

import dev.graft.engine.Precision;
import dev.graft.engine.backend.Backends;
import dev.graft.models.Int8Calibration;
import dev.graft.runtime.Quantization;
import dev.graft.train.OptionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code graft quantize}: post-training static int8 quantization of a model file ({@link Quantization}). Writes a
 * copy of the model file with the calibration in its metadata; {@code graft predict --model OUT} then runs int8.
 */
@Command(name = "quantize", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Calibrate a model file for int8 inference: run it in fp32 over a few hundred images (preprocessed as "
                + "graft predict does), record each convolution's input range, and write a copy of the model file that "
                + "'graft predict' runs in int8 (u8/s8 activations, s8 weights with one scale per output channel, int32 sums; "
                + "the first convolution and fc stay fp32).",
                "The output keeps the fp32 weights (int8 weights are derived from them at load, after batch norm is folded) "
                + "and adds graft.precision=int8 and the calibration to the metadata; it is written atomically. "
                + "The ResNet, CBR and Inception families are supported; Swin and Vision Transformers are refused."})
final class QuantizeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "A model file written by 'graft train' (fp32).")
    Path model;
    @Option(names = "--data", required = true, paramLabel = "DIR", description = "Calibration images: a folder searched "
            + "recursively (e.g. the training or validation folder; labels are not used).")
    Path data;
    @Option(names = "--calibration-images", defaultValue = "300", description = "How many images to calibrate on, spread "
            + "evenly over the sorted files (default ${DEFAULT-VALUE}; all when the folder has fewer).")
    int count;
    @Option(names = "--out", required = true, description = "The quantized model file to write (.safetensors).")
    Path out;
    @Option(names = "--device", defaultValue = "auto", description = "auto or cpu: int8 runs on the cpu backend (oneDNN).")
    String device;
    @Option(names = "--force", description = "Replace --out if it exists.")
    boolean force;

    @Override
    public Integer call() throws Exception {
        FileChecks.input("--model", model);
        if (!Files.isDirectory(data)) {
            throw new OptionException("--data " + data + " is not a folder of images");
        }
        if (count < 1) {
            throw new OptionException("--calibration-images must be >= 1, got " + count);
        }
        FileChecks.output("--out", out, ".safetensors", force);
        if (Files.exists(out) && Files.isSameFile(model, out)) {
            throw new OptionException("--out " + out + " is the --model file; write the quantized model to a new file");
        }
        var sel = Backends.resolve(device);
        if (!Backends.get(sel.device()).supportsInference(Precision.INT8)) {
            throw new OptionException("--device " + device + ": " + Backends.get(sel.device()).precisionSupport(Precision.INT8));
        }
        List<Path> images = Quantization.calibrationImages(data, count);
        Int8Calibration c = Quantization.calibrate(model, images, device);
        Quantization.write(model, c, out);
        System.out.printf(Locale.ROOT, "wrote %s: %d convolutions in int8, calibrated on %d images from %s%n", out,
                c.inputs().size(), c.images(), data);
        System.out.println("run it with: graft predict --model " + out + " IMAGES   (--precision fp32 to compare)");
        return 0;
    }
}
