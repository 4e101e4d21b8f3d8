package dev.graft.engine.backend;

import dev.graft.engine.Device;
import dev.graft.engine.NDArray;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

/**
 * Sees every kernel call on a device: {@link #install} puts a {@link Proxy} of {@link Backend} in place of the
 * device's backend (through {@link Backends#decorate}) and routes each call through {@link #intercept}. An array
 * remembers the backend that made it and later kernels dispatch on their inputs' backend, so every array a kernel
 * returns is re-wrapped to point at the proxy: all work that starts from arrays made after {@code install} is
 * seen. {@link #close} restores the plain backend. Kernel counters in tests and {@code graft bench --profile} are
 * built on this.
 */
public abstract class BackendInterceptor implements AutoCloseable {
    private Backend target;
    private Backend proxy;
    private AutoCloseable restore;

    /** The intercepted call: runs the real kernel and returns its (re-wrapped) result. */
    @FunctionalInterface
    protected interface Call {
        Object proceed() throws Throwable;
    }

    /** Called for every kernel; must call {@code call.proceed()} once and return its result. */
    protected abstract Object intercept(Method kernel, Object[] args, Call call) throws Throwable;

    /** Installs {@code interceptor} on {@code device}'s backend and returns it. */
    protected static <T extends BackendInterceptor> T install(Device device, T interceptor) {
        ((BackendInterceptor) interceptor).attach(device);
        return interceptor;
    }

    private void attach(Device device) {
        restore = Backends.decorate(device, b -> {
            target = b;
            proxy = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                    (self, method, args) -> dispatch(method, args));
            return proxy;
        });
    }

    private Object dispatch(Method method, Object[] args) throws Throwable {
        return intercept(method, args, () -> {
            try {
                return rewrap(method.invoke(target, args));
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    private Object rewrap(Object r) {
        if (r instanceof NDArray a) {
            return wrap(a);
        }
        if (r instanceof BatchNormStats s) {
            return new BatchNormStats(wrap(s.output()), wrap(s.mean()), wrap(s.variance()), s.workspace());
        }
        if (r instanceof BatchNormGrads g) {
            return new BatchNormGrads(wrap(g.input()), wrap(g.weight()), wrap(g.bias()));
        }
        if (r instanceof Pooled p) {
            return new Pooled(wrap(p.output()), p.workspace());
        }
        if (r instanceof NDArray[] arrays) { // splitChannels: its pieces must stay on the interceptor too
            NDArray[] out = new NDArray[arrays.length];
            for (int i = 0; i < arrays.length; i++) {
                out[i] = wrap(arrays[i]);
            }
            return out;
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
