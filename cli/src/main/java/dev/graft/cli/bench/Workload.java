package dev.graft.cli.bench;

import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Grad;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;
import dev.graft.models.BatchNormPolicy;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import dev.graft.models.optim.Sgd;

import java.util.Random;

/**
 * One benchmark configuration, set up once and then run as iterations: the same work {@code torch_bench.py}
 * times on the PyTorch side. A fixed synthetic batch (Gaussian pixels in row-major NCHW, as a data loader hands
 * them over, and random labels of 2 classes) is reused every iteration; no data loading is timed. Every
 * iteration runs in its own {@link Scope}, as one training step does, so freeing its memory is part of the time.
 */
public final class Workload implements AutoCloseable {
    /** What an iteration does. */
    public enum Kind {
        /** Full fine-tuning: train mode, forward, cross-entropy, backward, SGD(momentum 0.9) over all parameters. */
        TRAIN("fine-tune step"),
        /**
         * Frozen backbone with batch-norm policy HOLD (frozen batch norm normalises with running statistics), the
         * 2-class head trainable: forward, cross-entropy, backward (reaches the head only), SGD over the head.
         */
        FROZEN("frozen step (HOLD)"),
        /**
         * One epoch of head training on cached pooled features (HOLD, no augmentation: the backbone's output is
         * computed once), over {@code cachedImages} images in batches: Linear, cross-entropy, backward, SGD.
         */
        CACHED("cached head epoch"),
        /** Eval mode, no gradient recording: {@code ResNet.forward}. */
        INFER("inference");

        private final String label;

        Kind(String label) {
            this.label = label;
        }

        /** A short description for result lines. */
        public String label() {
            return label;
        }
    }

    private final Kind kind;
    private final int batch;
    private final int imagesPerIteration;
    private final Scope scope;
    private final ResNet model;
    private final Sgd optimizer;
    private final Tensor images;
    private final Tensor features;
    private final int[] labels;
    private double sink;

    public Workload(Kind kind, String arch, int batch, int imageSize, Device device, int cachedImages) {
        this.kind = kind;
        this.batch = batch;
        this.imagesPerIteration = kind == Kind.CACHED ? cachedImages : batch;
        // a vision transformer is built for the bench's image size (its position embedding has one entry per patch)
        this.model = ResNet.builder(ResNetConfig.named(arch, 2).withImageSize(imageSize)).device(device).seed(0)
                .batchNormPolicy(kind == Kind.TRAIN ? BatchNormPolicy.TRACK : BatchNormPolicy.HOLD).build();
        this.model.setAuxTraining(imageSize >= ResNet.AUX_MIN_IMAGE_SIZE); // InceptionV3's auxiliary head fits from 299 px
        this.scope = Scope.detached("bench-" + kind);
        try (Scope.Entered in = scope.enter()) {
            Random r = new Random(1234);
            float[] px = new float[batch * 3 * imageSize * imageSize];
            for (int i = 0; i < px.length; i++) {
                px[i] = (float) r.nextGaussian();
            }
            labels = new int[batch];
            for (int i = 0; i < batch; i++) {
                labels[i] = r.nextInt(2);
            }
            images = Tensor.fromArray(device, px, batch, 3, imageSize, imageSize);
            if (kind != Kind.TRAIN) {
                model.freeze();
                model.unfreeze(model.topology().fc()); // "head" for Swin and DeiT, "heads.head" for torchvision's ViT
            }
            if (kind == Kind.INFER) {
                model.eval();
            } else {
                model.train();
            }
            Tensor f = null;
            if (kind == Kind.CACHED) {
                try (Grad.Mode off = Grad.off()) {
                    f = model.features(images);
                }
            }
            features = f;
            optimizer = kind == Kind.INFER ? null
                    : Sgd.builder(0.001).momentum(0.9).build(model.trainableParameters());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    public int imagesPerIteration() {
        return imagesPerIteration;
    }

    /**
     * One timed unit of work. It ends by reading a value back to the host (the loss, or one logit), which waits
     * for every queued kernel on an asynchronous device (cuda), so a time is the work's and not its launch's; on
     * the cpu and reference backends the read costs a few bytes' copy.
     */
    public void iteration() {
        switch (kind) {
            case TRAIN, FROZEN -> {
                try (Scope step = Scope.open("step")) {
                    optimizer.zeroGrad();
                    Tensor loss = Functional.crossEntropy(model.forward(images), labels);
                    Tensor aux = model.takeAuxLogits(); // InceptionV3: + 0.4 x the auxiliary head's loss, as graft train
                    if (aux != null) {
                        loss = Functional.add(loss, Functional.scale(Functional.crossEntropy(aux, labels), 0.4));
                    }
                    loss.backward();
                    optimizer.step();
                    sink += loss.toFloatArray()[0];
                }
            }
            case CACHED -> {
                // The same cached batch stands for every batch of the epoch, as the PyTorch side reuses one batch.
                for (int done = 0; done < imagesPerIteration; done += batch) {
                    try (Scope step = Scope.open("head-step")) {
                        optimizer.zeroGrad();
                        Tensor loss = Functional.crossEntropy(model.fc().forward(features), labels);
                        loss.backward();
                        optimizer.step();
                        if (done + batch >= imagesPerIteration) {
                            sink += loss.toFloatArray()[0];
                        }
                    }
                }
            }
            case INFER -> {
                try (Scope step = Scope.open("infer"); Grad.Mode off = Grad.off()) {
                    sink += model.forward(images).toFloatArray()[0];
                }
            }
        }
    }

    /** The sum of every value read back (keeps the reads from being optimised away; not meaningful). */
    public double sink() {
        return sink;
    }

    @Override
    public void close() {
        if (optimizer != null) {
            optimizer.zeroGrad();
            optimizer.close();
        }
        model.close();
        scope.close();
    }
}
