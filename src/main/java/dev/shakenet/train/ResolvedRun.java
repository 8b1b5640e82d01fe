package dev.shakenet.train;

import dev.shakenet.torch.Device;

/**
 * A run config checked against this machine: its device resolved ("auto" becomes cpu or
 * cuda:0; a device that is not here, or fp16 off CUDA, refused) and its process settings
 * checked (Winograd asked for where this build has none). A command resolves its config once,
 * before any work, and hands this value to everything that runs it.
 */
public final class ResolvedRun {
    private final RunConfig config;
    private final Device device;

    private ResolvedRun(RunConfig config, Device device) {
        this.config = config;
        this.device = device;
    }

    /** Resolves {@code config}, or throws ConfigException naming what this machine cannot do. */
    public static ResolvedRun of(RunConfig config) {
        Device device = Devices.resolve(config);
        ProcessSettings.check(config);
        return new ResolvedRun(config, device);
    }

    public RunConfig config() {
        return config;
    }

    /** The device the run uses, never "auto". */
    public Device device() {
        return device;
    }
}
