package dev.shakenet.tensorboard;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One TensorBoard event file in a run folder ({@code events.out.tfevents.<unix seconds>.<host>}):
 * the file-version record first, then scalars; flushed when the trainer says so (each log
 * interval and epoch end), so `tensorboard --logdir` shows a run while it trains.
 */
public final class EventWriter implements AutoCloseable {
    public static final String PREFIX = "events.out.tfevents.";

    private final Path file;
    private final OutputStream out;

    private EventWriter(Path file) throws IOException {
        this.file = file;
        this.out = new BufferedOutputStream(Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
        TfRecord.write(out, Events.fileVersion(now()));
        out.flush();
    }

    /** A new event file in {@code folder} (a resumed run gets another one beside the first). */
    public static EventWriter open(Path folder) throws IOException {
        long seconds = System.currentTimeMillis() / 1000;
        String host = host();
        Path file = folder.resolve(PREFIX + seconds + "." + host);
        for (int n = 1; Files.exists(file); n++) file = folder.resolve(PREFIX + seconds + "." + host + "." + n); // a restart within the second
        return new EventWriter(file);
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9._-]", "_");
        } catch (IOException e) {
            return "localhost";
        }
    }

    private static double now() {
        return System.currentTimeMillis() / 1000.0;
    }

    public Path file() {
        return file;
    }

    /** Scalar {@code tag} = {@code value} at global step {@code step}. */
    public void scalar(String tag, long step, double value) throws IOException {
        TfRecord.write(out, Events.scalar(now(), step, tag, (float) value));
    }

    /** Text (Markdown) under {@code tag} at global step {@code step}. */
    public void text(String tag, long step, String markdown) throws IOException {
        TfRecord.write(out, Events.text(now(), step, tag, markdown));
    }

    /** Markdown that shows {@code text} line for line, as written (an indented code block). */
    public static String preformatted(String text) {
        return text.strip().lines().map(l -> "    " + l).collect(java.util.stream.Collectors.joining("\n"));
    }

    /** Marks a resume at {@code step}: TensorBoard drops the older files' points from there on. */
    public void sessionStart(long step) throws IOException {
        TfRecord.write(out, Events.sessionStart(now(), step));
    }

    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
