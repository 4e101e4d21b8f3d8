package dev.graft.runtime;

/**
 * How much Java heap to give the runtime for a model file: 64 MiB plus twice the file's size, rounded up to 32 MiB.
 * With oneDNN, ResNet-18 runs in 64 MiB (weights off the heap, read one layer at a time; docs/embedding.md); on the
 * pure-Java backend the weights live on the heap twice (the file's tensors and the folded copy). {@code graft export}'s
 * launcher uses it, and the runtime's command line suggests it when the heap runs out.
 */
public final class HeapAdvice {
    private HeapAdvice() {
    }

    public static int suggestedMiB(long modelBytes) {
        long mib = 64 + (2 * Math.max(0, modelBytes) + (1 << 20) - 1) / (1 << 20);
        return (int) ((mib + 31) / 32 * 32);
    }
}
