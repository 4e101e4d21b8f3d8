package dev.graft.train;

import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.Seeds;
import dev.graft.loaders.labels.LabeledImage;
import dev.graft.loaders.labels.LabeledSet;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Patient-level validation splits and leakage checks for multi-label sets (label CSVs), by the same rules as
 * {@link PatientSplit} for image folders. Stratum of a patient: the rarest label (fewest positive images in the whole
 * set; ties: the earlier label) among those positive in any of the patient's images, or "no positive label"; within
 * each stratum whole patients are held out by {@link PatientSplit#holdOut}, so rare labels reach validation too. An
 * image with no patient id is its own patient. Both sides keep the set's image order.
 */
public final class LabeledSplit {
    private LabeledSplit() {
    }

    /** The two sides of a split. */
    public record Sides(LabeledSet train, LabeledSet validation) {
    }

    /** Images grouped by patient, patients in sorted order (an image without one: keyed by its source, after all patients). */
    static Map<String, List<LabeledImage>> byPatient(LabeledSet set) {
        Map<String, List<LabeledImage>> out = new TreeMap<>();
        for (LabeledImage im : set.images()) {
            String key = im.patient() != null ? im.patient() : "\uffff" + im.source();
            out.computeIfAbsent(key, k -> new ArrayList<>()).add(im);
        }
        return out;
    }

    /** The seeded patient-level split holding out about {@code fraction} of the images (see the class comment). */
    public static Sides split(LabeledSet set, double fraction, long seed) {
        if (!(fraction > 0 && fraction < 1)) {
            throw new DatasetException("validation fraction must be in (0, 1), got " + fraction);
        }
        int labels = set.labels().size();
        int[] positives = new int[labels];
        for (LabeledImage im : set.images()) {
            for (int k = 0; k < labels; k++) {
                if (im.targets()[k] == 1f) {
                    positives[k]++;
                }
            }
        }
        List<List<List<LabeledImage>>> strata = new ArrayList<>();
        for (int k = 0; k <= labels; k++) {
            strata.add(new ArrayList<>());
        }
        for (List<LabeledImage> images : byPatient(set).values()) {
            int rarest = labels; // no positive label
            for (LabeledImage im : images) {
                for (int k = 0; k < labels; k++) {
                    if (im.targets()[k] == 1f && (rarest == labels || positives[k] < positives[rarest]
                            || positives[k] == positives[rarest] && k < rarest)) {
                        rarest = k;
                    }
                }
            }
            strata.get(rarest).add(images);
        }
        SplittableRandom rng = new SplittableRandom(Seeds.mix(seed, 0x9a71L, 1));
        List<LabeledImage> train = new ArrayList<>();
        List<LabeledImage> val = new ArrayList<>();
        for (List<List<LabeledImage>> of : strata) {
            PatientSplit.holdOut(of, fraction, rng, train, val);
        }
        return new Sides(inSetOrder(set, train, set.description() + " (training side)"),
                inSetOrder(set, val, set.description() + " (validation side)"));
    }

    private static LabeledSet inSetOrder(LabeledSet set, List<LabeledImage> side, String description) {
        Map<LabeledImage, Boolean> in = new IdentityHashMap<>();
        side.forEach(im -> in.put(im, true));
        return new LabeledSet(set.labels(), set.images().stream().filter(in::containsKey).toList(), description);
    }

    /** The line saying how the split went: patients on each side. */
    public static String describe(Sides s) {
        return "split by patient: " + byPatient(s.train()).size() + " training patients (" + s.train().images().size()
                + " images), " + byPatient(s.validation()).size() + " validation patients (" + s.validation().images().size()
                + " images), none on both sides";
    }

    /** Whether every image of the set has a patient id. */
    public static boolean patientsKnown(LabeledSet set) {
        return set.images().stream().allMatch(im -> im.patient() != null);
    }

    /**
     * The patients a separate validation or test CSV ({@code other}, read from {@code file}) shares with {@code train}
     * (images without a patient id are not compared); null when they share none.
     */
    public static PatientSplit.Leak leakage(LabeledSet train, LabeledSet other, String set, String file) {
        TreeSet<String> trainIds = new TreeSet<>();
        train.images().stream().filter(im -> im.patient() != null).forEach(im -> trainIds.add(im.patient()));
        TreeSet<String> otherIds = new TreeSet<>();
        other.images().stream().filter(im -> im.patient() != null).forEach(im -> otherIds.add(im.patient()));
        List<String> shared = otherIds.stream().filter(trainIds::contains).toList();
        if (shared.isEmpty()) {
            return null;
        }
        return new PatientSplit.Leak(set, file, shared.size(), otherIds.size(),
                List.copyOf(shared.subList(0, Math.min(PatientSplit.EXAMPLES, shared.size()))));
    }

    /** The warning for a leak between label CSVs (the image-folder wording speaks of folders and --patient-regex). */
    public static String warning(PatientSplit.Leak l) {
        return l.patients() + " patient" + (l.patients() == 1 ? " appears" : "s appear") + " in both training and " + l.set() + " ("
                + l.folder() + "; " + l.patients() + " of its " + l.otherPatients() + " patients), e.g. " + String.join(", ", l.examples())
                + ": figures on " + l.set() + " are optimistic, since the model has seen these patients; move each shared patient's "
                + "rows into one of the CSVs" + (l.set().equals("val")
                        ? ", or leave --val-labels out to hold out whole patients of the training CSV (--val-fraction)" : "");
    }

    /** The {@code "patient_leakage"} entry of metrics.json for label CSVs: where patient ids came from, and each leak. */
    public static Map<String, Object> leakageEntry(String patientSource, List<PatientSplit.Leak> leaks) {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("patient_source", patientSource);
        for (PatientSplit.Leak l : leaks) {
            entry.put(l.set(), l.toMap());
        }
        return entry;
    }
}
