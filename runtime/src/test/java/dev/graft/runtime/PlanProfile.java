package dev.graft.runtime;

import dev.graft.engine.Shape;
import dev.graft.models.InferencePlan;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Where a batch-1 forward's time goes (a diagnostic, not a test): runs {@link Classifier#forward} of one model file
 * {@code --warmup} times, then {@code --iters} times, printing {@code #call <i> <ms>} after each timed call. Run it
 * with {@code ONEDNN_VERBOSE=profile_exec}: oneDNN prints one line per primitive execution (its time last) to the
 * same stdout, so {@code bench/plan_profile.py} can add up the primitives of each call and compare the sum with the
 * call's wall time; the gap is Java, glue and allocation. With {@code -Dgraft.plan.profile=true} it also prints the
 * plan's per-step wall times ({@link InferencePlan#stepTimes()}). Arguments: {@code --model FILE} (a safetensors file, int8
 * ones included), {@code --warmup 5}, {@code --iters 10}.
 */
public final class PlanProfile {
    private PlanProfile() {
    }

    public static void main(String[] args) throws IOException {
        String model = null;
        int warmup = 5;
        int iters = 10;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--model" -> model = args[i + 1];
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--iters" -> iters = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i] + " (--model FILE --warmup N --iters N)");
            }
        }
        if (model == null) {
            throw new IllegalArgumentException("--model FILE is required");
        }
        float[] x = new float[3 * 224 * 224];
        SplittableRandom r = new SplittableRandom(0);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        Shape shape = Shape.of(1, 3, 224, 224);
        try (Classifier c = Classifier.load(Path.of(model), Classifier.Options.defaults())) {
            for (int i = 0; i < warmup; i++) {
                c.forward(x, shape);
            }
            System.out.println("#timed");
            System.out.flush();
            double[] ms = new double[iters];
            for (int i = 0; i < iters; i++) {
                long t0 = System.nanoTime();
                c.forward(x, shape);
                ms[i] = (System.nanoTime() - t0) / 1e6;
                System.out.printf(Locale.ROOT, "#call %d %.3f%n", i, ms[i]);
                System.out.flush();
            }
            Arrays.sort(ms);
            System.out.printf(Locale.ROOT, "#median %.3f min %.3f%n", ms[iters / 2], ms[0]);
            if (Boolean.getBoolean("graft.plan.profile")) { // the plan's per-step wall times (warm-up calls included)
                try {
                    java.lang.reflect.Field f = Classifier.class.getDeclaredField("plan");
                    f.setAccessible(true);
                    InferencePlan plan = (InferencePlan) f.get(c);
                    System.out.print(plan == null ? "unoptimised model: no plan\n" : plan.stepTimes());
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException("Classifier has no plan field to profile", e);
                }
            }
        }
    }
}
