package dev.graft.loaders.images;

/**
 * Training-time augmentation. {@link #NONE} makes the training pipeline deterministic (resize + center crop),
 * which lets a frozen backbone's features be computed once and cached.
 */
public record Augmentation(boolean randomResizedCrop, double cropScaleMin, double flipProbability, double rotationDegrees) {

    public static final Augmentation NONE = new Augmentation(false, 1, 0, 0);

    /**
     * {@code default}: random resized crops keeping 75% to 100% of the area (aspect 3/4 to 4/3, as torchvision's
     * RandomResizedCrop), left-right flips with probability 0.5, rotations up to +-10 degrees.
     */
    public static final Augmentation DEFAULT = new Augmentation(true, 0.75, 0.5, 10);

    /**
     * {@code noflip}: {@link #DEFAULT} without the flip. A mirrored chest X-ray shows the heart on the right
     * (dextrocardia, or a film put up the wrong way round), an image the model never meets in use.
     */
    public static final Augmentation NO_FLIP = new Augmentation(true, 0.75, 0, 10);

    public boolean isNone() {
        return !randomResizedCrop && flipProbability == 0 && rotationDegrees == 0;
    }

    /**
     * Parses {@code none}, {@code default}, {@code noflip}, or {@code crop=0.75,flip=0.5,rotate=10} (any subset; a name
     * without a value takes crop 0.75, flip 0.5, rotate 10).
     */
    public static Augmentation parse(String text) {
        String t = text.trim().toLowerCase(java.util.Locale.ROOT);
        if (t.equals("none")) {
            return NONE;
        }
        if (t.equals("default")) {
            return DEFAULT;
        }
        if (t.equals("noflip")) {
            return NO_FLIP;
        }
        boolean crop = false;
        double scale = 1, flip = 0, rot = 0;
        for (String part : t.split(",")) {
            String[] kv = part.split("=", 2);
            try {
                double v = kv.length == 2 ? Double.parseDouble(kv[1]) : Double.NaN;
                switch (kv[0].trim()) {
                    case "crop" -> {
                        crop = true;
                        scale = kv.length == 2 ? v : 0.75;
                    }
                    case "flip" -> flip = kv.length == 2 ? v : 0.5;
                    case "rotate" -> rot = kv.length == 2 ? v : 10;
                    default -> throw new DatasetException("unknown augmentation '" + kv[0] + "' in '" + text
                            + "': use none, default, noflip, or crop=S,flip=P,rotate=DEG");
                }
            } catch (NumberFormatException e) {
                throw new DatasetException("augmentation '" + part + "' needs a number after '='");
            }
        }
        if (!(scale > 0 && scale <= 1) || !(flip >= 0 && flip <= 1) || !(rot >= 0 && rot <= 180)) {
            throw new DatasetException("augmentation out of range in '" + text + "': crop in (0,1], flip in [0,1], rotate in [0,180]");
        }
        return new Augmentation(crop, scale, flip, rot);
    }

    @Override
    public String toString() {
        if (isNone()) {
            return "none";
        }
        StringBuilder b = new StringBuilder();
        if (randomResizedCrop) {
            b.append("crop=").append(cropScaleMin);
        }
        if (flipProbability > 0) {
            b.append(b.isEmpty() ? "" : ",").append("flip=").append(flipProbability);
        }
        if (rotationDegrees > 0) {
            b.append(b.isEmpty() ? "" : ",").append("rotate=").append(rotationDegrees);
        }
        return b.toString();
    }
}
