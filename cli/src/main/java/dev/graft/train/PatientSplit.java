package dev.graft.train;

import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.ImageFolder.Sample;
import dev.graft.loaders.images.Sampling;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Patient-level splits ({@code --patient-regex}): the patient of an image is the named group {@code patient} of the
 * regex, else its first group, found ({@link Matcher#find()}) in the image's file name; e.g. {@code ^(person\d+)_}
 * reads {@code person1} from {@code person1_virus_6.jpeg}. A file name the regex does not match is an error (a typo
 * in the regex would otherwise make every image its own patient and the split image-level again).
 * <p>
 * The held-out split puts whole patients on one side. Each patient counts for its majority class (ties: the class
 * that sorts first); within each class the patients are shuffled by the seed and taken for validation while that
 * brings the class's validation image count closer to round(images * fraction), with at least one patient held out
 * and one kept when the class has two or more patients. Image counts per class are so kept as well as whole patients
 * allow. {@link #leakage} counts the patients a separate validation or test folder shares with training.
 */
public final class PatientSplit {
    /** Examples named in a leakage warning. */
    static final int EXAMPLES = 5;

    private PatientSplit() {
    }

    /** The compiled regex, or a typed error for invalid syntax or no capturing group. Null stays null. */
    public static Pattern compile(String regex) {
        if (regex == null) {
            return null;
        }
        Pattern p;
        try {
            p = Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new OptionException("--patient-regex '" + regex + "' is not a valid Java regular expression: " + e.getDescription()
                    + " near index " + e.getIndex() + "; e.g. ^(person\\d+)_ reads person1 from person1_virus_6.jpeg");
        }
        if (p.matcher("").groupCount() == 0) {
            throw new OptionException("--patient-regex '" + regex + "' has no capturing group: put the patient id in ( ) or "
                    + "(?<patient> ), e.g. ^(person\\d+)_ reads person1 from person1_virus_6.jpeg");
        }
        return p;
    }

    /** The patient id in {@code file}'s name. */
    static String patientOf(Path file, Pattern regex) {
        String name = file.getFileName().toString();
        Matcher m = regex.matcher(name);
        if (!m.find()) {
            throw new DatasetException("--patient-regex '" + regex.pattern() + "' does not match the file name '" + name + "' ("
                    + file + "); every image needs a patient id: fix the regex or the file name");
        }
        String id = regex.pattern().contains("(?<patient>") ? m.group("patient") : m.group(1);
        if (id == null || id.isEmpty()) {
            throw new DatasetException("--patient-regex '" + regex.pattern() + "' matches '" + name + "' (" + file
                    + ") but its patient group is empty; fix the regex so the group captures the patient id");
        }
        return id;
    }

    /** Images grouped by patient, patients in sorted order. */
    static Map<String, List<Sample>> byPatient(List<Sample> samples, Pattern regex) {
        Map<String, List<Sample>> out = new TreeMap<>();
        for (Sample s : samples) {
            out.computeIfAbsent(patientOf(s.path(), regex), k -> new ArrayList<>()).add(s);
        }
        return out;
    }

    /** The seeded patient-level stratified split (see the class comment). */
    public static Sampling.Split split(List<Sample> samples, int numClasses, double fraction, long seed, Pattern regex) {
        if (!(fraction > 0 && fraction < 1)) {
            throw new DatasetException("validation fraction must be in (0, 1), got " + fraction);
        }
        Map<String, List<Sample>> patients = byPatient(samples, regex);
        List<List<List<Sample>>> perClass = new ArrayList<>();
        for (int c = 0; c < numClasses; c++) {
            perClass.add(new ArrayList<>());
        }
        for (List<Sample> images : patients.values()) {
            perClass.get(majority(images, numClasses)).add(images);
        }
        SplittableRandom rng = new SplittableRandom(dev.graft.loaders.images.Seeds.mix(seed, 0x9a71L, 0));
        List<Sample> train = new ArrayList<>();
        List<Sample> val = new ArrayList<>();
        for (List<List<Sample>> of : perClass) {
            holdOut(of, fraction, rng, train, val);
        }
        train.sort(Comparator.comparing(s -> s.path().toString()));
        val.sort(Comparator.comparing(s -> s.path().toString()));
        return new Sampling.Split(List.copyOf(train), List.copyOf(val));
    }

    /**
     * One stratum's patients (each a list of images), shuffled by {@code rng}, go to validation while that brings its
     * validation image count closer to round(images * fraction); at least one patient is held out and one kept when
     * the stratum has two or more.
     */
    static <T> void holdOut(List<List<T>> of, double fraction, SplittableRandom rng, List<T> train, List<T> val) {
        for (int i = of.size() - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            List<T> t = of.get(i);
            of.set(i, of.get(j));
            of.set(j, t);
        }
        int total = 0;
        for (List<T> p : of) {
            total += p.size();
        }
        long target = Math.round(total * fraction);
        int taken = 0;
        int heldPatients = 0;
        for (int i = 0; i < of.size(); i++) {
            List<T> p = of.get(i);
            boolean closer = Math.abs(taken + p.size() - target) < Math.abs(taken - target);
            boolean mustHold = heldPatients == 0 && i == of.size() - 2; // hold out at least one of two or more
            boolean keepOne = heldPatients == of.size() - 1; // keep at least one patient for training
            if (of.size() >= 2 && !keepOne && (closer || mustHold)) {
                val.addAll(p);
                taken += p.size();
                heldPatients++;
            } else {
                train.addAll(p);
            }
        }
    }

    /** The line saying how the held-out split went by patient. */
    static String describe(List<Sample> train, List<Sample> val, String regex) {
        Pattern p = compile(regex);
        return "split by patient (--patient-regex " + regex + "): " + byPatient(train, p).size() + " training patients, "
                + byPatient(val, p).size() + " validation patients, none on both sides";
    }

    /** The most frequent label among a patient's images; ties go to the lowest label. */
    static int majority(List<Sample> images, int numClasses) {
        int[] counts = new int[numClasses];
        for (Sample s : images) {
            counts[s.label()]++;
        }
        int best = 0;
        for (int c = 1; c < numClasses; c++) {
            if (counts[c] > counts[best]) {
                best = c;
            }
        }
        return best;
    }

    /** Patients a separate folder ({@code other}) shares with training: how many, and the first few in sorted order. */
    public record Leak(String set, String folder, int patients, int otherPatients, List<String> examples) {
        /** The warning line for the terminal. */
        public String warning() {
            return patients + " patient" + (patients == 1 ? " appears" : "s appear") + " in both training and " + set + " ("
                    + folder + "; " + patients + " of its " + otherPatients + " patients), e.g. " + String.join(", ", examples)
                    + ": figures on " + set + " are optimistic, since the model has seen these patients; move each shared "
                    + "patient's images into one of the folders" + (set.equals("val")
                            ? ", or hold out whole patients from the training folder instead (no separate validation folder: "
                                    + "--val-fraction with --patient-regex)" : "");
        }

        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("folder", folder);
            m.put("shared_patients", patients);
            m.put("patients", otherPatients);
            m.put("examples", examples);
            return m;
        }
    }

    /** The patients {@code train} and {@code other} share; null when they share none. */
    public static Leak leakage(List<Sample> train, List<Sample> other, Pattern regex, String set, String folder) {
        TreeSet<String> trainIds = new TreeSet<>(byPatient(train, regex).keySet());
        Map<String, List<Sample>> otherIds = byPatient(other, regex);
        List<String> shared = new ArrayList<>();
        for (String id : otherIds.keySet()) {
            if (trainIds.contains(id)) {
                shared.add(id);
            }
        }
        if (shared.isEmpty()) {
            return null;
        }
        return new Leak(set, folder, shared.size(), otherIds.size(), List.copyOf(shared.subList(0, Math.min(EXAMPLES, shared.size()))));
    }

    /** The patients a separate validation folder ({@code val}, may be null) and test folder ({@code test}, may be null) share with {@code train}. */
    public static List<Leak> check(Path train, Path val, Path test, TrainConfig cfg) {
        Pattern regex = compile(cfg.patientRegex());
        List<Sample> trainSamples = dev.graft.loaders.images.ImageFolder.scan(train).samples();
        List<Leak> leaks = new ArrayList<>();
        if (val != null) {
            Leak l = leakage(trainSamples, dev.graft.loaders.images.ImageFolder.scan(val).samples(), regex, "val", val.toString());
            if (l != null) {
                leaks.add(l);
            }
        }
        if (test != null) {
            Leak l = leakage(trainSamples, dev.graft.loaders.images.ImageFolder.scan(test).samples(), regex, "test", test.toString());
            if (l != null) {
                leaks.add(l);
            }
        }
        return leaks;
    }

    /** Records the checks in metrics.json as {@code "patient_leakage": {"val": {...}, "test": {...}}} (only the regex: no shared patients found). */
    public static void record(Path metricsFile, String regex, List<Leak> leaks) {
        Map<String, Object> json = readJson(metricsFile);
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("patient_regex", regex);
        for (Leak l : leaks) {
            entry.put(l.set(), l.toMap());
        }
        json.put("patient_leakage", entry);
        Report.writeJson(metricsFile, json);
    }

    /**
     * After {@code --resume} has rewritten metrics.json: the check against the saved validation folder again, from the
     * settings metrics.json records (a resumed run does not evaluate on test, so there is no test entry).
     */
    public static void recordAfterResume(Path runDir, java.util.function.Consumer<String> warnings) {
        Path metricsFile = runDir.resolve("metrics.json");
        Object config = readJson(metricsFile).get("config");
        if (!(config instanceof Map<?, ?> c) || !(c.get("patientRegex") instanceof String regex)) {
            return;
        }
        TrainConfig cfg = TrainConfig.fromJson(new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(c).toString());
        List<Leak> leaks = check(Path.of(cfg.data()), cfg.val() == null ? null : Path.of(cfg.val()), null, cfg);
        leaks.forEach(l -> warnings.accept(l.warning()));
        record(metricsFile, regex, leaks);
    }

    private static Map<String, Object> readJson(Path file) {
        if (!java.nio.file.Files.exists(file)) {
            return new LinkedHashMap<>();
        }
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readValue(file.toFile(),
                    new com.fasterxml.jackson.core.type.TypeReference<LinkedHashMap<String, Object>>() { });
        } catch (java.io.IOException e) {
            throw new TrainingException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
