package dev.graft.tests.cli;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Every numeric option is range-checked and every enumerated option checked against its accepted values, before any
 * work starts: exit code 2 and one line naming the option, the value and the rule (or the accepted values). Before,
 * {@code predict --batch-size 0} looped forever, {@code --batch-size -1} was an internal error and
 * {@code --sampler foo} trained with shuffle.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class OptionErrorsTest {
    @TempDir
    Path dir;
    private Path model;
    private Path image;
    private Path data;

    @BeforeEach
    void files() throws Exception {
        model = DecisionFixtures.model(dir.resolve("m.safetensors"), 1, Map.of());
        image = DecisionFixtures.images(dir.resolve("images"), 1).get(0);
        data = dir.resolve("data");
        for (String c : DecisionFixtures.CLASSES) {
            Files.createDirectories(data.resolve(c));
            Files.copy(image, data.resolve(c).resolve("0.png"));
        }
    }

    @ParameterizedTest(name = "predict --batch-size {0}")
    @CsvSource({"0", "-1", "-2147483648"})
    void predictBatchSize(String value) {
        Cli.userError(Cli.args("predict", "--model", model, "--batch-size", value, "--device", "reference", image),
                "--batch-size " + value + " is out of range: the number of images per batch must be a whole number >= 1");
    }

    @ParameterizedTest(name = "evaluate {0} {1}")
    @CsvSource(delimiter = '|', value = {
            "--batch-size | 0      | the number of images per batch must be a whole number >= 1",
            "--workers    | 0      | the number of image decoding threads must be a whole number from 1 to 256",
            "--workers    | 100000 | the number of image decoding threads must be a whole number from 1 to 256"})
    void evaluateOptions(String option, String value, String rule) {
        Cli.userError(Cli.args("evaluate", "--model", model, "--data", data, "--out", dir.resolve("eval"), option, value,
                "--device", "reference", "--no-progress"), option + " " + value + " is out of range: " + rule);
    }

    /**
     * {@code graft train} with one bad option; --data names a folder that does not exist, so an option that slipped
     * through would fail on the data (a different message) instead of training.
     */
    @ParameterizedTest(name = "train {0} {1}")
    @CsvSource(delimiter = '|', value = {
            "--batch-size        | 0          | --batch-size 0 is out of range",
            "--batch-size        | -1         | --batch-size -1 is out of range",
            "--image-size        | 0          | the image size 0 is outside [8, 4096] pixels",
            "--image-size        | 30000      | the image size 30000 is outside [8, 4096] pixels",
            "--resize-size       | 40000      | the resize size 40000 is outside [image size 224, 4096] pixels",
            "--resize-size       | 100        | the resize size 100 is outside [image size 224, 4096] pixels",
            "--head-epochs       | -1         | --head-epochs -1 is out of range",
            "--finetune-epochs   | 100000     | --finetune-epochs 100000 is out of range: the number of phase 2 epochs must be a whole number from 0 to 10000",
            "--lr                | 0          | --lr 0.0 is out of range: the learning rate must be a finite number > 0",
            "--lr                | NaN        | --lr NaN is out of range",
            "--lr                | Infinity   | --lr Infinity is out of range",
            "--lr-mult           | 0.5        | --lr-mult 0.5 is out of range: the spread of phase 2's learning rates must be a finite number >= 1",
            "--lr-mult           | Infinity   | --lr-mult Infinity is out of range",
            "--momentum          | 1          | --momentum 1.0 is out of range: SGD's momentum must be a finite number in [0, 1)",
            "--weight-decay      | -0.01      | --weight-decay -0.01 is out of range: the weight decay must be a finite number >= 0",
            "--weight-decay      | NaN        | --weight-decay NaN is out of range",
            "--warmup-epochs     | -1         | --warmup-epochs -1 is out of range",
            "--label-smoothing   | 1.5        | --label-smoothing 1.5 is out of range: the label smoothing must be a finite number in [0, 1]",
            "--clip-grad-norm    | -1         | --clip-grad-norm -1.0 is out of range",
            "--clip-grad-norm    | NaN        | --clip-grad-norm NaN is out of range",
            "--val-fraction      | 1          | --val-fraction 1.0 is out of range",
            "--val-fraction      | 0          | --val-fraction 0.0 is out of range",
            "--workers           | 0          | --workers 0 is out of range: the number of image decoding threads",
            "--workers           | 100000     | --workers 100000 is out of range",
            "--class-weights     | 1,x        | --class-weights '1,x': 'x' is not a number",
            "--class-weights     | 1,-1       | --class-weights -1.0 is out of range: a class weight must be a finite number >= 0",
            "--threshold         | 1.5        | --threshold 1.5 is not a probability",
            "--target-sensitivity| 0          | --target-sensitivity must be in (0, 1]",
            "--sampler           | foo        | --sampler 'foo' is not one of the accepted values: shuffle, weighted",
            "--optimizer         | adam       | --optimizer 'adam' is not one of the accepted values: adamw, sgd",
            "--monitor           | f1         | --monitor 'f1' is not one of the accepted values: loss, auc, accuracy",
            "--bn-policy         | freeze     | --bn-policy 'freeze' is not one of the accepted values: track, hold, affine",
            "--schedule          | linear     | unknown schedule 'linear': use onecycle, cosine, step[:EPOCHS[:GAMMA]]",
            "--schedule          | step:0     | malformed schedule 'step:0'",
            "--schedule          | step:1:2   | malformed schedule 'step:1:2'",
            "--schedule          | cosine:3   | malformed schedule 'cosine:3': only step takes parameters",
            "--augment           | blur       | --augment: unknown augmentation 'blur' in 'blur': use none, default, noflip, or crop=S,flip=P,rotate=DEG",
            "--augment           | flip=2     | --augment: augmentation out of range in 'flip=2'",
            "--device            | tpu        | --device: unknown device 'tpu': expected auto, cpu, reference, cuda or cuda:N",
            "--arch              | resnet19   | --arch: unknown architecture 'resnet19'"})
    void trainOptions(String option, String value, String message) {
        Cli.userError(Cli.args("train", "--data", dir.resolve("no-such-folder"), "--out", dir.resolve("run"), option, value,
                "--no-progress"), message);
    }

    @Test
    void bothPhasesEmpty() {
        Cli.userError(Cli.args("train", "--data", dir.resolve("no-such-folder"), "--head-epochs", "0", "--finetune-epochs", "0"),
                "--head-epochs and --finetune-epochs are both 0");
    }

    @Test
    void benchOptions() {
        List<Object[]> cases = List.of(
                new Object[] {"--batch", "0", "--batch 0 is out of range"},
                new Object[] {"--image-size", "5000", "--image-size 5000 is out of range: the square image size must be a whole number from 32 to 4096"},
                new Object[] {"--iters", "0", "--iters 0 is out of range"},
                new Object[] {"--warmup", "-1", "--warmup -1 is out of range"},
                new Object[] {"--min-time", "NaN", "--min-time NaN is out of range"},
                new Object[] {"--only", "train,fast", "--only 'fast' is neither a kind (train, frozen, cached, infer)"});
        for (Object[] c : cases) {
            Cli.userError(Cli.args("bench", "--device", "reference", c[0], c[1]), (String) c[2]);
        }
    }

    /** With --resume, an option that would change the saved run is refused by name (it was silently ignored). */
    @Test
    void resumeRefusesOptionsThatWouldChangeTheRun() {
        List<Object> args = new ArrayList<>(List.of("train", "--resume", dir.resolve("run"), "--data", data, "--image-size", "64",
                "--workers", "2", "--lr", "0.1"));
        Cli.userError(args.toArray(), "--resume " + dir.resolve("run") + " continues that run with the settings saved in its checkpoint; "
                + "--data, --image-size, --lr would change them and cannot be given with it", "--device, --workers, --strict");
        Cli.userError(Cli.args("train", "--resume", dir.resolve("run"), "--workers", "0"), "--workers 0 is out of range");
    }
}
