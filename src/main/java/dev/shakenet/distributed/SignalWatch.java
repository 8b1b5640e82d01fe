package dev.shakenet.distributed;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Takes SIGINT and SIGTERM over while it is open, handing each arrival ("INT", "TERM") to a
 * callback instead of ending the JVM, and gives the signals back to their previous handlers on close.
 */
final class SignalWatch implements AutoCloseable {
    private final List<Runnable> restore = new ArrayList<>();

    private SignalWatch() {}

    static SignalWatch of(Consumer<String> onSignal) {
        SignalWatch watch = new SignalWatch();
        for (String name : List.of("INT", "TERM")) {
            try {
                Signal signal = new Signal(name);
                SignalHandler previous = Signal.handle(signal, s -> onSignal.accept(name));
                watch.restore.add(() -> Signal.handle(signal, previous));
            } catch (IllegalArgumentException e) {
                // the JVM keeps this signal for itself (-Xrs): the launcher's shutdown hook still stops the ranks
            }
        }
        return watch;
    }

    @Override
    public void close() {
        restore.forEach(Runnable::run);
        restore.clear();
    }
}
