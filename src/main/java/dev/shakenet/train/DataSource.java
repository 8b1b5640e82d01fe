package dev.shakenet.train;

import dev.shakenet.data.Cifar;
import dev.shakenet.data.CifarFormat;
import dev.shakenet.data.Download;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Finds (or, when asked, downloads and verifies) CIFAR-10 or CIFAR-100 as the config's data section says. */
public final class DataSource {
    private static final org.apache.logging.log4j.Logger LOG = org.apache.logging.log4j.LogManager.getLogger(DataSource.class);
    private DataSource() {}

    public static Cifar.Splits load(RunConfig.Data data) throws IOException {
        Path path = Path.of(data.path());
        CifarFormat format = data.format();
        // An extracted copy, or an archive named directly, is used as it is; otherwise, with
        // download on, <path>/cifar-10-binary.tar.gz is verified (or fetched) before use.
        boolean given = Files.isRegularFile(path) || Files.isDirectory(path.resolve(format.folder()))
                || Files.exists(path.resolve(format.testFile()));
        if (data.download() && !given) {
            Download.Result archive = Download.ensure(format.url(), path.resolve(format.archive()), format.md5());
            if (archive.downloaded()) {
                LOG.info("downloaded {} (MD5 {} verified)", archive.path(), archive.md5());
            } else if (!archive.matches()) {
                LOG.warn("{} has MD5 {}, not the official {}: using it as a copy placed there by hand (its content is checked as it is read)",
                        archive.path(), archive.md5(), format.md5());
            }
        }
        return Cifar.load(format, path, data.trainLimit(), data.testLimit());
    }
}
