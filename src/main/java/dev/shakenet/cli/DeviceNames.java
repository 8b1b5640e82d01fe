package dev.shakenet.cli;

import java.util.Iterator;
import java.util.List;

/** What the shell offers after --device (cuda:N is accepted too). */
final class DeviceNames implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
        return List.of("auto", "cpu", "cuda").iterator();
    }
}
