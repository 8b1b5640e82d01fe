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

    /**
     * Keeps only the lines of epochs up to {@code epoch} (a resume continues after it; lines of
     * epochs that ran past the checkpoint are redone).
     */
    static void truncateAfter(Path runDir, int epoch) throws IOException {
        Path file = runDir.resolve(FILE);
        if (!Files.exists(file)) return;
        StringBuilder kept = new StringBuilder();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            int lineEpoch;
            try {
                lineEpoch = LINE.readTree(line).get("epoch").asInt();
            } catch (IOException | NullPointerException e) {
                break; // a torn last line from a crash
            }
            if (lineEpoch > epoch) break;
            kept.append(line).append('\n');
        }
        AtomicFiles.writeString(file, kept.toString());
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
