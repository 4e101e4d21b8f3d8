package dev.graft.engine;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Who owns which buffer: training-step scopes, long-lived parameter scopes, keep / moveTo / close. */
class ScopeTest {
    private static final Device R = Device.REFERENCE;

    private static Tensor ones(int n) {
        return Tensor.full(R, DType.F64, 1, n);
    }

    /** The training-loop pattern: parameters in a detached scope, one scope per step. */
    @Test
    void leafGradientsLiveInTheLeafsScopeWhileActivationsDieWithTheStep() {
        Scope model = Scope.detached("model");
        Tensor w;
        try (var in = model.enter()) {
            w = ones(3).requiresGrad(true);
        }
        assertEquals(1, model.liveBuffers());
        Tensor activation;
        for (int step = 1; step <= 2; step++) {
            try (Scope s = Scope.open("step")) {
                activation = w.mul(Tensor.full(R, DType.F64, 2, 3));
                activation.sum().backward();
            }
            assertArrayEquals(new double[] {2 * step, 2 * step, 2 * step}, w.grad().toDoubleArray());
            assertEquals(2, model.liveBuffers(), "the weight and its gradient, nothing from the step");
            Tensor dead = activation;
            assertThrows(GraftException.class, dead::toDoubleArray);
        }
        model.close();
        assertThrows(GraftException.class, w::toDoubleArray);
        assertThrows(GraftException.class, () -> w.grad().toDoubleArray());
    }

    @Test
    void usingATensorAfterItsScopeClosedIsAGraftException() {
        Tensor t;
        try (Scope s = Scope.open()) {
            t = ones(2);
        }
        try (Scope s = Scope.open()) {
            Tensor dead = t;
            for (Runnable use : new Runnable[] {dead::toFloatArray, () -> dead.add(ones(2)), () -> dead.mul(2),
                    () -> dead.reshape(2, 1).toFloatArray(), () -> dead.sum().item(), () -> dead.to(R).relu()}) {
                GraftException e = assertThrows(GraftException.class, use::run);
                assertTrue(e.getMessage().contains("Scope that owned it closed"), e.getMessage());
            }
        }
    }

    @Test
    void closingATensorEarlyFreesItAndFurtherUseIsAGraftException() {
        try (Scope s = Scope.open()) {
            Tensor t = ones(4);
            assertEquals(1, s.liveBuffers());
            t.close();
            assertEquals(0, s.liveBuffers());
            assertThrows(GraftException.class, t::toFloatArray);
            t.close(); // twice is harmless
        }
    }

    /** A leaf freed before backward reaches it: a GraftException naming the problem, not a NullPointerException. */
    @Test
    void backwardIntoAFreedLeafIsAGraftException() {
        try (Scope s = Scope.open()) {
            Tensor x = ones(3).requiresGrad(true);
            Tensor loss = x.add(ones(3)).sum();
            x.close();
            assertThrows(GraftException.class, loss::backward);
        }
    }

    @Test
    void keepMovesTheTensorAndItsGradientToTheEnclosingScope() {
        try (Scope outer = Scope.open("outer")) {
            Tensor kept;
            Tensor view;
            try (Scope inner = Scope.open("inner")) {
                kept = ones(4).requiresGrad(true);
                kept.mul(3).sum().backward();
                view = kept.reshape(2, 2);
                assertSame(kept, inner.keep(kept));
                assertEquals(2, outer.liveBuffers(), "values and gradient moved");
            }
            assertArrayEquals(new double[] {3, 3, 3, 3}, kept.grad().toDoubleArray());
            assertArrayEquals(new double[] {1, 1, 1, 1}, view.toDoubleArray(), "a view shares the kept buffer");
        }
    }

    @Test
    void moveToSendsATensorToAnyOpenScopeButNotAClosedOne() {
        Scope target = Scope.detached("target");
        Tensor t;
        try (Scope s = Scope.open()) {
            t = ones(2);
            Scope.moveTo(target, t);
            assertEquals(0, s.liveBuffers());
        }
        assertArrayEquals(new double[] {1, 1}, t.toDoubleArray());
        target.close();
        try (Scope s = Scope.open()) {
            Tensor u = ones(1);
            assertThrows(GraftException.class, () -> Scope.moveTo(target, u));
            assertEquals(1, s.liveBuffers(), "a failed move leaves the tensor where it was");
        }
    }

    @Test
    void keepWithoutAnEnclosingScopeIsAGraftException() {
        Scope lonely = Scope.detached("lonely");
        try (var in = lonely.enter()) {
            Tensor t = ones(1);
            assertThrows(GraftException.class, () -> lonely.keep(t));
        } finally {
            lonely.close();
        }
    }

    @Test
    void enteringADetachedScopeRoutesAllocationsThereUntilTheHandleCloses() {
        Scope params = Scope.detached("params");
        try (Scope step = Scope.open("step")) {
            try (var in = params.enter()) {
                ones(2);
            }
            ones(3);
            assertEquals(1, params.liveBuffers());
            assertEquals(1, step.liveBuffers());
            assertSame(step, Scope.current());
        }
        params.close();
        assertThrows(GraftException.class, params::enter, "a closed scope cannot be entered");
    }

    /**
     * Closing an outer scope while an inner one is open is an error, but it still frees the outer scope's
     * buffers and leaves the thread's stack usable: the inner scope stays current and closes normally.
     * Runs on its own thread so the stack starts empty.
     */
    @Test
    void closingOutOfOrderIsAGraftExceptionAndLeavesTheStackConsistent() throws InterruptedException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                assertThrows(GraftException.class, Scope::current, "no scope open on a fresh thread");
                Scope outer = Scope.open("outer");
                Tensor a = ones(1);
                Scope inner = Scope.open("inner");
                Tensor b = ones(1);
                GraftException e = assertThrows(GraftException.class, outer::close);
                assertTrue(e.getMessage().contains("reverse order"), e.getMessage());
                assertTrue(outer.isClosed());
                assertThrows(GraftException.class, a::toDoubleArray);
                assertSame(inner, Scope.current());
                assertArrayEquals(new double[] {1}, b.toDoubleArray());
                inner.close();
                inner.close(); // a second close is a no-op
                assertThrows(GraftException.class, Scope::current);
            } catch (Throwable x) {
                failure.set(x);
            }
        });
        t.start();
        t.join();
        if (failure.get() != null) {
            assertInstanceOf(AssertionError.class, failure.get());
            throw (AssertionError) failure.get();
        }
    }
}
