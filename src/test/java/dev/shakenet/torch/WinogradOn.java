package dev.shakenet.torch;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Switches the Winograd CPU convolutions on for each test where this build has them, and back
 * to what they were afterwards ({@code @RegisterExtension final WinogradOn winograd = new WinogradOn();}).
 */
final class WinogradOn implements BeforeEachCallback, AfterEachCallback {
    private boolean wasOn;

    @Override
    public void beforeEach(ExtensionContext context) {
        wasOn = CpuConvolution.isWinograd();
        if (CpuConvolution.winogradAvailable()) CpuConvolution.useWinograd(true);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (CpuConvolution.winogradAvailable()) CpuConvolution.useWinograd(wasOn);
    }
}
