package dev.graft.reuse;

/**
 * Weighted k-nearest-neighbour classification on cosine similarity, the convention of DINO's {@code eval_knn.py}
 * that Matsoukas et al. 2022 follow: features are L2-normalised, the k most similar bank examples vote for their
 * class with weight exp(similarity / T), and the class with the largest total wins (ties: the lower class index).
 * k larger than the bank uses the whole bank. A zero feature vector stays zero (similarity 0 to everything).
 */
public final class NearestNeighbours {
    private NearestNeighbours() {
    }

    /** The predicted class of each query. */
    public static int[] predict(double[][] bank, int[] bankLabels, double[][] queries, int numClasses, int k, double temperature) {
        if (bank.length == 0) {
            throw new IllegalArgumentException("k-NN needs a non-empty bank");
        }
        double[][] b = normalised(bank);
        int kk = Math.min(k, b.length);
        int[] out = new int[queries.length];
        double[] sims = new double[b.length];
        for (int q = 0; q < queries.length; q++) {
            double[] x = normalised(queries[q]);
            for (int i = 0; i < b.length; i++) {
                double s = 0;
                for (int t = 0; t < x.length; t++) {
                    s += x[t] * b[i][t];
                }
                sims[i] = s;
            }
            double[] votes = new double[numClasses];
            boolean[] taken = new boolean[b.length];
            for (int r = 0; r < kk; r++) { // partial selection: k passes, fine for the bank sizes used here
                int best = -1;
                for (int i = 0; i < b.length; i++) {
                    if (!taken[i] && (best < 0 || sims[i] > sims[best])) {
                        best = i;
                    }
                }
                taken[best] = true;
                votes[bankLabels[best]] += Math.exp(sims[best] / temperature);
            }
            int c = 0;
            for (int j = 1; j < numClasses; j++) {
                if (votes[j] > votes[c]) {
                    c = j;
                }
            }
            out[q] = c;
        }
        return out;
    }

    public static double accuracy(int[] predicted, int[] labels) {
        int ok = 0;
        for (int i = 0; i < labels.length; i++) {
            ok += predicted[i] == labels[i] ? 1 : 0;
        }
        return labels.length == 0 ? Double.NaN : (double) ok / labels.length;
    }

    static double[][] normalised(double[][] x) {
        double[][] out = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            out[i] = normalised(x[i]);
        }
        return out;
    }

    static double[] normalised(double[] v) {
        double s = 0;
        for (double a : v) {
            s += a * a;
        }
        double norm = Math.sqrt(s);
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = norm > 0 ? v[i] / norm : 0;
        }
        return out;
    }
}
