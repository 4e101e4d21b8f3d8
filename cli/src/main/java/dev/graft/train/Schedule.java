package dev.graft.train;

import java.util.Locale;

/**
 * Learning-rate multipliers over one phase, as functions of the step (0-based) and the phase's total steps.
 * The value is a factor applied to each parameter group's peak learning rate, so discriminative rates keep
 * their ratios. Computed from the step alone, so a resumed run continues on the same curve.
 */
public sealed interface Schedule {

    double factor(long step, long totalSteps);

    /**
     * fastai's {@code fit_one_cycle}: cosine from peak/div up to the peak over the first {@code pctStart} of
     * the steps, then cosine down to peak/divFinal.
     */
    record OneCycle(double pctStart, double div, double divFinal) implements Schedule {
        @Override
        public double factor(long step, long total) {
            double t = total <= 1 ? 1 : step / (double) (total - 1);
            if (t < pctStart) {
                return cos(1 / div, 1, t / pctStart);
            }
            double rest = pctStart >= 1 ? 1 : (t - pctStart) / (1 - pctStart);
            return cos(1, 1 / divFinal, rest);
        }
    }

    /** Linear warm-up from 0 over {@code warmupSteps}, then cosine annealing to 0 (no restarts). */
    record Cosine(long warmupSteps) implements Schedule {
        @Override
        public double factor(long step, long total) {
            if (step < warmupSteps) {
                return (step + 1) / (double) warmupSteps;
            }
            long span = Math.max(1, total - warmupSteps);
            return cos(1, 0, Math.min(1.0, (step - warmupSteps) / (double) span));
        }
    }

    /** Step decay: multiply by {@code gamma} every {@code everySteps} (PyTorch's StepLR), after an optional linear warm-up. */
    record StepDecay(long everySteps, double gamma, long warmupSteps) implements Schedule {
        @Override
        public double factor(long step, long total) {
            if (step < warmupSteps) {
                return (step + 1) / (double) warmupSteps;
            }
            return Math.pow(gamma, (step - warmupSteps) / Math.max(1, everySteps));
        }
    }

    /** A constant rate after an optional linear warm-up. */
    record Constant(long warmupSteps) implements Schedule {
        @Override
        public double factor(long step, long total) {
            return step < warmupSteps ? (step + 1) / (double) warmupSteps : 1;
        }
    }

    /** Cosine interpolation from {@code a} (at p = 0) to {@code b} (at p = 1), fastai's {@code SchedCos}. */
    private static double cos(double a, double b, double p) {
        return a + (1 + Math.cos(Math.PI * (1 - p))) * (b - a) / 2;
    }

    /**
     * Parses {@code onecycle}, {@code cosine}, {@code step[:EPOCHS[:GAMMA]]} or {@code constant}; warm-up steps and
     * steps per epoch turn epoch-based settings into steps. {@code oneCycle} gives the phase's fastai defaults.
     */
    static Schedule parse(String text, long warmupSteps, long stepsPerEpoch, OneCycle oneCycle) {
        String[] p = text.trim().toLowerCase(Locale.ROOT).split(":", -1);
        String usage = "use onecycle, cosine, step[:EPOCHS[:GAMMA]] (EPOCHS a whole number >= 1, GAMMA in (0, 1]) or constant";
        try {
            if (!p[0].equals("step") && p.length > 1) {
                throw new TrainingException("malformed schedule '" + text + "': only step takes parameters; " + usage);
            }
            return switch (p[0]) {
                case "onecycle", "one-cycle" -> oneCycle;
                case "cosine" -> new Cosine(warmupSteps);
                case "constant" -> new Constant(warmupSteps);
                case "step" -> {
                    long every = p.length > 1 ? Long.parseLong(p[1].trim()) : 1;
                    double gamma = p.length > 2 ? Double.parseDouble(p[2].trim()) : 0.1;
                    if (p.length > 3 || every < 1 || every > OptionChecks.MAX_EPOCHS || !(gamma > 0 && gamma <= 1)) {
                        throw new TrainingException("malformed schedule '" + text + "': " + usage);
                    }
                    yield new StepDecay(stepsPerEpoch * every, gamma, warmupSteps);
                }
                default -> throw new TrainingException("unknown schedule '" + text + "': " + usage);
            };
        } catch (NumberFormatException e) {
            throw new TrainingException("malformed schedule '" + text + "': step takes step:EPOCHS:GAMMA, e.g. step:2:0.1");
        }
    }

    /** Refuses a schedule {@link #parse} would refuse (the settings are checked before any work starts). */
    static void check(String text) {
        parse(text, 0, 1, new OneCycle(0.25, 25, 1e5));
    }
}
