package dev.graft.train;

import dev.graft.engine.Tensor;
import dev.graft.engine.backend.HostLongBuffer;
import dev.graft.models.BatchNorm2d;
import dev.graft.models.Conv2d;
import dev.graft.models.Init;
import dev.graft.models.Linear;
import dev.graft.models.Module;
import dev.graft.models.Parameter;
import dev.graft.models.ResNet;
import dev.graft.models.Topology;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * {@code graft train --init}: how a run's network starts, the arms of the seed papers' comparisons. Every kind but
 * {@code pretrained} is applied to a network already built from the {@code --weights} (so the architecture, and the
 * tensor statistics the resampling kinds need, come from them), in module order from one generator seeded with
 * {@code --seed}.
 *
 * <ul>
 *   <li>{@code pretrained} (WT): the weights as they are.</li>
 *   <li>{@code random} (RI): torchvision's initialisation ({@link Init#torchvision}); with {@code --weights} only their
 *       architecture and normalisation statistics are used.</li>
 *   <li>{@code stats} (ST, Matsoukas et al. 2022, {@code utils/wtst.py}): every convolution and linear weight and bias
 *       is replaced by i.i.d. draws from N(mean, std) of that same pretrained tensor (std as torch's {@code Tensor.std()},
 *       unbiased); batch norms are reset to weight 1, bias 0, running mean 0, running variance 1, no batches tracked.</li>
 *   <li>{@code mean-var} (Transfusion's Mean Var Init, Raghu et al. 2019: "weights drawn iid from N(mean, var) of the
 *       pretrained weights", per layer): every floating parameter tensor, batch norm's weight and bias included, is
 *       replaced by i.i.d. draws from N(mean, var) of that pretrained tensor; batch-norm running statistics are reset
 *       (they describe features that no longer exist). It differs from {@code stats} only there: ST resets batch
 *       norm's weight and bias to 1 and 0, Mean Var keeps their pretrained scale. The paper does not say what it did
 *       with batch norm; this is Graft's reading.</li>
 * </ul>
 *
 * <p>{@code --transfer-up-to UNIT} (weight transfusion; Matsoukas's WT-ST-n/m): the modules of the freezing units
 * (the names {@code --unfreeze-from} accepts, {@link Topology#units()}) up to and including UNIT keep the pretrained
 * values exactly; every module above it is initialised by {@code --init-above} ({@code random}, the default, or
 * {@code stats}).
 */
public final class Initialization {
    public static final String RANDOM = "random";
    public static final String PRETRAINED = "pretrained";
    public static final String STATS = "stats";
    public static final String MEAN_VAR = "mean-var";
    public static final List<String> KINDS = List.of(RANDOM, PRETRAINED, STATS, MEAN_VAR);
    public static final List<String> ABOVE_KINDS = List.of(RANDOM, STATS);

    private Initialization() {
    }

    /**
     * Checks the options together: {@code init} null or one of {@link #KINDS}; {@code pretrained} and {@code stats}
     * and {@code mean-var} need {@code --weights}; {@code --transfer-up-to} needs {@code --weights} and excludes an
     * {@code --init} other than {@code pretrained}; {@code --init-above} needs {@code --transfer-up-to}. Returns the
     * kind in lower case (null when neither is given: the behaviour before {@code --init} existed).
     */
    public static String check(String init, boolean weights, String transferUpTo, String initAbove) {
        String kind = init == null ? null : OptionChecks.oneOf("--init", init, KINDS);
        if (kind != null && !kind.equals(RANDOM) && !weights) {
            throw new OptionException("--init " + kind + " starts from pretrained tensors, but no --weights were given; add "
                    + "--weights FILE (the pretrained network), or use --init random");
        }
        if (transferUpTo != null) {
            if (transferUpTo.isBlank()) {
                throw new OptionException("--transfer-up-to is empty; name a unit such as layer2 (the names --unfreeze-from takes)");
            }
            if (!weights) {
                throw new OptionException("--transfer-up-to " + transferUpTo + " keeps pretrained weights up to that unit, but no "
                        + "--weights were given; add --weights FILE");
            }
            if (kind != null && !kind.equals(PRETRAINED)) {
                throw new OptionException("--transfer-up-to transfers pretrained weights up to a unit, which --init " + kind
                        + " contradicts; leave --init out (or give --init pretrained) and choose what goes above the unit with "
                        + "--init-above random|stats");
            }
        }
        if (initAbove != null) {
            OptionChecks.oneOf("--init-above", initAbove, ABOVE_KINDS);
            if (transferUpTo == null) {
                throw new OptionException("--init-above says how the layers above --transfer-up-to UNIT start; give "
                        + "--transfer-up-to too, or leave --init-above out");
            }
        }
        return kind;
    }

    /** True when the run starts from the pretrained features as they are, so the two-phase recipe applies. */
    public static boolean transfers(TrainConfig cfg) {
        return cfg.weights() != null && (cfg.init() == null || cfg.init().equals(PRETRAINED)) && cfg.transferUpTo() == null;
    }

    /** A short description for the log and the study table: "pretrained", "stats", "pretrained up to layer2, stats above". */
    public static String describe(TrainConfig cfg) {
        if (cfg.transferUpTo() != null) {
            return "pretrained up to " + cfg.transferUpTo() + ", " + (cfg.initAbove() == null ? RANDOM : cfg.initAbove()) + " above";
        }
        return cfg.init() != null ? cfg.init() : cfg.weights() != null ? PRETRAINED : RANDOM;
    }

    /**
     * Re-initialises {@code model} (built from the pretrained weights, its head already replaced where the class count
     * differs) as {@code cfg} asks; a no-op for {@code pretrained}. Throws an {@link OptionException} naming the
     * network's units when {@code --transfer-up-to} names none of them.
     */
    public static void apply(ResNet model, TrainConfig cfg) {
        if (cfg.weights() == null) {
            return; // built from random weights already
        }
        String asked = cfg.init() == null ? PRETRAINED : cfg.init();
        if (model.config().isTransformer() && (cfg.transferUpTo() != null || !(asked.equals(PRETRAINED) || asked.equals(RANDOM)))) {
            // reinitialise() knows convolutions, linear layers and batch norms; a transformer's layer norms, packed
            // attention projections, class token, position embedding and relative-position tables would keep their
            // pretrained values, so the run would not be what the option says
            throw new OptionException((cfg.transferUpTo() != null ? "--transfer-up-to" : "--init " + asked) + " is not available for "
                    + model.config().architecture() + " (a transformer): only --init pretrained and --init random are");
        }
        SplittableRandom rng = new SplittableRandom(cfg.seed());
        if (cfg.transferUpTo() != null) {
            List<String> kept = keptModules(model.topology(), cfg.transferUpTo());
            String above = cfg.initAbove() == null ? RANDOM : cfg.initAbove();
            for (var e : model.namedModules().entrySet()) {
                if (!within(e.getKey(), kept)) {
                    reinitialise(e.getValue(), above, rng);
                }
            }
            return;
        }
        String kind = cfg.init() == null ? PRETRAINED : cfg.init();
        if (kind.equals(PRETRAINED)) {
            return;
        }
        if (kind.equals(RANDOM)) {
            Init.torchvision(model, cfg.seed(), false);
            model.namedModules().values().forEach(m -> {
                if (m instanceof BatchNorm2d bn) {
                    resetStatistics(bn);
                }
            });
            return;
        }
        for (Module m : model.namedModules().values()) {
            reinitialise(m, kind, rng);
        }
    }

    /**
     * The network a finished or running run started from, rebuilt from its saved configuration: the same weights file,
     * {@code --init} and seed give the same values (every draw is seeded), so no initial model file is stored. For
     * {@code graft reuse} (initial vs fine-tuned) and the study's feature-reuse hook. {@code classes}: the run's class
     * count (its model file says it). The caller closes the network.
     */
    public static ResNet initialNetwork(TrainConfig cfg, int classes, dev.graft.engine.Device device) {
        dev.graft.engine.StateDict weights = cfg.weights() == null ? null
                : dev.graft.loaders.KeyPrefixes.stripKnown(dev.graft.loaders.StateDicts.read(java.nio.file.Path.of(cfg.weights())));
        return InitialModel.build(cfg, weights, classes, device, new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
    }

    /** The module paths of the units up to and including {@code unit}. */
    static List<String> keptModules(Topology t, String unit) {
        List<String> kept = new ArrayList<>();
        for (Topology.Unit u : t.units()) {
            kept.addAll(u.modules());
            if (u.name().equals(unit)) {
                return kept;
            }
        }
        throw new OptionException("--transfer-up-to '" + unit + "' is not a unit of this network; its units are " + t.unitNames()
                + " (the names --unfreeze-from takes)");
    }

    private static boolean within(String path, List<String> prefixes) {
        for (String p : prefixes) {
            if (path.equals(p) || path.startsWith(p + ".")) {
                return true;
            }
        }
        return false;
    }

    private static void reinitialise(Module m, String kind, SplittableRandom rng) {
        if (m instanceof Conv2d c) {
            if (kind.equals(RANDOM)) {
                Init.kaimingNormalFanOut(c, rng);
                if (c.bias() != null) {
                    fill(c.bias().tensor(), 0); // torchvision's ResNets have no conv bias; CBR neither
                }
            } else {
                resample(c.weight(), rng);
                resample(c.bias(), rng);
            }
        } else if (m instanceof Linear l) {
            if (kind.equals(RANDOM)) {
                Init.linearDefault(l, rng);
            } else {
                resample(l.weight(), rng);
                resample(l.bias(), rng);
            }
        } else if (m instanceof BatchNorm2d bn) {
            if (kind.equals(MEAN_VAR)) {
                resample(bn.weight(), rng);
                resample(bn.bias(), rng);
            } else {
                fill(bn.weight().tensor(), 1);
                fill(bn.bias().tensor(), 0);
            }
            resetStatistics(bn);
        }
    }

    /** Running mean 0, running variance 1, no batches tracked: a fresh {@code nn.BatchNorm2d}'s buffers. */
    private static void resetStatistics(BatchNorm2d bn) {
        var state = bn.namedState();
        fill(state.get("running_mean"), 0);
        fill(state.get("running_var"), 1);
        if (state.get("num_batches_tracked").data().buffer() instanceof HostLongBuffer counter) {
            counter.data()[0] = 0;
            counter.bumpVersion();
        }
    }

    /** Replaces {@code p}'s values by i.i.d. N(mean, std) draws, mean and unbiased std of its current values. */
    private static void resample(Parameter p, SplittableRandom rng) {
        if (p == null) {
            return;
        }
        Tensor t = p.tensor();
        float[] v = t.toFloatArray();
        double[] ms = meanStd(v);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (ms[0] + ms[1] * rng.nextGaussian());
        }
        t.data().backend().copyFromHost(t.data(), v);
    }

    /** Mean and unbiased standard deviation (torch's {@code Tensor.std()}); the std of one value is taken as 0. */
    static double[] meanStd(float[] v) {
        double sum = 0;
        for (float x : v) {
            sum += x;
        }
        double mean = sum / v.length;
        double ss = 0;
        for (float x : v) {
            ss += (x - mean) * (x - mean);
        }
        double std = v.length > 1 ? Math.sqrt(ss / (v.length - 1)) : 0;
        return new double[] {mean, std};
    }

    private static void fill(Tensor t, double value) {
        t.data().backend().fill(t.data(), value);
    }

    static String lower(String s) {
        return s == null ? null : s.trim().toLowerCase(Locale.ROOT);
    }
}
