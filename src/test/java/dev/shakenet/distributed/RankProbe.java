package dev.shakenet.distributed;

import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.ProcessGroup;
import dev.shakenet.torch.Store;
import dev.shakenet.torch.Tensor;
import dev.shakenet.train.RunConfig;
import java.time.Duration;
import java.util.List;

/**
 * A rank for LocalLauncherTest: finds its place from the environment the launcher gave it, joins
 * the launcher's store and a Gloo group there, and prints the sum of rank + 1 over the ranks.
 */
public final class RankProbe {
    private RankProbe() {}

    public static void main(String[] args) {
        WorkerEnvironment place = WorkerEnvironment.current(RunConfig.DEFAULTS.distributed()).orElseThrow();
        Duration timeout = Duration.ofSeconds(60);
        try (Store store = Store.connectTcp(place.masterAddr(), place.masterPort(), timeout);
             ProcessGroup group = ProcessGroup.join(store, place.storePrefix(), ProcessGroup.Backend.GLOO, place.rank(), place.worldSize(),
                     timeout, "127.0.0.1");
             Tensor value = Tensor.full(place.rank() + 1, DType.FLOAT32, Device.CPU, 1)) {
            group.allreduceSum(List.of(value), ProcessGroup.DEFAULT_BUCKET_BYTES);
            System.out.println("rank " + place.rank() + " of " + place.worldSize() + " (prefix " + place.storePrefix() + "): sum " + (int) value.item());
        }
    }
}
