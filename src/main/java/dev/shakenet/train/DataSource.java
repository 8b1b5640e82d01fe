package dev.shakenet.train;

import dev.shakenet.data.Cifar10;
import dev.shakenet.data.Download;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Finds (or, when asked, downloads and verifies) CIFAR-10 as the config's data section says. */
public final class DataSource {
    private DataSource() {}

    public static Cifar10.Splits load(RunConfig.Data data) throws IOException {
        Path path = Path.of(data.path());
        // An extracted copy, or an archive named directly, is used as it is; otherwise, with
        // download on, <path>/cifar-10-binary.tar.gz is verified (or fetched) before use.
        boolean given = Files.isRegularFile(path) || Files.isDirectory(path.resolve(Cifar10.FOLDER))
                || Files.exists(path.resolve(Cifar10.TEST_FILE));
        if (data.download() && !given) {
            Download.fetchVerified(Download.CIFAR10_URL, path.resolve(Cifar10.ARCHIVE), Download.CIFAR10_MD5);
        }
        Cifar10.Splits splits = Cifar10.load(path);
        return new Cifar10.Splits(splits.train().first(data.trainLimit()), splits.test().first(data.testLimit()));
    }
}
