package dev.graft.engine.testing;

import dev.graft.engine.Device;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.BackendInterceptor;

import java.lang.reflect.Method;
import java.util.Map;
import java.util.TreeMap;

/**
 * Counts kernel calls on a device (a {@link BackendInterceptor}): all work that starts from arrays made after
 * {@link #install} is counted. Close to restore the plain backend.
 */
public final class CountingBackend extends BackendInterceptor {
    private final Map<String, Integer> counts = new TreeMap<>();

    private CountingBackend() {
    }

    public static CountingBackend install(Device device) {
        return install(device, new CountingBackend());
    }

    /** Calls of the kernel named {@code method} (a {@link Backend} method name) since install or reset. */
    public int count(String method) {
        return counts.getOrDefault(method, 0);
    }

    public Map<String, Integer> counts() {
        return new TreeMap<>(counts);
    }

    public void reset() {
        counts.clear();
    }

    @Override
    protected Object intercept(Method kernel, Object[] args, Call call) throws Throwable {
        counts.merge(kernel.getName(), 1, Integer::sum);
        return call.proceed();
    }
}
