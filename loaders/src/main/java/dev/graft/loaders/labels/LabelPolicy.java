package dev.graft.loaders.labels;

import dev.graft.loaders.images.DatasetException;

/**
 * How a CSV's label values become targets. Values: {@code 1}/{@code 1.0} positive, {@code 0}/{@code 0.0} negative,
 * {@code -1}/{@code -1.0} uncertain, an empty field blank (CheXpert: not mentioned in the report).
 *
 * @param uncertain what -1 becomes: IGNORE (NaN, left out of the loss and metrics, as torchxrayvision does), ZEROS or
 *                  ONES (the U-Zeros and U-Ones policies of the CheXpert paper)
 * @param blank     what a blank becomes: ZEROS (negative: a finding the report does not mention is taken as absent) or
 *                  IGNORE (NaN, as torchxrayvision does)
 */
public record LabelPolicy(Uncertain uncertain, Blank blank) {
    public enum Uncertain { IGNORE, ZEROS, ONES }

    public enum Blank { ZEROS, IGNORE }

    /** The defaults: uncertain ignored, blank negative. */
    public static final LabelPolicy DEFAULT = new LabelPolicy(Uncertain.IGNORE, Blank.ZEROS);

    /** The target for one CSV field; {@code where} ("file line N") and {@code column} name it in the error for anything else. */
    public float target(String field, String where, String column) {
        String v = field == null ? "" : field.trim();
        if (v.isEmpty()) {
            return blank == Blank.ZEROS ? 0f : Float.NaN;
        }
        double d;
        try {
            d = Double.parseDouble(v);
        } catch (NumberFormatException e) {
            d = Double.NaN;
        }
        if (d == 1) {
            return 1f;
        }
        if (d == 0) {
            return 0f;
        }
        if (d == -1) {
            return switch (uncertain) {
                case IGNORE -> Float.NaN;
                case ZEROS -> 0f;
                case ONES -> 1f;
            };
        }
        throw new DatasetException(where + ": unknown value \"" + v + "\" in column " + column
                + "; a label is 1 (positive), 0 (negative), -1 (uncertain) or blank");
    }
}
