package dev.graft.engine.backend.cpu;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.convolution_backward_weights;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.global.dnnl.algorithm;
import org.bytedeco.dnnl.global.dnnl.prop_kind;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_FROM;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_TO;

/**
 * Probe (not a test): times oneDNN convolution backward-weights per layer shape, F32 against bf16 variants, the
 * variants alternating within one run (only ratios within one run mean anything on a shared machine). Variants:
 * <ul>
 *   <li>{@code f32}: F32 nhwc x and dy, F32 {@code any} weight gradient (what {@link CpuConvolution} runs);</li>
 *   <li>{@code bf16-nhwc/f32w}: x and dy in bf16 nhwc, F32 {@code any} gradient;</li>
 *   <li>{@code bf16-nhwc/bf16w}: x and dy in bf16 nhwc, bf16 {@code any} gradient;</li>
 *   <li>{@code bf16-any/f32w}, {@code bf16-any/bf16w}: x and dy in the bf16 layout oneDNN picks
 *       ({@code format_tag::any}), reordered from F32 nhwc per call.</li>
 * </ul>
 * Each bf16 time includes the per-call reorders of x and dy from F32 nhwc (as a real step pays them). Prints the
 * median ms per variant, the ratio to F32, the kernel and the layouts oneDNN chose. Run (a probe, tagged slow so the
 * default build skips it; {@code OMP_NUM_THREADS} sets the threads, 1 and 2 both worth a look):
 * <pre>
 * OMP_NUM_THREADS=1 mvn -o -pl engine -am test -Dgroups=slow -Dtest=ConvBackwardWeightsProbe \
 *     -Dsurefire.failIfNoSpecifiedTests=false -Dprobe.batch=8 -Dprobe.rounds=5 [-Dprobe.only=3x3]
 * </pre>
 * (or its {@code main(batch, rounds, nameFilter)} on the test classpath).
 */
@org.junit.jupiter.api.Tag("slow")
public final class ConvBackwardWeightsProbe {
    private record Layer(String name, int c, int k, int hw, int r, int stride, int pad) {}

    private static final Layer[] LAYERS = {
        new Layer("stem 3->64 7x7/2 224", 3, 64, 224, 7, 2, 3),
        new Layer("64->64 3x3 56", 64, 64, 56, 3, 1, 1),
        new Layer("128->128 3x3 28", 128, 128, 28, 3, 1, 1),
        new Layer("256->256 3x3 14", 256, 256, 14, 3, 1, 1),
        new Layer("512->512 3x3 7", 512, 512, 7, 3, 1, 1),
        new Layer("64->128 3x3/2 56", 64, 128, 56, 3, 2, 1),
        new Layer("64->256 1x1 56", 64, 256, 56, 1, 1, 0),
        new Layer("256->64 1x1 56", 256, 64, 56, 1, 1, 0),
        new Layer("512->128 1x1 28", 512, 128, 28, 1, 1, 0),
        new Layer("1024->256 1x1 14", 1024, 256, 14, 1, 1, 0),
        new Layer("2048->512 1x1 7", 2048, 512, 7, 1, 1, 0),
    };

    @org.junit.jupiter.api.Test
    void probe() {
        String only = System.getProperty("probe.only");
        main(only == null ? new String[] {System.getProperty("probe.batch", "4"), System.getProperty("probe.rounds", "5")}
                : new String[] {System.getProperty("probe.batch", "4"), System.getProperty("probe.rounds", "5"), only});
    }

    public static void main(String[] args) {
        int batch = args.length > 0 ? Integer.parseInt(args[0]) : 4;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        String only = args.length > 2 ? args[2] : null;
        System.out.println(Dnnl.versionAndIsa() + ", OMP_NUM_THREADS=" + System.getenv("OMP_NUM_THREADS") + ", batch " + batch);
        try (Dnnl dnnl = new Dnnl()) {
            for (Layer l : LAYERS) {
                if (only != null && !l.name.contains(only)) {
                    continue;
                }
                try (PointerScope scope = new PointerScope()) {
                    probe(dnnl, l, batch, rounds);
                }
            }
        }
    }

    private static final class Variant {
        final String name;
        final convolution_backward_weights prim;
        final IntMemoryMap args = new IntMemoryMap();
        final String impl;
        final reorder xr;
        final reorder dyr;
        final IntMemoryMap xArgs = new IntMemoryMap();
        final IntMemoryMap dyArgs = new IntMemoryMap();
        final List<Double> ms = new ArrayList<>();

        Variant(String name, Dnnl d, memory.desc x, memory.desc dy, memory.desc w, convolution_forward.primitive_desc hint,
                Layer l, memory xf, memory dyf) {
            this.name = name;
            long[] st = {l.stride, l.stride};
            long[] dil = {0, 0};
            long[] pad = {l.pad, l.pad};
            convolution_backward_weights.primitive_desc pd = new convolution_backward_weights.primitive_desc(d.engine,
                    algorithm.convolution_direct, x, w, dy, st, dil, pad, pad, hint);
            impl = pd.impl_info_str().getString() + " src " + tag(pd.src_desc()) + " dy " + tag(pd.diff_dst_desc())
                    + " dw " + tag(pd.diff_weights_desc());
            prim = new convolution_backward_weights(pd);
            memory.desc xs = pd.src_desc();
            memory.desc dys = pd.diff_dst_desc();
            memory xm = xs.equals(xf.get_desc()) ? xf : new memory(xs, d.engine);
            memory dym = dys.equals(dyf.get_desc()) ? dyf : new memory(dys, d.engine);
            xr = xm == xf ? null : new reorder(xf, xm);
            dyr = dym == dyf ? null : new reorder(dyf, dym);
            xArgs.put(DNNL_ARG_FROM, xf);
            xArgs.put(DNNL_ARG_TO, xm);
            dyArgs.put(DNNL_ARG_FROM, dyf);
            dyArgs.put(DNNL_ARG_TO, dym);
            args.put(DNNL_ARG_SRC, xm);
            args.put(DNNL_ARG_DIFF_DST, dym);
            args.put(DNNL_ARG_DIFF_WEIGHTS, new memory(pd.diff_weights_desc(), d.engine));
        }

