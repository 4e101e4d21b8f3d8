package dev.graft.runtime;

import dev.graft.engine.Device;
import dev.graft.engine.GraftException;
import dev.graft.engine.Grad;
import dev.graft.engine.NDArray;
import dev.graft.engine.Precision;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Backends;
import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.FloatImage;
import dev.graft.loaders.images.ImageDecoder;
import dev.graft.loaders.images.ImagePipeline;
import dev.graft.loaders.images.InputChannels;
import dev.graft.loaders.images.Transform;
import dev.graft.models.ClassProbabilities;
import dev.graft.models.InferencePlan;
import dev.graft.models.InferenceWorkspace;
import dev.graft.models.NonFiniteOutputException;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.IntFunction;

/**
 * A trained model file, ready to classify images: {@code Classifier.load(path)}, then {@link #classify}. The file
 * (safetensors as the training pipeline writes it, or a torchvision {@code .pth} state dict) gives the ResNet, the
 * class names, the decision rule and the preprocessing ({@link ModelInfo}).
 *
 * <p>By default the model runs as an {@link InferencePlan}: batch norm folded into the convolutions, bias, shortcut
 * and relu fused (oneDNN post-ops on the cpu device), no autograd, and activation buffers kept in workspaces that
 * are reused by later calls. The device is {@code auto}: oneDNN when its jars are on the class path, else the
 * pure-Java reference backend.
 *
 * <p>Thread-safe: any number of threads may classify at once (each call borrows its own workspace; the backends
 * serialise their kernels); results equal sequential ones. {@link #close()} waits for calls in flight and frees
 * every native buffer.
 */
public final class Classifier implements AutoCloseable {
    /** Idle workspaces kept (most recently used first): enough for a few batch sizes and concurrent callers. */
    private static final int IDLE_WORKSPACES = 8;

    private final String file;
    private final ModelInfo info;
    private final Device device;
    private final String description;
    private final int inChannels;
    private final Transform transform;
    private final ImagePipeline files;
    private final int maxBatch;
    private final InferencePlan plan;
    private final ResNet model;
    private final int idleLimit;
    private final Deque<InferenceWorkspace> idle = new ConcurrentLinkedDeque<>();
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean closed;

    /**
     * How to load: {@code device} is auto, cpu, reference or cuda[:N]; {@code optimize} false runs the plain eval
     * forward pass (no folding or fusion: for comparisons); {@code maxBatch} bounds the images per forward pass of
     * {@link #classify(List)}.
     */
    public record Options(String device, boolean optimize, int maxBatch, Precision precision) {
        public Options {
            if (maxBatch < 1) {
                throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
            }
        }

        /** The model file's precision (int8 for a file written by {@code graft quantize}, else fp32). */
        public Options(String device, boolean optimize, int maxBatch) {
            this(device, optimize, maxBatch, null);
        }

        public static Options defaults() {
            return new Options("auto", true, 16);
        }

        public Options withDevice(String name) {
            return new Options(name, optimize, maxBatch, precision);
        }

        public Options withOptimize(boolean on) {
            return new Options(device, on, maxBatch, precision);
        }

        public Options withMaxBatch(int n) {
            return new Options(device, optimize, n, precision);
        }

        /**
         * Runs the convolutions in {@code p} (null: the model file's). bf16 and int8 need the optimised plan and a cpu
         * device that runs them; int8 needs a file written by {@code graft quantize}. Loading refuses otherwise.
         */
        public Options withPrecision(Precision p) {
            return new Options(device, optimize, maxBatch, p);
        }
    }

    private Classifier(String file, ModelInfo info, Device device, String description, int inChannels,
                       InferencePlan plan, ResNet model, int maxBatch) {
        this.file = file;
        this.info = info;
        this.device = device;
        this.description = description;
        this.inChannels = inChannels;
        this.transform = info.preprocessing().evaluation();
        // Files are read as graft train/evaluate/predict read them: header checked, subsampled for the resize, strict.
        this.files = filePipeline(info);
        this.plan = plan;
        this.model = model;
        this.maxBatch = maxBatch;
        this.idleLimit = IDLE_WORKSPACES;
    }

    /** How {@link #classify(Path)} reads a file for a model described by {@code info}. */
    static ImagePipeline filePipeline(ModelInfo info) {
        return new ImagePipeline(info.preprocessing().evaluation(), ImageDecoder.Options.defaults(), w -> { });
    }

