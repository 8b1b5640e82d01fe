package dev.shakenet.train;

import dev.shakenet.nn.Engine;
import dev.shakenet.torch.Device;

/**
 * A run config checked against this machine: its device resolved ("auto" becomes cpu or
 * cuda:0; a device that is not here, or fp16 off CUDA, refused) and its engine chosen (the CPU
 * kernels asked for on CUDA or where this build has none, refused). A command resolves its config once,
 * before any work, and hands this value to everything that runs it.
 */
public final class ResolvedRun {
    private final RunConfig config;
    private final Device device;
    private final Engine engine;

    private ResolvedRun(RunConfig config, Device device, Engine engine) {
        this.config = config;
        this.device = device;
        this.engine = engine;
    }

    /** Resolves {@code config}, or throws ConfigException naming what this machine cannot do. */
    public static ResolvedRun of(RunConfig config) {
        Device device = Devices.resolve(config);
        return new ResolvedRun(config, device, ProcessSettings.engine(config, device));
    }

    public RunConfig config() {
        return config;
    }

    /** The device the run uses, never "auto". */
    public Device device() {
        return device;
    }

    /** The engine the training step runs on, chosen once, here. */
    public Engine engine() {
        return engine;
    }
}
