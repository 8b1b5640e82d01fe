package dev.shakenet.train;

import dev.shakenet.torch.Device;
import dev.shakenet.torch.Torch;

/** Turns the config's device ("auto", "cpu", "cuda", "cuda:N") into one libtorch can use here. */
public final class Devices {
    private Devices() {}

    /** The config's device, checked against its precision (float16 needs CUDA). */
    public static Device resolve(RunConfig config) {
        Device device = resolve(config.device());
        if (config.precision() == Precision.FP16 && !device.isCuda()) {
            throw new ConfigException("precision: fp16 needs a CUDA device (it runs on " + device + "); use bf16 on the CPU");
        }
        return device;
    }

    public static Device resolve(String configured) {
        int cuda = Torch.cudaDeviceCount();
        if ("auto".equals(configured)) return cuda > 0 ? Device.cuda(0) : Device.CPU;
        Device device = Device.parse(configured);
        if (device.isCuda()) {
            if (cuda == 0) {
                throw new ConfigException("device: " + configured + " asked for, but libtorch " + Torch.version()
                        + " sees no CUDA device (a CPU-only build, or no GPU here). Use device cpu or auto, or build "
                        + "libshakenet against a CUDA libtorch (README: Building against a CUDA libtorch).");
            }
            int index = Math.max(device.index(), 0);
            if (index >= cuda) {
                throw new ConfigException("device: " + configured + " asked for, but only cuda:0.." + (cuda - 1) + " exist here");
            }
            return Device.cuda(index);
        }
        return device;
    }
}
