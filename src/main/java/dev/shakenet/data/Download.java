package dev.shakenet.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;

/**
 * Fetches a file and checks its MD5 before it is used. The download goes to a ".part" file
 * beside the target and is renamed into place only once complete and verified, so a partial
 * or corrupt download never sits where a later run would trust it.
 */
public final class Download {
    /** The file at the target, whether this call downloaded it, and whether its MD5 is the expected one. */
    public record Result(Path path, boolean downloaded, String md5, boolean matches) {}
    public static final URI CIFAR10_URL = URI.create("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz");
    public static final String CIFAR10_MD5 = "c32a1d4ab5d03f1284b67883e8d87530";

    private Download() {}

    /**
     * Makes sure {@code target} holds a file: an existing one is checked against {@code md5} and
     * reported (a copy placed there by hand may be a re-packed one; what it holds is checked when
     * it is read); a missing one is downloaded from {@code url} and kept only if its MD5 matches.
     */
    public static Result ensure(URI url, Path target, String md5) throws IOException {
        if (Files.exists(target)) {
            String actual = md5(target);
            return new Result(target, false, actual, actual.equals(md5));
        }
        Files.createDirectories(target.toAbsolutePath().getParent());
        Path part = target.resolveSibling(target.getFileName() + ".part");
        try {
            String actual = downloadTo(url, part);
            if (!actual.equals(md5)) {
                throw new DataException("the file downloaded from " + url + " has MD5 " + actual + ", not the expected " + md5
                        + " (a broken transfer or a changed file); nothing was kept. Try again.");
            }
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
            return new Result(target, true, actual, true);
        } finally {
            Files.deleteIfExists(part);
        }
    }

    private static String downloadTo(URI url, Path file) throws IOException {
        HttpClient client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(Duration.ofSeconds(30)).build();
        HttpRequest request = HttpRequest.newBuilder(url).GET().build();
        HttpResponse<InputStream> response;
        try {
            response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("download of " + url + " interrupted", e);
        } catch (IOException e) {
            throw new DataException("could not download " + url + " (" + e + "). Without network access, copy the archive to "
                    + file.resolveSibling(file.getFileName().toString().replace(".part", "")) + " or point data.path at a copy.", e);
        }
        if (response.statusCode() != 200) {
            response.body().close();
            throw new DataException("downloading " + url + " failed: HTTP " + response.statusCode());
        }
        MessageDigest digest = newMd5();
        try (InputStream in = response.body(); OutputStream out = Files.newOutputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
                out.write(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** The MD5 of a file, as 32 lowercase hex digits. */
    public static String md5(Path file) throws IOException {
        MessageDigest digest = newMd5();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) digest.update(buffer, 0, n);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static MessageDigest newMd5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no MD5", e);
        }
    }
}
