package dev.graft.engine.backend;

/** Whether a backend can run here; {@code detail} gives the version when it can and the reason when not. */
public record Availability(boolean available, String detail) {

    public static Availability yes(String detail) {
        return new Availability(true, detail);
    }

    public static Availability no(String reason) {
        return new Availability(false, reason);
    }
}
