package dev.graft.cli.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What the benchmark reads about this process and the machine on Linux: resident memory (current and peak, from
 * {@code /proc/self/status}), this process's CPU time, and the busy time of all CPUs (from {@code /proc/stat}),
 * so the CPU that other processes used during a timed loop can be printed next to the figures (the machine is
 * shared). Elsewhere the values read as NaN.
 */
public final class ProcessStats {
    private ProcessStats() {
    }

    /** Peak resident set size in MiB (VmHWM), or NaN. */
    public static double peakRssMib() {
        return statusKib("VmHWM:") / 1024.0;
    }

    /** Current resident set size in MiB (VmRSS), or NaN. */
    public static double rssMib() {
        return statusKib("VmRSS:") / 1024.0;
    }

    /**
     * Resets the peak RSS to the current RSS (Linux 4.0+: writing 5 to {@code /proc/self/clear_refs}), so the
     * next {@link #peakRssMib()} is the peak of what ran since. Returns false where that is not possible.
     */
    public static boolean resetPeakRss() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** CPU seconds this process has used (all threads). */
    public static double selfCpuSeconds() {
        var os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getProcessCpuTime() / 1e9;
        }
        return Double.NaN;
    }

    /** Busy seconds summed over all CPUs since boot (user+nice+system+irq+softirq+steal), or NaN. */
    public static double machineBusySeconds() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long busy = 0;
            for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
                busy += i < f.length ? Long.parseLong(f[i]) : 0;
            }
            return busy / 100.0; // USER_HZ is 100 on every Linux platform Java runs on
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    private static double statusKib(String key) {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/self/status"));
            for (String l : lines) {
                if (l.startsWith(key)) {
                    return Double.parseDouble(l.substring(key.length()).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: fall through
        }
        return Double.NaN;
    }
}
