package dev.graft.loaders;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.graft.engine.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/** Random storage views (sizes, strides, offsets, shared storage) round-trip through a hand-made torch zip. */
class PthViewProperties {
    @Property(tries = 200)
    void stridedViewsGatherLikeTorch(@ForAll @Size(max = 4) List<@IntRange(min = 0, max = 4) Integer> sizes,
                                     @ForAll @Size(value = 4) List<@IntRange(min = 0, max = 7) Integer> strides,
                                     @ForAll @IntRange(min = 0, max = 5) int offset,
                                     @ForAll @IntRange(min = 0, max = 3) int slack) {
        int rank = sizes.size();
        long[] size = new long[rank];
        long[] stride = new long[rank];
        long max = offset;
        for (int i = 0; i < rank; i++) {
            size[i] = sizes.get(i);
            stride[i] = strides.get(i);
            max += (size[i] - 1) * stride[i];
        }
        long numel = Math.max(max + 1, offset) + slack;
        ByteBuffer data = ByteBuffer.allocate((int) numel * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < numel; i++) {
            data.putFloat(i * 4, i);
        }
        // two tensors on one storage: the view and the whole storage
        byte[] pkl = new PickleWriter().proto(2).orderedDict().op('(')
                .str("view").tensor("FloatStorage", "0", numel, offset, size, stride)
                .str("all").tensor("FloatStorage", "0", numel, 0, new long[] {numel}, new long[] {1})
                .op('u', '.').bytes();
        byte[] zip = PickleWriter.zip("anything", pkl, Map.of("0", data.array()));
        LoadResult r = StateDicts.load(zip, "v.pth", LoadOptions.defaults());

        HostTensor view = r.stateDict().get("view");
        assertArrayEquals(sizes.stream().mapToInt(Integer::intValue).toArray(), view.shape().dims());
        float[] want = new float[view.shape().numel()];
        int[] index = new int[rank];
        for (int n = 0; n < want.length; n++) {
            long e = offset;
            for (int i = 0; i < rank; i++) {
                e += index[i] * stride[i];
            }
            want[n] = e;
            for (int i = rank - 1; i >= 0 && ++index[i] == size[i]; i--) {
                index[i] = 0;
            }
        }
        assertArrayEquals(want, view.floats());
        assertEquals(numel, r.stateDict().get("all").shape().numel());
    }
}
