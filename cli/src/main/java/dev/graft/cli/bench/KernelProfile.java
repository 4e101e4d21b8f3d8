package dev.graft.cli.bench;

import dev.graft.engine.Device;
import dev.graft.engine.NDArray;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.BatchNormGrads;
import dev.graft.engine.backend.BatchNormStats;
import dev.graft.engine.backend.Pooled;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code graft bench --profile}: wall time per backend kernel, through a {@link Proxy} installed with
 * {@link Backends#decorate}. Arrays remember the backend that made them and later kernels dispatch on their
 * inputs' backend, so every array a kernel returns is re-wrapped to point at the proxy. The time between kernels
 * (autograd, scopes, Java glue) is what the step takes beyond the sum printed here.
 */
public final class KernelProfile implements InvocationHandler, AutoCloseable {
    private final Backend target;
    private final Map<String, long[]> byKernel = new HashMap<>();
    private Backend proxy;
    private AutoCloseable restore;
    private int depth;

    private KernelProfile(Backend target) {
        this.target = target;
    }

    public static KernelProfile install(Device device) {
        KernelProfile[] made = new KernelProfile[1];
        AutoCloseable restore = Backends.decorate(device, b -> {
            made[0] = new KernelProfile(b);
            made[0].proxy = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, made[0]);
            return made[0].proxy;
        });
        made[0].restore = restore;
        return made[0];
    }

    public void reset() {
        byKernel.clear();
    }

    @Override
    public Object invoke(Object self, Method method, Object[] args) throws Throwable {
        long t = System.nanoTime();
        depth++;
        try {
            return rewrap(method.invoke(target, args));
        } catch (InvocationTargetException e) {
            throw e.getCause();
        } finally {
            depth--;
            if (depth == 0) {
                String key = method.getName();
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

    private Object rewrap(Object r) {
        if (r instanceof NDArray a) {
            return wrap(a);
        }
        if (r instanceof BatchNormStats s) {
            return new BatchNormStats(wrap(s.output()), wrap(s.mean()), wrap(s.variance()));
        }
        if (r instanceof BatchNormGrads g) {
            return new BatchNormGrads(wrap(g.input()), wrap(g.weight()), wrap(g.bias()));
        }
        if (r instanceof Pooled p) {
            return new Pooled(wrap(p.output()), p.workspace());
        }
        return r;
    }

    private NDArray wrap(NDArray a) {
        return a == null || a.backend() == proxy ? a : new NDArray(proxy, a.buffer(), a.shape(), a.layout());
    }

    @Override
    public void close() {
        try {
            restore.close();
        } catch (Exception e) {
            throw new IllegalStateException("could not restore the backend", e);
        }
    }
}
