package dev.graft.models;

import dev.graft.engine.Device;
import dev.graft.engine.NDArray;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.BatchNormGrads;
import dev.graft.engine.backend.BatchNormStats;
import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.Pooled;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.TreeMap;

/**
 * Counts kernel calls on a device through {@link Backends#decorate}. Arrays remember the backend that made
 * them and later kernels dispatch on their inputs' backend, so every array a kernel returns is re-wrapped to
 * point at the proxy: everything computed from an array made after {@link #install} is counted.
 */
final class CountingBackend implements InvocationHandler, AutoCloseable {
    private final Backend target;
    private final Map<String, Integer> counts = new TreeMap<>();
    private Backend proxy;
    private AutoCloseable restore;

    private CountingBackend(Backend target) {
        this.target = target;
    }

    static CountingBackend install(Device device) {
        CountingBackend[] made = new CountingBackend[1];
        AutoCloseable restore = Backends.decorate(device, b -> {
            made[0] = new CountingBackend(b);
            made[0].proxy = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, made[0]);
            return made[0].proxy;
        });
        made[0].restore = restore;
        return made[0];
    }

    int count(String kernel) {
        return counts.getOrDefault(kernel, 0);
    }

    void reset() {
        counts.clear();
    }

    Map<String, Integer> counts() {
        return new TreeMap<>(counts);
    }

    @Override
    public Object invoke(Object self, Method method, Object[] args) throws Throwable {
        counts.merge(method.getName(), 1, Integer::sum);
        Object r;
        try {
            r = method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
        return rewrap(r);
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
    public void close() throws Exception {
        restore.close();
    }
}
