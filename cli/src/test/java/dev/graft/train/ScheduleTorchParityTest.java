package dev.graft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --schedule cosine|step[:E[:G]]|constant} with {@code --warmup-epochs}, and the phases' one-cycle, against
 * the per-step learning rates of PyTorch's own schedulers (CosineAnnealingLR, StepLR, ConstantLR, LinearLR warm-up
 * in SequentialLR, OneCycleLR), recorded by {@code cli/src/test/fixtures/make_schedule_fixtures.py} in
 * {@code train/schedules.json}; that script's docstring gives the scheduler that matches each Graft schedule, and
 * why Graft's one-cycle needs OneCycleLR with re-expressed pct_start and final_div_factor.
 *
 * <p>The schedule is built as {@link Phase#schedule} builds it ({@code Schedule.parse} with warm-up epochs times
 * steps per epoch) and read at every step as {@code Trainer} reads it: base lr times {@code factor(step, total)}.
 * Tolerance: relative 1e-9. Both sides evaluate the same closed formula in double (torch's cosine, StepLR and
 * LinearLR chain it by multiplication, 2e-16 per step); the largest gap is the one-cycle's last step, where
 * Graft's {@code a + (1 + cos) * (b - a) / 2} reaches peak/1e5 through {@code 1 + (1e-5 - 1)}, a cancellation of
 * about 5e-12 relative (measured: 4.6e-12 on the one-cycle cases, at most 3.6e-15 on the others). Mutations seen
 * to fail: a warm-up from 0 instead of 1/w (relative 1 at step 0), the one-cycle position step/T instead of
 * step/(T - 1) (2e-3 at step 1).
 */
class ScheduleTorchParityTest {
    private static final double RELATIVE = 1e-9;

    private static JsonNode fixture() throws IOException {
        try (InputStream in = ScheduleTorchParityTest.class.getResourceAsStream("/train/schedules.json")) {
            if (in == null) {
                throw new IllegalStateException("missing train/schedules.json; run make_schedule_fixtures.py");
            }
            return new ObjectMapper().readTree(in);
        }
    }

    @TestFactory
    List<DynamicTest> everyStepMatchesTorch() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : fixture().get("cases")) {
            tests.add(DynamicTest.dynamicTest(c.get("name").asText() + ": " + c.get("torch_scheduler").asText(), () -> check(c)));
        }
        assertEquals(11, tests.size(), "cases in the fixture");
        return tests;
    }

    private static void check(JsonNode c) {
        long stepsPerEpoch = c.get("steps_per_epoch").asLong();
        long total = stepsPerEpoch * c.get("epochs").asLong();
        double base = c.get("base_lr").asDouble();
        JsonNode oc = c.get("one_cycle");
        // The phase's one-cycle settings; only "onecycle" returns them, so the other cases pass an unused one.
        Schedule.OneCycle oneCycle = oc == null ? new Schedule.OneCycle(0.25, 25, 1e5)
                : new Schedule.OneCycle(oc.get("pct_start").asDouble(), oc.get("div").asDouble(), oc.get("div_final").asDouble());
        Schedule s = Schedule.parse(c.get("schedule").asText(), c.get("warmup_epochs").asLong() * stepsPerEpoch, stepsPerEpoch, oneCycle);
        JsonNode want = c.get("lr");
        assertEquals(total, want.size(), "torch steps");
        double worst = 0;
        for (int step = 0; step < total; step++) {
            double expected = want.get(step).asDouble();
            double got = base * s.factor(step, total);
            double rel = Math.abs(got - expected) / expected;
            int at = step;
            assertTrue(rel <= RELATIVE, () -> c.get("name").asText() + " step " + at + ": graft " + got + ", torch " + expected
                    + " (relative " + rel + ")");
            worst = Math.max(worst, rel);
        }
        System.out.printf("schedule %s: %d steps, max relative gap to torch %.1e%n", c.get("name").asText(), total, worst);
    }

    @Test
    void malformedSchedulesAreRefused() {
        Schedule.OneCycle oc = new Schedule.OneCycle(0.25, 25, 1e5);
        assertTrue(assertThrows(TrainingException.class, () -> Schedule.parse("linear", 0, 10, oc)).getMessage()
                .contains("unknown schedule 'linear'"));
        assertTrue(assertThrows(TrainingException.class, () -> Schedule.parse("step:two", 0, 10, oc)).getMessage()
                .contains("malformed schedule 'step:two'"));
        assertEquals(oc, Schedule.parse(" OneCycle ", 0, 10, oc));
    }
}
