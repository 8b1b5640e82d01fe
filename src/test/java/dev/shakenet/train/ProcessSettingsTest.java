package dev.shakenet.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.torch.CpuKernels;
import dev.shakenet.torch.CpuMemory;
import dev.shakenet.torch.Device;
import java.io.IOException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The process-wide settings and the engine a config asks for: applied, and bad values named. */
class ProcessSettingsTest {
    private final boolean caching = CpuMemory.isCaching();

    @AfterEach
    void restore() {
        CpuMemory.useCachingAllocator(caching);
    }

    @Test
    void theAllocatorIsAppliedAsConfigured() throws IOException {
        ProcessSettings.apply(ResolvedRun.of(ConfigLoaderTest.resolve("{\"cpu_allocator\": \"system\"}")));
        assertFalse(CpuMemory.isCaching());
        ProcessSettings.apply(ResolvedRun.of(ConfigLoaderTest.resolve("{}")));
        assertEquals(CpuKernels.available(), CpuMemory.isCaching(), "caching wherever this build has the CPU kernels");
    }

    @Test
    void theEngineIsChosenOnceFromTheConfig() throws IOException {
        assertEquals(CpuKernels.available() ? "cpu_kernels" : "reference", ProcessSettings.engine(ConfigLoaderTest.resolve("{}"), Device.CPU).name(),
                "auto: the CPU kernels on the CPU where this build has them");
        assertEquals("reference", ProcessSettings.engine(ConfigLoaderTest.resolve("{\"engine\": \"reference\"}"), Device.CPU).name());
        RunConfig kernels = ConfigLoaderTest.resolve("{}", "engine=cpu_kernels");
        if (CpuKernels.available()) {
            assertEquals("cpu_kernels", ProcessSettings.engine(kernels, Device.CPU).name());
        } else {
            String e = assertThrows(ConfigException.class, () -> ProcessSettings.engine(kernels, Device.CPU)).getMessage();
            assertTrue(e.contains("libdnnl-dev"), e);
        }
        String cuda = assertThrows(ConfigException.class, () -> ProcessSettings.engine(kernels, Device.cuda(0))).getMessage();
        assertTrue(cuda.contains("engine cpu_kernels runs on the CPU only"), cuda);
    }

    @Test
    void anUnknownEngineIsNamedWithTheChoices() {
        String e = ConfigLoaderTest.problem("{\"engine\": \"fast\"}");
        assertTrue(e.contains("engine: 'fast' is not one of auto, reference, cpu_kernels"), e);
    }

    @Test
    void theReplacedConvolutionKeySaysWhatReplacedIt() {
        String e = ConfigLoaderTest.problem("{\"cpu_conv_algorithm\": \"direct\"}");
        assertTrue(e.contains("cpu_conv_algorithm: replaced by engine"), e);
    }
}
