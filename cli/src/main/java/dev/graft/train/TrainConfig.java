package dev.graft.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.loaders.images.ImageDecoder;

/**
 * Everything that shapes a training run; saved as JSON in checkpoints and model files so a run can be resumed
 * and a model explained. Defaults follow fastai's {@code fine_tune}: AdamW (betas 0.9/0.99, eps 1e-5, decoupled
 * weight decay 0.01, none on batch-norm and bias parameters), base learning rate 2e-3, phase 1 one-cycle with
 * pct_start 0.99 on the head, phase 2 at half the base rate with discriminative rates from base/2/lrMult to
 * base/2 over three groups (stem..layer2, layer3..layer4, head), one-cycle with pct_start 0.3 and div 5.
 * Unlike fastai, frozen batch norm holds its statistics (policy HOLD) by default. {@code maxImagePixels} null means
 * the default limit ({@link ImageDecoder.Options#defaults()}); configurations saved before it existed read as null and
 * false.
 */
public record TrainConfig(
        String data,
        String val,
        double valFraction,
        String arch,
        String weights,
        String out,
        int imageSize,
        int resizeSize,
        int batchSize,
        int headEpochs,
        int finetuneEpochs,
        double lr,
        double lrMult,
        String optimizer,
        double momentum,
        double weightDecay,
        boolean nesterov,
        String schedule,
        int warmupEpochs,
        String classWeights,
        double labelSmoothing,
        double clipGradNorm,
        String bnPolicy,
        String unfreezeFrom,
        String augment,
        String sampler,
        long seed,
        int workers,
        String device,
        String monitor,
        String threshold,
        String positiveClass,
        boolean strict,
        Long maxImagePixels,
        boolean lenient) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public TrainConfig {
        require(batchSize >= 1, "--batch-size must be >= 1");
        require(headEpochs >= 0 && finetuneEpochs >= 0 && headEpochs + finetuneEpochs >= 1,
                "--head-epochs and --finetune-epochs must be >= 0 and not both 0");
        require(imageSize >= 8, "--image-size must be >= 8");
        require(resizeSize >= imageSize, "--resize-size must be >= --image-size");
        require(lr > 0 && Double.isFinite(lr), "--lr must be a positive number");
        require(lrMult >= 1, "--lr-mult must be >= 1");
        require(weightDecay >= 0 && momentum >= 0 && momentum < 1, "--weight-decay must be >= 0 and --momentum in [0, 1)");
        require(labelSmoothing >= 0 && labelSmoothing <= 1, "--label-smoothing must be in [0, 1]");
        require(clipGradNorm >= 0, "--clip-grad-norm must be >= 0 (0 turns it off)");
        require(valFraction > 0 && valFraction < 1, "--val-fraction must be in (0, 1)");
        require(workers >= 1, "--workers must be >= 1");
        require(warmupEpochs >= 0, "--warmup-epochs must be >= 0");
        require(optimizer.equals("adamw") || optimizer.equals("sgd"), "--optimizer must be adamw or sgd");
        require(monitor.equals("loss") || monitor.equals("auc") || monitor.equals("accuracy"), "--monitor must be loss, auc or accuracy");
        require(maxImagePixels == null || maxImagePixels >= 1, "--max-image-pixels must be >= 1");
    }

    /** How the run reads its images: the pixel limit and lenient reading. */
    public ImageDecoder.Options imageDecoding() {
        return ImageDecoder.Options.defaults().withMaxPixels(maxImagePixels).withLenient(lenient);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new TrainingException(message);
        }
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static TrainConfig fromJson(String json) {
        try {
            return JSON.readValue(json, TrainConfig.class);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new TrainingException("the saved training configuration is unreadable: " + e.getOriginalMessage());
        }
    }
}
