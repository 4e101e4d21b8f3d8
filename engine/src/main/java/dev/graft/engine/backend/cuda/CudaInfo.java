package dev.graft.engine.backend.cuda;

import java.util.List;

/**
 * What the probe found: library versions (as the libraries encode them, e.g. CUDA 13000 = 13.0, cuDNN 91900 =
 * 9.19.0) and the devices. Plain data; holds no native object.
 */
record CudaInfo(int driverVersion, int runtimeVersion, long cudnnVersion, String cublasVersion, String nvrtcVersion,
                List<DeviceInfo> devices) {

    /** One GPU: name, compute capability, memory in bytes. */
    record DeviceInfo(int index, String name, int ccMajor, int ccMinor, long totalMemory) {
        int computeCapability() {
            return ccMajor * 10 + ccMinor;
        }

        @Override
        public String toString() {
            return "cuda:" + index + " " + name + " (sm_" + ccMajor + ccMinor + ", "
                    + String.format("%.1f GiB", totalMemory / (1024.0 * 1024 * 1024)) + ")";
        }
    }

    static String cudaVersion(int v) {
        return v <= 0 ? "none" : (v / 1000) + "." + (v % 1000) / 10;
    }

    static String cudnnVersion(long v) {
        return (v / 10000) + "." + (v % 10000) / 100 + "." + v % 100;
    }

    String libraries() {
        return "CUDA driver API " + cudaVersion(driverVersion) + ", runtime " + cudaVersion(runtimeVersion)
                + ", cuDNN " + cudnnVersion(cudnnVersion) + ", cuBLAS " + cublasVersion + ", NVRTC " + nvrtcVersion;
    }

    /** The line {@code graft doctor} prints. */
    String summary() {
        StringBuilder s = new StringBuilder();
        s.append(devices.size()).append(devices.size() == 1 ? " device: " : " devices: ");
        for (int i = 0; i < devices.size(); i++) {
            s.append(i == 0 ? "" : "; ").append(devices.get(i));
        }
        String math;
        try {
            math = MathMode.configured().toString();
        } catch (RuntimeException e) {
            math = "invalid setting: " + e.getMessage();
        }
        return s.append("; ").append(libraries()).append("; math ").append(math).toString();
    }
}
