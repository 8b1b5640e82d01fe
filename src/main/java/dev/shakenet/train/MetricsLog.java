package dev.shakenet.train;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Appends one JSON object a line to metrics.jsonl, flushed as written so a crash loses no finished epoch. */
final class MetricsLog implements AutoCloseable {
    static final String FILE = "metrics.jsonl";
    private static final ObjectMapper LINE = ConfigLoader.JSON.copy().disable(SerializationFeature.INDENT_OUTPUT)
            .registerModule(new SimpleModule().addSerializer(Double.class, new FiniteOrNull()).addSerializer(double.class, new FiniteOrNull()));
    private final Path file;
    private final Writer out;

    MetricsLog(Path runDir) throws IOException {
        file = runDir.resolve(FILE);
        out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
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

    /** Appends one line; a torn line from a failed write is dropped by the next resume ({@link #truncateAfter}). */
    void write(EpochMetrics metrics) throws FileWriteException {
        try {
            out.write(LINE.writeValueAsString(metrics));
            out.write('\n');
            out.flush();
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        } catch (IOException e) {
            throw FileWriteException.of(file, e, 0, "the lines of the epochs before it are kept");
        }
    }

    /** JSON has no NaN or infinity (Jackson would write the string "NaN"): such a value is written as null. */
    private static final class FiniteOrNull extends StdSerializer<Double> {
        FiniteOrNull() {
            super(Double.class);
        }

        @Override
        public void serialize(Double value, JsonGenerator out, SerializerProvider provider) throws IOException {
            if (Double.isFinite(value)) out.writeNumber(value);
            else out.writeNull();
        }
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
