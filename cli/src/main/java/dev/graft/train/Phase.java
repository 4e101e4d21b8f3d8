package dev.graft.train;

import dev.graft.models.Parameter;
import dev.graft.models.ResNet;
import dev.graft.models.Topology;
import dev.graft.models.optim.AdamW;
import dev.graft.models.optim.Optimizer;
import dev.graft.models.optim.ParamGroup;
import dev.graft.models.optim.ParamGroups;
import dev.graft.models.optim.Sgd;

import java.util.ArrayList;
import java.util.List;

/**
 * One phase of the recipe: which parameters train, their peak learning rates, and the schedule.
 * {@code head}: backbone frozen, new head trained at the base rate (fastai: one-cycle, pct_start 0.99).
 * {@code finetune}: unfrozen (all, or from a named block), half the base rate, discriminative over three groups
 * (stem..layer2, layer3..layer4, head) from base/2/lrMult to base/2 (fastai: one-cycle, pct_start 0.3, div 5).
 * {@code train}: random initialisation, everything trains at the base rate (fit_one_cycle defaults).
 */
record Phase(String name, int firstEpoch, int epochs) {
    static final String HEAD = "head";
    static final String FINETUNE = "finetune";
    static final String TRAIN = "train";

    static List<Phase> plan(TrainConfig cfg, boolean pretrained) {
        List<Phase> out = new ArrayList<>();
        if (!pretrained) {
            out.add(new Phase(TRAIN, 0, cfg.headEpochs() + cfg.finetuneEpochs()));
            return out;
        }
        if (cfg.headEpochs() > 0) {
            out.add(new Phase(HEAD, 0, cfg.headEpochs()));
        }
        if (cfg.finetuneEpochs() > 0) {
            out.add(new Phase(FINETUNE, cfg.headEpochs(), cfg.finetuneEpochs()));
        }
        return out;
    }

    /** The segments a new run plans from its settings (phases of no epochs left out). */
    static List<TrainState.Segment> segments(TrainConfig cfg, boolean pretrained) {
        return plan(cfg, pretrained).stream().map(p -> new TrainState.Segment(p.name(), p.epochs())).toList();
    }

    /** Phases laid end to end, one per segment: each starts where the one before ends. */
    static List<Phase> of(List<TrainState.Segment> segments) {
        List<Phase> out = new ArrayList<>();
        int first = 0;
        for (TrainState.Segment s : segments) {
            if (s.epochs() > 0) {
                out.add(new Phase(s.phase(), first, s.epochs()));
                first += s.epochs();
            }
        }
        return out;
    }

    /** What "N more epochs" of this phase means to a user. */
    String verb() {
        return switch (name) {
            case HEAD -> "training the head (backbone frozen)";
            case FINETUNE -> "fine-tuning";
            default -> "training";
        };
    }

    /** The learning-rate schedule of this phase in words: its curve and its peak rates (see {@link #groups}). */
    String describeSchedule(TrainConfig cfg) {
        String curve = switch (cfg.schedule()) {
            case "onecycle", "one-cycle" -> switch (name) {
                case HEAD -> "one-cycle (pct_start 0.99, div 25)";
                case FINETUNE -> "one-cycle (pct_start 0.3, div 5)";
                default -> "one-cycle (pct_start 0.25, div 25)";
            };
            default -> cfg.schedule() + (cfg.warmupEpochs() > 0 ? " after " + cfg.warmupEpochs() + " warm-up epoch(s)" : "");
        };
        String peak = name.equals(FINETUNE)
                ? String.format(java.util.Locale.ROOT, "peak lr %.2g (head) down to %.2g (stem..layer2)", cfg.lr() / 2, cfg.lr() / 2 / cfg.lrMult())
                : String.format(java.util.Locale.ROOT, "peak lr %.2g", cfg.lr());
        return "a new " + curve + " over epochs " + (firstEpoch + 1) + "-" + (firstEpoch + epochs) + ", " + peak;
    }

    boolean contains(int epoch) {
        return epoch >= firstEpoch && epoch < firstEpoch + epochs;
    }

    /** Sets the trainable flags for this phase. */
    void configureFreezing(ResNet model, TrainConfig cfg) {
        switch (name) {
            case HEAD -> {
                model.freeze();
                model.unfreeze(model.topology().fc()); // "head" for Swin and DeiT, "heads.head" for torchvision's ViT
            }
            case FINETUNE -> {
                if (cfg.unfreezeFrom() == null || cfg.unfreezeFrom().isBlank()) {
                    model.unfreeze();
                } else {
                    model.freezeUpTo(cfg.unfreezeFrom());
                }
            }
            default -> model.unfreeze();
        }
    }

    /** Parameter groups with their peak learning rates. */
    List<ParamGroup> groups(ResNet model, TrainConfig cfg) {
        List<ParamGroup> groups = new ArrayList<>();
        if (name.equals(FINETUNE)) {
            double hi = cfg.lr() / 2;
            double lo = hi / cfg.lrMult();
            double mid = Math.sqrt(lo * hi);
            // the registry's freezing units: ResNets stem..layer2 | layer3..layer4 | fc; CBR first half | second half | fc
            Topology t = model.topology();
            groups.add(ParamGroup.of("body0", select(model, t.earlyModules().toArray(String[]::new))).lr(lo));
            if (!t.lateModules().isEmpty()) { // a custom one-block CBR network has no late group
                groups.add(ParamGroup.of("body1", select(model, t.lateModules().toArray(String[]::new))).lr(mid));
            }
            // the last unit: fc, with Swin's and a ViT's final norm and InceptionV3's AuxLogits
            groups.add(ParamGroup.of("head", select(model, t.units().get(t.units().size() - 1).modules().toArray(String[]::new))).lr(hi));
        } else {
            groups.add(ParamGroup.of("all", model.parameters()).lr(cfg.lr()));
        }
        return ParamGroups.withoutDecayOnNormAndBias(groups);
    }

    private static List<Parameter> select(ResNet model, String... prefixes) {
        return model.parameters(prefixes);
    }

    Optimizer optimizer(ResNet model, TrainConfig cfg) {
        List<ParamGroup> g = groups(model, cfg);
        if (cfg.optimizer().equals("sgd")) {
            return Sgd.builder(cfg.lr()).momentum(cfg.momentum()).weightDecay(cfg.weightDecay()).nesterov(cfg.nesterov()).build(g);
        }
        // fastai's default optimiser: Adam with decoupled weight decay, betas (0.9, 0.99), eps 1e-5.
        return AdamW.builder().lr(cfg.lr()).betas(0.9, 0.99).eps(1e-5).weightDecay(cfg.weightDecay()).build(g);
    }

    Schedule schedule(TrainConfig cfg, long stepsPerEpoch) {
        Schedule.OneCycle oneCycle = switch (name) {
            case HEAD -> new Schedule.OneCycle(0.99, 25, 1e5);
            case FINETUNE -> new Schedule.OneCycle(0.3, 5, 1e5);
            default -> new Schedule.OneCycle(0.25, 25, 1e5);
        };
        return Schedule.parse(cfg.schedule(), cfg.warmupEpochs() * stepsPerEpoch, stepsPerEpoch, oneCycle);
    }
}