    /** As {@link #load(Path, Options)}, handing {@code onHeader} the model's description once its header is read. */
    static Classifier load(Path file, Options options, java.util.function.Consumer<ModelInfo> onHeader) {
        ModelLoading.Loaded m = ModelLoading.load(file, options, onHeader);
        return new Classifier(m.file(), m.info(), m.device(), m.description(), m.inChannels(), m.plan(), m.model(),
                options.maxBatch());
    }

    /** Loads a model file with the default options (auto device, optimised). */
    public static Classifier load(Path file) {
        return load(file, Options.defaults());
    }

    /**
     * Loads a model file. The weights are read, folded and uploaded one layer at a time (see
     * {@link InferencePlan#compile(ResNetConfig, java.util.function.Function, Device)}), so the whole state dict never
     * sits on the Java heap; with {@code optimize} off the plain model is built instead.
     */
    public static Classifier load(Path file, Options options) {
        ModelLoading.Loaded m = ModelLoading.load(file, options);
        return new Classifier(m.file(), m.info(), m.device(), m.description(), m.inChannels(), m.plan(), m.model(),
                options.maxBatch());
    }

    // ---- classification ---------------------------------------------------------------------------------------

    public Prediction classify(BufferedImage image) {
        return classify(List.of(requireImage(image, 0)), i -> "the image").get(0);
    }

    /**
     * Decodes a PNG, JPEG, BMP or DICOM file and classifies it. The header's size is checked first (at most
     * {@code -Dgraft.image.maxPixels}, default {@value ImageDecoder#DEFAULT_MAX_PIXELS}), a large image is decoded
     * subsampled to twice the resize, and a truncated or damaged file is refused.
     */
    public Prediction classify(Path imageFile) {
        if (imageFile == null) {
            throw new ImageInputException("the image path is null");
        }
        float[] input;
        try {
            input = files.load(imageFile, null).data();
        } catch (DatasetException e) {
            throw new ImageInputException(e.getMessage(), e);
        }
        return classifyRead(imageFile, input);
    }

    /** {@link #classify(Path)} once the file is read: {@code input} is what {@link #filePipeline} made of it. */
    Prediction classifyRead(Path imageFile, float[] input) {
        String name = "image " + imageFile;
        return locked(() -> classifyBatch(List.of(input), 0, i -> name)).get(0);
    }

    /**
     * One prediction per image, in order; images go through the network in batches of at most maxBatch. An image whose
     * output is NaN or infinite is a {@link NonFiniteOutputException} naming it ("image 3"), never a prediction.
     */
    public List<Prediction> classify(List<BufferedImage> images) {
        return classify(images, i -> "image " + i);
    }

    private List<Prediction> classify(List<BufferedImage> images, IntFunction<String> name) {
        if (images == null) {
            throw new ImageInputException("the list of images is null");
        }
        for (int i = 0; i < images.size(); i++) {
            requireImage(images.get(i), i);
        }
        return locked(() -> {
            List<Prediction> out = new ArrayList<>(images.size());
            for (int start = 0; start < images.size(); start += maxBatch) {
                List<float[]> chunk = new ArrayList<>();
                for (int i = start; i < Math.min(images.size(), start + maxBatch); i++) {
                    chunk.add(preprocess(images.get(i), name.apply(i)));
                }
                out.addAll(classifyBatch(chunk, start, name));
            }
            return out;
        });
    }

