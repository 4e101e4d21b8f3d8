package dev.graft.cli.bench;

import dev.graft.engine.Device;
import dev.graft.engine.NDArray;
import dev.graft.engine.backend.BackendInterceptor;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code graft bench --profile}: wall time per backend kernel, seen through a {@link BackendInterceptor}. The time
 * between kernels (autograd, scopes, Java glue) is what the step takes beyond the sum printed here. On an
 * asynchronous device (cuda) a kernel's time is its launch's, not its work's.
 */
public final class KernelProfile extends BackendInterceptor {
    private final Map<String, long[]> byKernel = new HashMap<>();
    private int depth;

    private KernelProfile() {
    }

    public static KernelProfile install(Device device) {
        return install(device, new KernelProfile());
    }

    public void reset() {
        byKernel.clear();
    }

    @Override
    protected Object intercept(Method kernel, Object[] args, Call call) throws Throwable {
        long t = System.nanoTime();
        depth++;
        try {
            return call.proceed();
        } finally {
            depth--;
            if (depth == 0) {
                String key = kernel.getName();
                if (args != null && args.length > 0 && args[0] instanceof NDArray a) {
                    key += " " + a.shape();
                }
                long[] v = byKernel.computeIfAbsent(key, k -> new long[2]);
                v[0]++;
                v[1] += System.nanoTime() - t;
            }
        }
    }

    /** The kernels that took most time, per iteration. */
    public String report(int iterations, int top) {
        List<Map.Entry<String, long[]>> rows = new ArrayList<>(byKernel.entrySet());
        rows.sort((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]));
        Map<String, long[]> byMethod = new HashMap<>();
        long total = 0;
        for (Map.Entry<String, long[]> e : rows) {
            String m = e.getKey().split(" ")[0];
            long[] v = byMethod.computeIfAbsent(m, k -> new long[2]);
            v[0] += e.getValue()[0];
            v[1] += e.getValue()[1];
            total += e.getValue()[1];
        }
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "  kernels: %.1f ms per iteration in all%n", total / 1e6 / iterations));
        List<Map.Entry<String, long[]>> methods = new ArrayList<>(byMethod.entrySet());
        methods.sort((x, y) -> Long.compare(y.getValue()[1], x.getValue()[1]));
        for (Map.Entry<String, long[]> e : methods) {
            b.append(String.format(Locale.ROOT, "    %-26s %8.1f ms  %5d calls%n", e.getKey(),
                    e.getValue()[1] / 1e6 / iterations, e.getValue()[0] / iterations));
        }
        b.append("  by shape:\n");
        for (int i = 0; i < Math.min(top, rows.size()); i++) {
            var e = rows.get(i);
            b.append(String.format(Locale.ROOT, "    %-60s %8.1f ms  %5d calls%n", e.getKey(),
                    e.getValue()[1] / 1e6 / iterations, e.getValue()[0] / iterations));
        }
        return b.toString();
    }
}
