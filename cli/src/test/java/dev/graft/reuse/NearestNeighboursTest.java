package dev.graft.reuse;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Weighted cosine k-NN against a brute-force loop written here: sort the whole bank, vote, take the largest total. */
class NearestNeighboursTest {
    /** Brute force: cosine to every bank row, full sort (descending, stable), the first k vote exp(cos / T). */
    private static int[] bruteForce(double[][] bank, int[] labels, double[][] queries, int classes, int k, double t) {
        int[] out = new int[queries.length];
        for (int q = 0; q < queries.length; q++) {
            List<double[]> scored = new ArrayList<>(); // {cosine, label}
            for (int i = 0; i < bank.length; i++) {
                double dot = 0, nq = 0, nb = 0;
                for (int j = 0; j < bank[i].length; j++) {
                    dot += queries[q][j] * bank[i][j];
                    nq += queries[q][j] * queries[q][j];
                    nb += bank[i][j] * bank[i][j];
                }
                scored.add(new double[] {dot / Math.sqrt(nq * nb), labels[i]});
            }
            scored.sort(Comparator.comparingDouble((double[] s) -> -s[0]));
            double[] votes = new double[classes];
            for (int i = 0; i < Math.min(k, scored.size()); i++) {
                votes[(int) scored.get(i)[1]] += Math.exp(scored.get(i)[0] / t);
            }
            int best = 0;
            for (int c = 1; c < classes; c++) {
                if (votes[c] > votes[best]) {
                    best = c;
                }
            }
            out[q] = best;
        }
        return out;
    }

    @Test
    void agreesWithBruteForceOnRandomFeatures() {
        Random r = new Random(11);
        for (int trial = 0; trial < 20; trial++) {
            // d >= 2: with one feature every cosine is +-1, exact ties whose order is a rounding accident
            int classes = 2 + r.nextInt(3), d = 2 + r.nextInt(8), n = 5 + r.nextInt(60), m = 1 + r.nextInt(30);
            int k = 1 + r.nextInt(n + 5); // sometimes more than the bank
            double t = List.of(0.07, 0.5, 1.0).get(r.nextInt(3));
            double[][] bank = new double[n][d], queries = new double[m][d];
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) {
                labels[i] = r.nextInt(classes);
                for (int j = 0; j < d; j++) {
                    bank[i][j] = r.nextGaussian() + labels[i]; // classes shifted apart, so accuracy is not trivial
                }
            }
            for (double[] q : queries) {
                for (int j = 0; j < d; j++) {
                    q[j] = r.nextGaussian() + r.nextInt(classes);
                }
            }
            assertArrayEquals(bruteForce(bank, labels, queries, classes, k, t),
                    NearestNeighbours.predict(bank, labels, queries, classes, k, t), "trial " + trial);
        }
    }

    @Test
    void weightsByExponentialOfCosineNotByCount() {
        // Query (1, 0). Class 0: one neighbour at cosine 1. Class 1: two at cosine 0.8. k = 3.
        // T = 0.07: exp(1/0.07) = 1.6e6 against 2 exp(0.8/0.07) = 1.9e5, class 0 wins;
        // T = 10: exp(0.1) = 1.105 against 2 exp(0.08) = 2.17, class 1 wins (the majority).
        double[][] bank = {{1, 0}, {0.8, 0.6}, {0.8, -0.6}};
        int[] labels = {0, 1, 1};
        double[][] query = {{2, 0}};
        assertEquals(0, NearestNeighbours.predict(bank, labels, query, 2, 3, 0.07)[0]);
        assertEquals(1, NearestNeighbours.predict(bank, labels, query, 2, 3, 10)[0]);
        assertEquals(1.0, NearestNeighbours.accuracy(new int[] {0, 1}, new int[] {0, 1}));
        assertEquals(0.5, NearestNeighbours.accuracy(new int[] {0, 0}, new int[] {0, 1}));
    }

    @Test
    void weightDistanceIsTheDirectRatio() {
        // W0 = (3, 4 | 0), W1 = (3, 5 | 2): ||W1 - W0|| = sqrt(1 + 4) , ||W0|| = 5.
        Map<String, float[]> w0 = Map.of("a.weight", new float[] {3, 4}, "a.bias", new float[] {0}, "b.weight", new float[] {9});
        Map<String, float[]> w1 = Map.of("a.weight", new float[] {3, 5}, "a.bias", new float[] {2}, "b.weight", new float[] {1});
        assertEquals(Math.sqrt(5) / 5, WeightDistance.relative(w0, w1, List.of("a.weight", "a.bias")), 1e-15);
        assertEquals(0.0, WeightDistance.relative(w0, w0, List.of("a.weight", "a.bias", "b.weight")));
    }
}
