package dev.shakenet.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.torch.CpuConvolution;
import dev.shakenet.torch.CpuMemory;
import java.io.IOException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The process-wide settings a config asks for: cpu_conv_algorithm and cpu_allocator applied, and bad values named (when the run is resolved). */
class ProcessSettingsTest {
    private final boolean winograd = CpuConvolution.isWinograd(), caching = CpuMemory.isCaching();

    @AfterEach
    void restore() {
        CpuConvolution.useWinograd(winograd);
        CpuMemory.useCachingAllocator(caching);
    }

    @Test
    void theConvolutionAlgorithmIsAppliedAsConfigured() throws IOException {
        ProcessSettings.apply(ResolvedRun.of(ConfigLoaderTest.resolve("{\"cpu_conv_algorithm\": \"direct\", \"cpu_allocator\": \"system\"}")));
        assertFalse(CpuConvolution.isWinograd());
        assertFalse(CpuMemory.isCaching());
        ProcessSettings.apply(ResolvedRun.of(ConfigLoaderTest.resolve("{}")));
        assertEquals(CpuConvolution.winogradAvailable(), CpuConvolution.isWinograd(), "auto: Winograd wherever this build has it");
        assertTrue(CpuMemory.isCaching());
        RunConfig explicit = ConfigLoaderTest.resolve("{}", "cpu_conv_algorithm=winograd");
        if (CpuConvolution.winogradAvailable()) {
            ProcessSettings.apply(ResolvedRun.of(explicit));
            assertTrue(CpuConvolution.isWinograd());
        } else {
            String e = assertThrows(ConfigException.class, () -> ResolvedRun.of(explicit)).getMessage();
            assertTrue(e.contains("libdnnl-dev"), e);
        }
    }

    @Test
    void anUnknownAlgorithmIsNamedWithTheChoices() {
        String e = ConfigLoaderTest.problem("{\"cpu_conv_algorithm\": \"fast\"}");
        assertTrue(e.contains("cpu_conv_algorithm: 'fast' is not one of auto, winograd, direct"), e);
    }
}
