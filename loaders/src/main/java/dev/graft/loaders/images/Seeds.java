package dev.graft.loaders.images;

/** Derives independent seeds from (seed, stream, index) with SplitMix64 finalisers. */
public final class Seeds {
    private Seeds() {
    }

    public static long mix(long seed, long stream, long index) {
        long z = seed;
        z = fmix(z ^ fmix(stream + 0x9E3779B97F4A7C15L));
        z = fmix(z ^ fmix(index + 0xD1B54A32D192ED03L));
        return z;
    }

    private static long fmix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
