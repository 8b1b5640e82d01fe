package dev.shakenet.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.torch.Device;
import dev.shakenet.torch.Torch;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** A config resolved against this machine: a concrete device, and what cannot run here refused by name. */
class ResolvedRunTest {
    @Test
    void autoBecomesTheDeviceLibtorchSeesHere() throws IOException {
        Device expected = Torch.cudaDeviceCount() > 0 ? Device.cuda(0) : Device.CPU;
        assertEquals(expected, ResolvedRun.of(ConfigLoaderTest.resolve("{}")).device());
        assertEquals(Device.CPU, ResolvedRun.of(ConfigLoaderTest.resolve("{}", "device=cpu")).device());
    }

    @Test
    void fp16OnTheCpuIsRefused() throws IOException {
        RunConfig config = ConfigLoaderTest.resolve("{}", "device=cpu", "precision=fp16");
        String e = assertThrows(ConfigException.class, () -> ResolvedRun.of(config)).getMessage();
        assertTrue(e.contains("precision: fp16 needs a CUDA device (it runs on cpu)"), e);
    }

    @Test
    void aCudaDeviceThatIsNotHereIsRefused() throws IOException {
        int count = Torch.cudaDeviceCount();
        RunConfig config = ConfigLoaderTest.resolve("{}", "device=cuda:" + count);
        String e = assertThrows(ConfigException.class, () -> ResolvedRun.of(config)).getMessage();
        assertTrue(e.contains(count == 0 ? "sees no CUDA device" : "only cuda:0.." + (count - 1) + " exist here"), e);
    }
}
