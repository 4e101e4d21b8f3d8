package dev.graft.engine.backend.reference;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The reference GELU's erf against Python's math.erf (the C library's erf, correctly rounded or within an ulp),
 * values printed by {@code python3 -c "import math; print(repr(math.erf(x)))"}: across the series (|x| < 3) and the
 * continued fraction (3 <= |x| < 7), both signs, and the saturated tail. Tolerance 1e-15 absolute (the series, its terms built by repeated multiplication, loses up to about eight ulps near x = 2.5; one ulp of
 * values near 1 is 1.1e-16).
 */
class ErfTest {
    @Test
    void matchesTheCLibrary() {
        double[][] cases = {
                {0.0, 0.0},
                {1e-10, 1.1283791670955126e-10},
                {0.1, 0.1124629160182849},
                {0.5, 0.5204998778130465},
                {1.0, 0.8427007929497149},
                {1.5, 0.9661051464753108},
                {2.0, 0.9953222650189527},
                {2.5, 0.999593047982555},
                {2.99, 0.9999764743969194},
                {3.0, 0.9999779095030014},
                {3.5, 0.9999992569016276},
                {4.0, 0.9999999845827421},
                {5.0, 0.9999999999984626},
                {6.5, 1.0},
                {-0.7, -0.6778011938374184},
                {-3.2, -0.9999939742388483},
        };
        for (double[] c : cases) {
            assertEquals(c[1], Erf.erf(c[0]), 1e-15, "erf(" + c[0] + ")");
        }
        assertEquals(1.0, Erf.erf(30), 0);
        assertEquals(-1.0, Erf.erf(Double.NEGATIVE_INFINITY), 0);
    }
}
