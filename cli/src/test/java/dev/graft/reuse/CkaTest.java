package dev.graft.reuse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Linear CKA against closed-form properties and against numpy ({@code make_cka_fixture.py}, committed output
 * {@code cka_numpy.json}).
 */
class CkaTest {
    private static double[][] random(Random r, int n, int d) {
        double[][] x = new double[n][d];
        for (double[] row : x) {
            for (int j = 0; j < d; j++) {
                row[j] = r.nextGaussian();
            }
        }
        return x;
    }

    private static double[][] times(double[][] x, double[][] m) {
        double[][] out = new double[x.length][m[0].length];
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < m[0].length; j++) {
                for (int t = 0; t < m.length; t++) {
                    out[i][j] += x[i][t] * m[t][j];
                }
            }
        }
        return out;
    }

    /** A random orthogonal d x d matrix: Gram-Schmidt on Gaussian columns. */
    private static double[][] orthogonal(Random r, int d) {
        double[][] q = random(r, d, d);
        for (int j = 0; j < d; j++) {
            for (int k = 0; k < j; k++) {
                double dot = 0;
                for (int i = 0; i < d; i++) {
                    dot += q[i][j] * q[i][k];
                }
                for (int i = 0; i < d; i++) {
                    q[i][j] -= dot * q[i][k];
                }
            }
            double norm = 0;
            for (int i = 0; i < d; i++) {
                norm += q[i][j] * q[i][j];
            }
            for (int i = 0; i < d; i++) {
                q[i][j] /= Math.sqrt(norm);
            }
        }
        return q;
    }

    // Tolerances below 1e-9 on values of order 1: the only error is float64 rounding over sums of a few thousand terms.

    @Test
    void identicalActivationsGiveOne() {
        double[][] k = Cka.gram(random(new Random(1), 20, 50));
        assertEquals(1.0, Cka.biased(k, k), 1e-12);
        assertEquals(1.0, Cka.debiased(k, k), 1e-12);
    }

    @Test
    void invariantToOrthogonalTransformsAndIsotropicScaling() {
        Random r = new Random(2);
        double[][] x = random(r, 30, 12);
        double[][] y = random(r, 30, 9);
        double[][] xq = times(x, orthogonal(r, 12));
        double[][] ys = new double[y.length][];
        for (int i = 0; i < y.length; i++) {
            ys[i] = y[i].clone();
            for (int j = 0; j < ys[i].length; j++) {
                ys[i][j] *= 7.5;
            }
        }
        double[][] k = Cka.gram(x), l = Cka.gram(y), kq = Cka.gram(xq), ls = Cka.gram(ys);
        assertEquals(Cka.biased(k, l), Cka.biased(kq, ls), 1e-10);
        assertEquals(Cka.debiased(k, l), Cka.debiased(kq, ls), 1e-10);
        // an orthogonal map of the same activations is the same representation
        assertEquals(1.0, Cka.debiased(k, kq), 1e-10);
        assertEquals(1.0, Cka.biased(k, kq), 1e-10);
    }

    @Test
    void matchesNumpyOnFixedMatrices() throws IOException {
        JsonNode fixture = fixture();
        for (JsonNode pair : fixture.get("pairs")) {
            double[][] k = Cka.gram(matrix(pair.get("x"))), l = Cka.gram(matrix(pair.get("y")));
            assertEquals(pair.get("biased").asDouble(), Cka.biased(k, l), 1e-10, "biased");
            assertEquals(pair.get("debiased").asDouble(), Cka.debiased(k, l), 1e-10, "debiased");
        }
    }

    /**
     * Independent Gaussian activations (n = 32 examples, 64 features each): numpy's mean over 4000 draws is the
     * expected value of each form (biased about 0.67, the bias that makes small-sample CKA look high; debiased about
     * 0). The mean of 200 Java draws has a standard error of std / sqrt(200); the tolerance is 5 of those plus numpy's
     * own standard error.
     */
    @Test
    void independentActivationsNearZeroDebiasedAndNearTheKnownBiasBiased() throws IOException {
        JsonNode ind = fixture().get("independent").get(0);
        int n = ind.get("n").asInt(), p = ind.get("p").asInt(), q = ind.get("q").asInt();
        Random r = new Random(3);
        int draws = 200;
        double b = 0, d = 0;
        for (int t = 0; t < draws; t++) {
            double[][] k = Cka.gram(random(r, n, p)), l = Cka.gram(random(r, n, q));
            b += Cka.biased(k, l) / draws;
            d += Cka.debiased(k, l) / draws;
        }
        double trials = ind.get("trials").asDouble();
        double bs = ind.get("biased_std").asDouble(), ds = ind.get("debiased_std").asDouble();
        assertEquals(ind.get("biased_mean").asDouble(), b, 5 * bs / Math.sqrt(draws) + bs / Math.sqrt(trials));
        assertEquals(ind.get("debiased_mean").asDouble(), d, 5 * ds / Math.sqrt(draws) + ds / Math.sqrt(trials));
        assertTrue(Math.abs(d) < 0.02, "debiased CKA of independent activations: " + d);
        assertTrue(b > 0.6, "biased CKA of independent activations keeps its positive bias: " + b);
    }

    @Test
    void gramMatrixFromSpilledRowsEqualsTheDirectProduct() {
        Random r = new Random(4);
        int n = 11, d = 37;
        float[] v = new float[n * d];
        double[][] x = new double[n][d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                v[i * d + j] = (float) r.nextGaussian();
                x[i][j] = v[i * d + j];
            }
        }
        double[][] expected = Cka.gram(x);
        for (long block : new long[] {d * 4L, d * 4L * 3, 1L << 20}) { // one row, three rows (n not a multiple), all rows per block
            try (GramMatrix g = new GramMatrix(block)) {
                for (int i = 0; i < n; i++) {
                    g.add(v, i, d);
                }
                double[][] k = g.gram();
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < n; j++) {
                        assertEquals(expected[i][j], k[i][j], 1e-9, "block " + block + " at " + i + "," + j);
                    }
                }
            }
        }
    }

    private static JsonNode fixture() throws IOException {
        try (InputStream in = CkaTest.class.getResourceAsStream("/reuse/cka_numpy.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    private static double[][] matrix(JsonNode rows) {
        double[][] m = new double[rows.size()][];
        for (int i = 0; i < m.length; i++) {
            m[i] = new double[rows.get(i).size()];
            for (int j = 0; j < m[i].length; j++) {
                m[i][j] = rows.get(i).get(j).asDouble();
            }
        }
        return m;
    }
}