        double run(Dnnl d) {
            long t0 = System.nanoTime();
            if (xr != null) {
                xr.execute(d.stream, xArgs);
            }
            if (dyr != null) {
                dyr.execute(d.stream, dyArgs);
            }
            prim.execute(d.stream, args);
            d.stream._wait();
            return (System.nanoTime() - t0) / 1e6;
        }
    }

    private static String tag(memory.desc m) {
        long[] s = new long[m.get_ndims()];
        m.get_strides().get(s);
        return m.get_data_type() + (m.get_inner_nblks() > 0 ? "/blocked" : "/strides" + Arrays.toString(s));
    }

    private static void probe(Dnnl d, Layer l, int n, int rounds) {
        int p = (l.hw + 2 * l.pad - l.r) / l.stride + 1;
        long[] xd = {n, l.c, l.hw, l.hw};
        long[] dyd = {n, l.k, p, p};
        long[] wd = {l.k, l.c, l.r, l.r};
        long[] st = {l.stride, l.stride};
        long[] dil = {0, 0};
        long[] pad = {l.pad, l.pad};
        memory.data_type f32 = memory.data_type.f32;
        memory.data_type bf16 = memory.data_type.bf16;
        memory xf = new memory(new memory.desc(xd, f32, memory.format_tag.nhwc), d.engine);
        memory dyf = new memory(new memory.desc(dyd, f32, memory.format_tag.nhwc), d.engine);
        fill(xf, n * l.c * l.hw * l.hw, 1);
        fill(dyf, n * l.k * p * p, 2);
        List<Variant> vs = new ArrayList<>();
        memory.desc xF = new memory.desc(xd, f32, memory.format_tag.nhwc);
        memory.desc dyF = new memory.desc(dyd, f32, memory.format_tag.nhwc);
        convolution_forward.primitive_desc hintF = new convolution_forward.primitive_desc(d.engine, prop_kind.forward_training,
                algorithm.convolution_direct, xF, new memory.desc(wd, f32, memory.format_tag.any), dyF, st, dil, pad, pad);
        vs.add(new Variant("f32", d, xF, dyF, new memory.desc(wd, f32, memory.format_tag.any), hintF, l, xf, dyf));
        for (boolean anyAct : new boolean[] {false, true}) {
            memory.format_tag at = anyAct ? memory.format_tag.any : memory.format_tag.nhwc;
            memory.desc xH = new memory.desc(xd, bf16, at);
            memory.desc dyH = new memory.desc(dyd, bf16, at);
            convolution_forward.primitive_desc hintH = new convolution_forward.primitive_desc(d.engine,
                    prop_kind.forward_training, algorithm.convolution_direct, xH, new memory.desc(wd, bf16, memory.format_tag.any),
                    dyH, st, dil, pad, pad);
            for (memory.data_type wt : new memory.data_type[] {f32, bf16}) {
                String name = "bf16-" + (anyAct ? "any" : "nhwc") + "/" + (wt == f32 ? "f32w" : "bf16w");
                try {
                    vs.add(new Variant(name, d, xH, dyH, new memory.desc(wd, wt, memory.format_tag.any), hintH, l, xf, dyf));
                } catch (RuntimeException e) {
                    System.out.println("  " + name + ": no primitive (" + e.getMessage() + ")");
                }
            }
        }
        for (Variant v : vs) {
            v.run(d); // JIT, first-touch
        }
        for (int i = 0; i < rounds; i++) {
            for (Variant v : (i % 2 == 0 ? vs : reversed(vs))) {
                v.ms.add(v.run(d));
            }
        }
        System.out.println(l.name + " (P=" + p + "):");
        double base = median(vs.get(0).ms);
        for (Variant v : vs) {
            double m = median(v.ms);
            double lo = v.ms.stream().mapToDouble(Double::doubleValue).min().orElse(0);
            double hi = v.ms.stream().mapToDouble(Double::doubleValue).max().orElse(0);
            System.out.printf("  %-16s %9.2f ms (%.2f-%.2f)  x%.2f of f32   %s%n", v.name, m, lo, hi, m / base, v.impl);
        }
    }

    private static List<Variant> reversed(List<Variant> vs) {
        List<Variant> r = new ArrayList<>(vs);
        java.util.Collections.reverse(r);
        return r;
    }

    private static double median(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a[a.length / 2];
    }

    private static void fill(memory m, long count, long seed) {
        FloatPointer fp = new FloatPointer(m.get_data_handle()).capacity(count).limit(count);
        Random rnd = new Random(seed);
        for (long i = 0; i < count; i++) {
            fp.put(i, (float) rnd.nextGaussian());
        }
    }
}
