package dev.graft.cli.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Warm-up iterations, then timed iterations until both a minimum count and a minimum time are reached (capped by
 * a maximum count), as {@code torch_bench.py} times its configurations. Also measures how much CPU other
 * processes used during the timed iterations (the machine is shared; figures taken under load are noise).
 */
public final class TimedLoop {
    /** Seconds per timed iteration, in order, plus the CPU use during them (in CPUs: 1.0 = one core busy). */
    public record Result(List<Double> seconds, double selfCpu, double othersCpu) {
        public double median() {
            List<Double> s = new ArrayList<>(seconds);
            Collections.sort(s);
            int n = s.size();
            return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
        }

        public double min() {
            return Collections.min(seconds);
        }

        public double max() {
            return Collections.max(seconds);
        }
    }

    private final int warmup;
    private final int minIters;
    private final double minSeconds;
    private final int maxIters;

    public TimedLoop(int warmup, int minIters, double minSeconds, int maxIters) {
        this.warmup = warmup;
        this.minIters = minIters;
        this.minSeconds = minSeconds;
        this.maxIters = Math.max(minIters, maxIters);
    }

    public Result run(Runnable iteration) {
        return run(iteration, () -> { });
    }

    /** As {@link #run(Runnable)}, calling {@code timedStart} between the warm-up and the timed iterations. */
    public Result run(Runnable iteration, Runnable timedStart) {
        for (int i = 0; i < warmup; i++) {
            iteration.run();
        }
        timedStart.run();
        double busy0 = ProcessStats.machineBusySeconds();
        double self0 = ProcessStats.selfCpuSeconds();
        long start = System.nanoTime();
        List<Double> times = new ArrayList<>();
        while (true) {
            long t = System.nanoTime();
            iteration.run();
            times.add((System.nanoTime() - t) / 1e9);
            double elapsed = (System.nanoTime() - start) / 1e9;
            if (times.size() >= maxIters || (times.size() >= minIters && elapsed >= minSeconds)) {
                break;
            }
        }
        double wall = (System.nanoTime() - start) / 1e9;
        double self = ProcessStats.selfCpuSeconds() - self0;
        double others = Math.max(0, ProcessStats.machineBusySeconds() - busy0 - self);
        return new Result(times, self / wall, others / wall);
    }
}
