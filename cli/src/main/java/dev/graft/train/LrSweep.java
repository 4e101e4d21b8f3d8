package dev.graft.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The arithmetic of Smith's learning-rate range test ("Cyclical Learning Rates for Training Neural Networks", 2017,
 * as fastai's {@code lr_find}): the exponential rate sequence, the debiased moving average of the loss, the
 * divergence rule, and the three ways of reading a rate off the curve. No model here; {@link LrFinder} runs it.
 */
public final class LrSweep {
    /** fastai's smoothing factor: each step keeps 98% of the running average. */
    public static final double BETA = 0.98;
    /** Stop once the smoothed loss exceeds this multiple of the best smoothed loss so far (fastai's stop_div). */
    public static final double DIVERGENCE = 4;

    private LrSweep() {
    }

    /**
     * {@code lr_i = start * (end / start)^(i / (n - 1))} for i = 0..n-1: geometric, starting at {@code start} and
     * reaching {@code end} at the last step (n >= 2).
     */
    public static double[] rates(double start, double end, int n) {
        double[] lr = new double[n];
        double logRatio = Math.log(end / start);
        for (int i = 0; i < n; i++) {
            lr[i] = start * Math.exp(logRatio * i / (n - 1));
        }
        lr[n - 1] = end; // exact, whatever exp's last ulp says
        return lr;
    }

    /**
     * Exponential moving average with bias correction (Adam's, fastai's AvgSmoothLoss): {@code a_i = beta a_{i-1}
     * + (1 - beta) x_i} from {@code a_{-1} = 0}, reported as {@code a_i / (1 - beta^(i+1))}.
     */
    public static double[] smooth(double[] raw, double beta) {
        double[] out = new double[raw.length];
        double avg = 0;
        double power = 1;
        for (int i = 0; i < raw.length; i++) {
            avg = beta * avg + (1 - beta) * raw[i];
            power *= beta;
            out[i] = avg / (1 - power);
        }
        return out;
    }

    /** One way of reading the curve: the rate it suggests and the curve point it is drawn at. */
    public record Suggestion(String method, double lr, int index) {
    }

    /**
     * The suggestions, {@code valley} first (fastai's default since 2.5, and the one {@code graft lr-find} names as
     * its suggestion). Like fastai they read the smoothed curve without its first tenth of the planned steps and its
     * last five points (the start is noise around the initial loss, the end is the divergence); a curve too short for
     * that is read whole. Returns an empty list for fewer than two points.
     */
    public static List<Suggestion> suggest(double[] lrs, double[] smoothed, int plannedSteps) {
        int n = lrs.length;
        int from = plannedSteps / 10;
        int to = n - 5;
        if (to - from < 2) {
            from = 0;
            to = n;
        }
        List<Suggestion> out = new ArrayList<>();
        if (to - from < 2) {
            return out;
        }
        out.add(valley(lrs, smoothed, from, to));
        out.add(steepest(lrs, smoothed, from, to));
        out.add(minimumOverTen(lrs, smoothed, from, to));
        return out;
    }

    /**
     * The longest valley: for each point, the length of the longest strictly decreasing subsequence of losses that
     * ends there; the first point with the greatest length ends the valley, which is taken to start that many points
     * before it; the rate is the one about halfway down, at start + floor(len/3) + floor(len/6) with
     * len = end - start (fastai's {@code valley}).
     */
    static Suggestion valley(double[] lrs, double[] loss, int from, int to) {
        int n = to - from;
        int[] length = new int[n];
        int end = 0;
        for (int i = 0; i < n; i++) {
            length[i] = 1;
            for (int j = 0; j < i; j++) {
                if (loss[from + i] < loss[from + j] && length[j] + 1 > length[i]) {
                    length[i] = length[j] + 1;
                }
            }
            if (length[i] > length[end]) {
                end = i;
            }
        }
        int start = end - length[end];
        double third = (end - start) / 3.0;
        int at = Math.max(0, Math.min(n - 1, start + (int) third + (int) (third / 2)));
        return new Suggestion("valley", lrs[from + at], from + at);
    }

    /** The rate where the loss falls fastest per unit of log rate (forward differences; the left point of the step). */
    static Suggestion steepest(double[] lrs, double[] loss, int from, int to) {
        int best = from;
        double bestSlope = Double.POSITIVE_INFINITY;
        for (int i = from; i < to - 1; i++) {
            double slope = (loss[i + 1] - loss[i]) / (Math.log(lrs[i + 1]) - Math.log(lrs[i]));
            if (slope < bestSlope) {
                bestSlope = slope;
                best = i;
            }
        }
        return new Suggestion("steepest", lrs[best], best);
    }

    /** A tenth of the rate at the lowest loss, drawn at the curve point nearest that rate (on the log scale). */
    static Suggestion minimumOverTen(double[] lrs, double[] loss, int from, int to) {
        int min = from;
        for (int i = from; i < to; i++) {
            if (loss[i] < loss[min]) {
                min = i;
            }
        }
        double lr = lrs[min] / 10;
        int near = 0;
        for (int i = 0; i < lrs.length; i++) {
            if (Math.abs(Math.log(lrs[i] / lr)) < Math.abs(Math.log(lrs[near] / lr))) {
                near = i;
            }
        }
        return new Suggestion("minimum/10", lr, near);
    }

    public static String format(double lr) {
        return String.format(Locale.ROOT, "%.2e", lr);
    }
}
