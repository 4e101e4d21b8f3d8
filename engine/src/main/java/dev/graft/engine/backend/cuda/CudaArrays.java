package dev.graft.engine.backend.cuda;

import dev.graft.engine.DeviceException;
import dev.graft.engine.NDArray;

/** Device addresses of arrays, for the op classes that pass them to cuDNN, cuBLAS and the kernels. */
final class CudaArrays {
    private CudaArrays() {
    }

    /** The device address of a cuda array (checks that its scope is still open). */
    static long addr(NDArray a) {
        if (!(a.buffer() instanceof DeviceBuffer d)) {
            throw new DeviceException("expected a cuda array, got " + a);
        }
        return d.address();
    }
}
