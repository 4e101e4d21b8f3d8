package dev.graft.models;

import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;

import java.util.LinkedHashMap;
import java.util.Map;

/** The keys and shapes of a state dict, in order (what recognition reads). */
final class StateShapes {
    private StateShapes() {
    }

    static Map<String, Shape> of(StateDict state) {
        Map<String, Shape> out = new LinkedHashMap<>();
        state.tensors().forEach((k, v) -> out.put(k, v.shape()));
        return out;
    }
}
