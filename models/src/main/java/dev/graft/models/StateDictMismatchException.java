package dev.graft.models;

/** A strict load found missing, unexpected or shape-mismatched keys; nothing was written. */
public final class StateDictMismatchException extends ModelException {
    private final LoadReport report;

    public StateDictMismatchException(String model, LoadReport report) {
        super("state dict does not match " + model + ": " + describe(report)
                + ". Load with strict=false to keep the matching tensors (e.g. a pretrained backbone with a new head),"
                + " or check the architecture");
        this.report = report;
    }

    public LoadReport report() {
        return report;
    }

    private static String describe(LoadReport r) {
        StringBuilder b = new StringBuilder();
        append(b, "missing keys", r.missing());
        append(b, "unexpected keys", r.unexpected());
        append(b, "shape mismatches", r.shapeMismatches());
        return b.toString();
    }

    private static void append(StringBuilder b, String what, java.util.List<?> items) {
        if (items.isEmpty()) {
            return;
        }
        if (b.length() > 0) {
            b.append("; ");
        }
        b.append(items.size()).append(' ').append(what).append(' ');
        b.append(items.size() <= 12 ? items.toString() : items.subList(0, 12) + " and " + (items.size() - 12) + " more");
    }
}
