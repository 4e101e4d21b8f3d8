package dev.graft.engine;

import java.util.Locale;

/** Where a tensor's storage lives and which backend computes on it. */
public record Device(Kind kind, int index) {

    public enum Kind {
        /** Plain Java loops: the oracle, no native code. */
        REFERENCE,
        /** oneDNN through JavaCPP. */
        CPU,
        /** cuDNN, cuBLAS and NVRTC kernels through JavaCPP. */
        CUDA
    }

    public static final Device REFERENCE = new Device(Kind.REFERENCE, 0);
    public static final Device CPU = new Device(Kind.CPU, 0);

    public static Device cuda(int index) {
        return new Device(Kind.CUDA, index);
    }

    /**
     * Parses {@code reference}, {@code cpu}, {@code cuda} or {@code cuda:N}. {@code auto} is resolved by
     * {@link dev.graft.engine.backend.Backends#resolve(String)}, not here.
     */
    public static Device parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        switch (t) {
            case "reference", "ref", "java":
                return REFERENCE;
            case "cpu":
                return CPU;
            case "cuda", "gpu":
                return cuda(0);
            default:
                if (t.startsWith("cuda:")) {
                    try {
                        return cuda(Integer.parseInt(t.substring(5)));
                    } catch (NumberFormatException e) {
                        // fall through to the error below
                    }
                }
                throw new DeviceException("unknown device '" + text
                        + "': expected auto, cpu, reference, cuda or cuda:N");
        }
    }

    @Override
    public String toString() {
        return kind == Kind.CUDA ? "cuda:" + index : kind.name().toLowerCase(Locale.ROOT);
    }
}
