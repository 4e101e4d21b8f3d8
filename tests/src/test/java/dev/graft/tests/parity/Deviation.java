package dev.graft.tests.parity;

/**
 * How far one Graft tensor is from torch's: the largest absolute difference, relative to the largest
 * magnitude of torch's tensor (so near-zero elements of a gradient do not blow the ratio up).
 */
record Deviation(String name, double maxAbsDiff, double scale) {

    static Deviation of(String name, float[] expected, float[] actual) {
        if (expected.length != actual.length) {
            throw new AssertionError(name + ": " + actual.length + " values, torch has " + expected.length);
        }
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) expected[i] - actual[i]);
            diff = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(diff, d);
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        return new Deviation(name, diff, scale);
    }

    /** maxAbsDiff / max|torch|; an all-zero torch tensor must be matched exactly. */
    double relative() {
        return scale == 0 ? (maxAbsDiff == 0 ? 0 : Double.POSITIVE_INFINITY) : maxAbsDiff / scale;
    }

    @Override
    public String toString() {
        return String.format("%s: max |diff| %.3g, max |torch| %.3g, relative %.3g", name, maxAbsDiff, scale, relative());
    }
}
