package dev.shakenet.data;

import static org.junit.jupiter.api.Assertions.*;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Downloads land only when complete and matching their MD5, against a local HTTP server. */
class DownloadTest {
    static final byte[] BODY = "pretend this is cifar-10-binary.tar.gz".getBytes();
    static final String BODY_MD5 = "e9768492b1beafaed209c01fc67a75d8";

    @TempDir
    Path tmp;
    HttpServer server;
    final AtomicInteger hits = new AtomicInteger();

    @BeforeEach
    void serve() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/archive", exchange -> {
            hits.incrementAndGet();
            exchange.sendResponseHeaders(200, BODY.length);
            exchange.getResponseBody().write(BODY);
            exchange.close();
        });
        server.createContext("/missing", exchange -> {
            exchange.sendResponseHeaders(404, -1);
            exchange.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    URI url(String path) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    }

    @Test
    void md5OfAKnownString() throws IOException {
        Path f = Files.write(tmp.resolve("f"), BODY);
        assertEquals(BODY_MD5, Download.md5(f)); // computed independently: `md5sum` of the same bytes
    }

    @Test
    void aVerifiedDownloadLandsAtomically() throws IOException {
        Path target = tmp.resolve("data").resolve("a.tar.gz");
        assertEquals(new Download.Result(target, true, BODY_MD5, true), Download.ensure(url("/archive"), target, BODY_MD5));
        assertArrayEquals(BODY, Files.readAllBytes(target));
        assertFalse(Files.exists(target.resolveSibling("a.tar.gz.part")));
        // Present and correct: verified, not fetched again.
        assertEquals(new Download.Result(target, false, BODY_MD5, true), Download.ensure(url("/archive"), target, BODY_MD5));
        assertEquals(1, hits.get());
    }

    @Test
    void aWrongChecksumLeavesNothingBehind() {
        Path target = tmp.resolve("a.tar.gz");
        DataException e = assertThrows(DataException.class, () -> Download.ensure(url("/archive"), target, "0".repeat(32)));
        assertTrue(e.getMessage().contains("has MD5 " + BODY_MD5 + ", not the expected"), e.getMessage());
        assertFalse(Files.exists(target));
        assertFalse(Files.exists(tmp.resolve("a.tar.gz.part")));
    }

    @Test
    void anExistingFileIsCheckedNotReplaced() throws IOException {
        Path target = Files.write(tmp.resolve("a.tar.gz"), "a copy placed by hand".getBytes());
        Download.Result r = Download.ensure(url("/archive"), target, BODY_MD5);
        assertFalse(r.downloaded());
        assertFalse(r.matches(), "reported as not the expected file");
        assertEquals(Download.md5(target), r.md5());
        assertEquals(0, hits.get());
    }

    @Test
    void httpErrorsAreReported() {
        Path target = tmp.resolve("a.tar.gz");
        DataException e = assertThrows(DataException.class, () -> Download.ensure(url("/missing"), target, BODY_MD5));
        assertTrue(e.getMessage().contains("HTTP 404"), e.getMessage());
        assertFalse(Files.exists(target));
    }
}
