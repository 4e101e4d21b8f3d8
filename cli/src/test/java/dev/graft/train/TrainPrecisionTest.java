package dev.graft.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.engine.Device;
import dev.graft.engine.DeviceException;
import dev.graft.engine.Precision;
import dev.graft.engine.backend.Backend;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --precision}: saved with the run's settings, fp32 for older ones, typed refusals for what cannot train. */
class TrainPrecisionTest {
    private static TrainConfig config() {
        return new TrainConfig("data", null, 0.2, null, null, "runs/x", 224, 256, 32, 1, 3, 2e-3, 100, "adamw", 0.9, 0.01, false,
                "onecycle", 0, "none", 0, 0, "hold", null, "default", "shuffle", 0, 2, "auto", "loss", "youden", null, false,
                null, false);
    }

    @Test
    void precisionRoundTripsAndOlderConfigurationsReadFp32() throws Exception {
        assertEquals("fp32", config().precision());
        TrainConfig bf16 = config().withPrecision("BFloat16");
        assertEquals("bf16", bf16.precision(), "stored as its --precision name");
        assertEquals(Precision.BF16, TrainConfig.fromJson(bf16.toJson()).trainingPrecision());
        ObjectNode old = (ObjectNode) new ObjectMapper().readTree(bf16.toJson());
        old.remove("precision");
        assertEquals(Precision.FP32, TrainConfig.fromJson(old.toString()).trainingPrecision());
        assertEquals("bf16", bf16.withInit(null, null, null).precision(), "other withers keep it");
    }

    @Test
    void badValuesAreTypedOptionErrors() {
        OptionException unknown = assertThrows(OptionException.class, () -> config().withPrecision("fp16"));
        assertTrue(unknown.getMessage().contains("--precision") && unknown.getMessage().contains("fp16")
                && unknown.getMessage().contains("fp32, bf16"), unknown.getMessage());
        OptionException int8 = assertThrows(OptionException.class, () -> config().withPrecision("int8"));
        assertTrue(int8.getMessage().contains("inference"), int8.getMessage());
    }

    /** A backend without bf16 kernels (cuda, any other) refuses it by name instead of running fp32 silently. */
    @Test
    void aBackendWithoutBf16RefusesIt() {
        InvocationHandler h = (proxy, method, args) -> {
            if (method.getName().equals("device")) {
                return new Device(Device.Kind.CUDA, 0);
            }
            if (method.isDefault()) {
                return InvocationHandler.invokeDefault(proxy, method, args);
            }
            throw new UnsupportedOperationException(method.getName());
        };
        Backend cuda = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, h);
        // CudaBackend does not override Backend's default, which this proxy runs (no GPU here).
        DeviceException direct = assertThrows(DeviceException.class, () -> cuda.setPrecision(Precision.BF16));
        assertTrue(direct.getMessage().contains("bf16 is not implemented on the cuda:0 backend")
                && direct.getMessage().contains("--precision fp32"), direct.getMessage());
        assertEquals(Precision.FP32, cuda.precision());
        cuda.setPrecision(Precision.FP32);
    }
}
