package dev.shakenet.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Appends one JSON object a line to metrics.jsonl, flushed as written so a crash loses no finished epoch. */
final class MetricsLog implements AutoCloseable {
    static final String FILE = "metrics.jsonl";
    private static final ObjectMapper LINE = ConfigLoader.JSON.copy().disable(SerializationFeature.INDENT_OUTPUT);
    private final Writer out;

    MetricsLog(Path runDir) throws IOException {
        out = Files.newBufferedWriter(runDir.resolve(FILE), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    void write(EpochMetrics metrics) {
        try {
            out.write(LINE.writeValueAsString(metrics));
            out.write('\n');
            out.flush();
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + FILE, e);
        }
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