    /** Runs {@code work} while the classifier cannot be closed. */
    private List<Prediction> locked(java.util.function.Supplier<List<Prediction>> work) {
        lock.readLock().lock();
        try {
            if (closed) {
                throw new GraftException("the classifier for " + file + " was closed");
            }
            return work.get();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Preprocessed images (CHW floats, 3 x imageSize x imageSize each) in one forward pass. */
    private List<Prediction> classifyBatch(List<float[]> inputs, int first, IntFunction<String> name) {
        int n = inputs.size();
        int size = info.preprocessing().imageSize();
        int plane = size * size;
        float[] batch = new float[n * inChannels * plane];
        for (int i = 0; i < n; i++) {
            // A one-channel model (ResNet.adaptToGrayscale) gets the first normalised channel, as in training.
            InputChannels.copy(inputs.get(i), plane, inChannels, batch, i * inChannels * plane);
        }
        float[] logits = forward(batch, Shape.of(n, inChannels, size, size));
        int classes = info.classes().size();
        List<Prediction> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            float[] row = java.util.Arrays.copyOfRange(logits, i * classes, (i + 1) * classes);
            // A multi-label model: one sigmoid per label, each decided at its own threshold; label/index: the most probable.
            double[] p = info.multiLabel() ? ClassProbabilities.sigmoid(row, 0, classes, name.apply(first + i))
                    : ClassProbabilities.softmax(row, 0, classes, info.temperature(), name.apply(first + i));
            float[] pf = new float[classes];
            int top = 0;
            for (int c = 0; c < classes; c++) {
                pf[c] = (float) p[c];
                top = p[c] > p[top] ? c : top;
            }
            int k = info.multiLabel() ? top : info.decision().decide(p);
            out.add(new Prediction(info.classes().get(k), k, pf, row, info.classes(),
                    info.multiLabel() ? info.perLabel().decide(p) : null));
        }
        return out;
    }

    /** The evaluation transform of the model file on a decoded image: CHW floats, 3 channels, imageSize x imageSize. */
    private float[] preprocess(BufferedImage image, String name) {
        long w = image.getWidth();
        long h = image.getHeight();
        // The RGB copy must fit one Java array; the resize refuses extremely elongated images itself.
        if (3 * w * h > Integer.MAX_VALUE - 8) {
            throw new ImageInputException(name + " (" + w + "x" + h + ") is too large to preprocess; downscale it first");
        }
        FloatImage rgb;
        try {
            rgb = ImageDecoder.toRgb(image);
        } catch (RuntimeException e) {
            throw new ImageInputException(name + " cannot be converted to RGB: " + e.getMessage(), e);
        }
        try {
            return transform.apply(rgb, null).data(); // the evaluation transform draws no random numbers
        } catch (DatasetException e) {
            throw new ImageInputException(name + " (" + w + "x" + h + ") cannot be preprocessed: " + e.getMessage(), e);
        }
    }

    /** Logits of a preprocessed NCHW batch, row-major [N, classes] (the benchmark times this). */
    float[] forward(float[] data, Shape shape) {
        try (Scope scope = Scope.open("classify"); Grad.Mode off = Grad.off()) {
            Backend be = Backends.get(device);
            NDArray x = be.fromHost(data, shape);
            if (plan == null) {
                synchronized (model) {
                    return model.forward(Tensor.of(x)).toFloatArray();
                }
            }
            InferenceWorkspace ws = borrow(shape);
            try {
                return plan.forward(x, ws).toFloatArray();
            } finally {
                giveBack(ws);
            }
        }
    }

    private InferenceWorkspace borrow(Shape shape) {
        for (InferenceWorkspace ws : idle) {
            if (ws.input().equals(shape) && idle.remove(ws)) {
                return ws;
            }
        }
        return plan.workspace(shape);
    }

    /** Keeps the workspace for the next call (most recent first); beyond the limit the oldest idle one is freed. */
    private void giveBack(InferenceWorkspace ws) {
        idle.addFirst(ws);
        while (idle.size() > idleLimit) {
            InferenceWorkspace old = idle.pollLast();
            if (old != null) {
                old.close();
            }
        }
    }

    private static BufferedImage requireImage(BufferedImage image, int index) {
        if (image == null) {
            throw new ImageInputException("image " + index + " is null");
        }
        return image;
    }

    // ---- description --------------------------------------------------------------------------------------------

    public ModelInfo info() {
        return info;
    }

    public List<String> classes() {
        return info.classes();
    }

    public Device device() {
        return device;
    }

    /** The device and its backend ("cpu: oneDNN 3.11.0 ..." or "reference: plain Java loops ..."). */
    public String description() {
        return device + " (" + description + ")" + (plan == null ? ", unoptimised" : ", folded and fused")
                + (precision() == Precision.FP32 ? "" : ", " + precision() + " convolutions");
    }

    /** The arithmetic of the convolutions: fp32, bf16 or int8 (the unoptimised model always runs fp32). */
    public Precision precision() {
        return plan == null ? Precision.FP32 : plan.precision();
    }

    /** Native bytes held for the model's weights and the idle workspaces. */
    public long nativeBytes() {
        long b = plan != null ? plan.weightBytes() : model.liveBytes();
        for (InferenceWorkspace ws : idle) {
            b += ws.bytes();
        }
        return b;
    }

    /** Waits for calls in flight, then frees the weights and workspaces. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            InferenceWorkspace ws;
            while ((ws = idle.pollFirst()) != null) {
                ws.close();
            }
            if (plan != null) {
                plan.close();
            } else {
                model.close();
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public String toString() {
        return "Classifier[" + file + ", " + info.architecture() + ", " + info.classes().size() + " classes, " + description() + "]";
    }
}
