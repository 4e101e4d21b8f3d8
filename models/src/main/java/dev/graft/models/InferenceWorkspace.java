package dev.graft.models;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.Buffer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reusable activation buffers of one {@link InferencePlan} and one input shape: every convolution output has its
 * buffer, allocated once in the workspace's own scope; outputs of equal size whose lifetimes do not overlap share
 * one. A call that runs in a workspace allocates only the two small pooling outputs. Close it to free the buffers.
 * Used by one call at a time.
 */
public final class InferenceWorkspace implements AutoCloseable {
    final InferencePlan plan;
    final Shape input;
    final NDArray[] slots;
    private final Scope scope;
    private final int buffers;

    InferenceWorkspace(InferencePlan plan, Shape input, Shape[] shapes) {
        this.plan = plan;
        this.input = input;
        this.slots = new NDArray[plan.values()];
        this.scope = Scope.detached("inference workspace " + input);
        Backend be = Backends.get(plan.device());
        int[] last = plan.lastUses();
        Map<Integer, List<Buffer>> free = new HashMap<>();
        Buffer[] owner = new Buffer[plan.values()];
        int count = 0;
        try (Scope.Entered in = scope.enter()) {
            for (int i = 0; i < plan.steps().size(); i++) {
                InferencePlan.Step s = plan.steps().get(i);
                if (s instanceof InferencePlan.ConvStep) {
                    Shape shape = shapes[s.out()];
                    List<Buffer> pool = free.get(shape.numel());
                    NDArray a;
                    if (pool != null && !pool.isEmpty()) {
                        a = new NDArray(be, pool.remove(pool.size() - 1), shape, be.activationLayout());
                    } else {
                        a = be.empty(plan.dtype(), shape, be.activationLayout());
                        count++;
                    }
                    slots[s.out()] = a;
                    owner[s.out()] = a.buffer();
                }
                // Buffers whose value was read for the last time by this step are free for later steps.
                for (int id = 1; id < plan.values(); id++) {
                    if (owner[id] != null && last[id] == i) {
                        free.computeIfAbsent(owner[id].numel(), k -> new ArrayList<>()).add(owner[id]);
                        owner[id] = null;
                    }
                }
            }
        } catch (RuntimeException e) {
            scope.close();
            throw e;
        }
        this.buffers = count;
    }

    public Shape input() {
        return input;
    }

    /** Distinct buffers allocated (fewer than the convolutions: lifetimes that do not overlap share one). */
    public int buffers() {
        return buffers;
    }

    public long bytes() {
        return scope.liveBytes();
    }

    @Override
    public void close() {
        scope.close();
    }
}
